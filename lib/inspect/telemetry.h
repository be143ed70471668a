/* inspect/telemetry: the commands over the workers' inspection (flow
 * tables, parsing, reassembly, HTTP); core/telemetry.h says how libraries
 * register theirs.
 *
 *   /loom/flows      flow-table counters; ",<worker id>": one worker
 *   /loom/decap      each port's link type, parse, encapsulation and
 *                    malformed counters; ",<worker id>"
 *   /loom/reasm      reassembly, TCP-check and stream counters; ",<id>"
 *   /loom/http       HTTP framing, verdicts, errors by reason; ",<id>"
 *   /loom/top_flows  the flows with the most bytes, 10 a page; ",<page>"
 *   /loom/flow       the flows of one endpoint: ",addr:port",
 *                    ",[v6addr]:port" or ",addr"
 *
 * Counter replies use counters_walk's "<block>_<name>" keys; registering
 * also explains those blocks' counters in /loom/drops. Flows are copied
 * out of the tables without a lock (best effort, never outside them).
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_telemetry.h>

#include "inspect/stage.h"
#include "port/port.h"

namespace inspect {

struct TelemetrySource {
  const std::atomic<bool>* ready = nullptr;  // the vectors below are complete
  const std::vector<std::unique_ptr<Stage>>* stages = nullptr;  // by worker id; empty: no inspection
  const std::vector<port::PortState>* ports = nullptr;          // /loom/decap's link_<port> keys
  const std::vector<uint16_t>* link_types = nullptr;            // by port id (pkt::LinkType)
};

/* Registers the commands above; `src`'s pointees outlive telemetry. */
void register_telemetry(const TelemetrySource& src);

/* Adds the counters of `st` as "<block>_<name>" keys, only the blocks
 * named in the nullptr-ended `blocks` (nullptr: all). For the commands of
 * other libraries that show inspection blocks (/loom/workers,N's parsing,
 * /loom/outputs' mirror copies). */
void add_blocks(rte_tel_data* d, const std::vector<const Stage*>& st, const char* const* blocks);

}  // namespace inspect
