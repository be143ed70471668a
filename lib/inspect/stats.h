/* inspect/stats: the inspection stage's own counters (inspect/counters.def)
 * and the mirror's per-collector ones, per worker; the stage's units
 * (streams, pcap_out, mirror_out, reset) count into the one Stats.
 *
 * Thread: written by the worker only; read by the control path.
 */
#pragma once

#include <cstddef>

#include "core/counters.h"
#include "mirror/target.h"

namespace inspect {

constexpr size_t kMaxCollectors = mirror::kMaxCollectors;  // [[collectors]] entries
constexpr size_t kNumEnds = 8;  // flow::End's values
/* flow::End as a counter name (stats.json's streams_empty block). */
const char* empty_end_name(size_t end) noexcept;

struct Stats {
#define LOOM_COUNTERS_DEF "inspect/counters.def"
#include "core/counters_body.inc"
  core::Counter empty_by_end[kNumEnds];  // empty_connections by flow::End (index), see empty_end_name()
  // Reported with the mirror and collectors, not in the "streams" block.
  core::Counter mirror_tx_full;        // mirror copies the mirror port's TX queue refused
  core::Counter mirror_no_collector;   // copies not made: no collector reachable yet (no MAC)
  core::Counter mirrored_to[kMaxCollectors];  // copies the mirror port took, per collector
  core::Counter mirror_lost_to[kMaxCollectors];  // ... and refused (TX full), per collector
};

}  // namespace inspect
