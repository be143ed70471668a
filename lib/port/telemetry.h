/* port/telemetry: /loom/ports, the ports as set up and their ethdev
 * counters (core/telemetry.h says how libraries register commands).
 *
 *   /loom/ports     per port: packets, bytes, imissed, rx_nombuf, errors,
 *                   link, RSS state; ",<port index>" adds per-queue arrays
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "port/link.h"
#include "port/port.h"

namespace port {

struct TelemetrySource {
  const std::atomic<bool>* ready = nullptr;     // `ports` is complete
  const std::vector<PortState>* ports = nullptr;
  const LinkWatch* links = nullptr;             // live link state and changes
  bool offline = false;                         // link as at set-up, not live
};

/* Registers /loom/ports; `src`'s pointees outlive telemetry. */
void register_telemetry(const TelemetrySource& src);

/* The ports' ethdev byte counters, summed (what /loom/workers shows). */
void byte_totals(const std::vector<PortState>& ports, uint64_t* rx_bytes, uint64_t* tx_bytes);

}  // namespace port
