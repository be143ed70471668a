/* inspect/reset: what a rejecting drop rule does inline — the frame that
 * would have been relayed becomes a reset towards its receiver, and a
 * reset goes back to its sender through the worker's TX buffer for the
 * RX port (built by pkt/rst). Passive mode has no wire to reset on, and a
 * tunnelled frame is only dropped (build_rst rewrites the innermost IP
 * and TCP, not a tunnel's outer lengths and checksums).
 *
 * Thread: the owning worker.
 */
#pragma once

#include <rte_mbuf.h>

#include "core/worker.h"
#include "inspect/stats.h"
#include "pkt/parse.h"

namespace inspect {

/* True when *slot now holds the forward reset (the original frame freed
 * and counted as rule_drop); false: the caller withholds the frame. */
bool reset_both_ways(core::WorkerCtx& w, const core::RxQueue& q, const pkt::Parsed& p, rte_mbuf** slot,
                     Stats& stats, pkt::Stats& pkt_stats) noexcept;

}  // namespace inspect
