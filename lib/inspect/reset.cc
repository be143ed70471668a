#include "inspect/reset.h"

#include <rte_cycles.h>

#include "pkt/rst.h"

namespace inspect {

bool reset_both_ways(core::WorkerCtx& w, const core::RxQueue& q, const pkt::Parsed& p, rte_mbuf** slot,
                     Stats& stats, pkt::Stats& pkt_stats) noexcept {
  if (q.tx_slot == core::kNoTx) return false;  // passive: no wire to reset on
  if (p.encap) {
    // build_rst() copies the L2 header and rewrites only the innermost IP
    // and TCP: the outer lengths and checksums of a tunnel, a PPPoE
    // length or a label stack would be wrong. The frame is still dropped.
    pkt_stats.rst_skipped_encap.add(1);
    return false;
  }
  rte_mbuf* m = *slot;
  for (core::TxBuffer& b : w.txb) {
    if (b.port != q.port || b.n >= core::kBurst) continue;
    if (rte_mbuf* back = pkt::build_rst(m, p, true, w.pool)) {
      b.rx_tsc[b.n] = rte_rdtsc();
      b.pkts[b.n++] = back;
      stats.resets_sent.add(1);
    }
    break;
  }
  if (rte_mbuf* fwd = pkt::build_rst(m, p, false, w.pool)) {
    *slot = fwd;
    rte_pktmbuf_free(m);
    w.stats.drops[size_t(core::Drop::rule_drop)].add(1);
    stats.resets_sent.add(1);
    return true;
  }
  return false;
}

}  // namespace inspect
