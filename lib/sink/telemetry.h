/* sink/telemetry: /loom/outputs, what every output wrote (core/telemetry.h
 * says how libraries register their commands).
 *
 *   /loom/outputs   per output: path, records written, bytes, write
 *                   errors, lost, ring depth, parts, reopens, a Writer's
 *                   own counters (Kafka), records dropped before the sink
 *
 * The records dropped before the sink (the workers' full rings) and the
 * mirror's copies (the mirror port is an output too) are counted by the
 * inspection, above this library: the wiring passes them in as functions.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <rte_telemetry.h>

#include "sink/sink.h"

namespace sink {

struct TelemetrySource {
  const std::atomic<bool>* ready = nullptr;  // every output is added
  const SinkSet* sinks = nullptr;
  // Records of the output named so that the workers' rings could not take.
  std::function<uint64_t(const std::string& output)> dropped;
  // Added after the outputs (the mirror block), if set.
  std::function<void(rte_tel_data*)> extra;
};

/* Registers /loom/outputs; `src`'s pointees outlive telemetry. */
void register_telemetry(TelemetrySource src);

}  // namespace sink
