/* mirror/telemetry: /loom/collectors, the prober's choice between the
 * mirror collectors (core/telemetry.h says how libraries register their
 * commands).
 *
 *   /loom/collectors   the chosen collector, switches, the last reason,
 *                      copies not made for want of a MAC; per collector
 *                      (c0, c1, ... in file order: names may hold '-')
 *                      its address, RTTs, probes, copies mirrored to it
 *                      and dropped
 *
 * The copies are counted by the workers' stages, above this library: the
 * wiring (lib/ctl) passes their sums in as functions.
 */
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "mirror/prober.h"

namespace mirror {

struct TelemetrySource {
  const std::atomic<bool>* ready = nullptr;
  // Where the prober is once start-up made it; null: no [[collectors]].
  const std::unique_ptr<Prober>* prober = nullptr;
  // Copies not made, every worker's: no collector with a MAC yet.
  std::function<uint64_t()> no_collector;
  // Copies for collector i the mirror port took, and refused.
  std::function<void(size_t i, uint64_t* mirrored, uint64_t* dropped)> copies;
};

/* Registers /loom/collectors; `src`'s pointees outlive telemetry. */
void register_telemetry(TelemetrySource src);

}  // namespace mirror
