/* inspect/counters_walk: every counter a worker's inspection keeps, by
 * block, summed over the stages asked for. The one walk stats.json
 * (ctl/stats_json), telemetry (inspect/telemetry) and any exporter share,
 * so a block's keys are the same in each ("<block>_<name>" in telemetry).
 *
 * Blocks, in order: pkt, malformed, encap (lib/pkt), flows, tcp, reasm
 * (their counters.def), http, http_verdicts, http_errors (lib/http),
 * streams, streams_empty (inspect/counters.def), mirror. Gauges are summed
 * too (bytes in use...). Control path; reads counters without locks.
 */
#pragma once

#include <cstdint>
#include <vector>

#include "inspect/stage.h"

namespace inspect {

/* Visits every inspection counter of the given stages, summed: block
 * name, counter name, value. */
void for_each_counter(const std::vector<const Stage*>& st,
                      void (*fn)(void* ctx, const char* block, const char* name, uint64_t v),
                      void* ctx);

}  // namespace inspect
