#include "inspect/mirror_out.h"

#include <rte_ethdev.h>

namespace inspect {

void MirrorSend::copy(const rte_mbuf* m) noexcept {
  if (cfg_.chosen && !collector_) {
    stats_->mirror_no_collector.add(1);
    return;
  }
  rte_mbuf* c = cfg_.raw ? mirror::raw_copy(m, cfg_.pool, cfg_.max_len, tally_)
                         : mirror::encap_copy(m, cfg_.pool, tmpl_, mirror::inner_flow_hash(m), tally_);
  if (c) q_[n_++] = c;
}

void MirrorSend::send() noexcept {
  const uint16_t sent = rte_eth_tx_burst(cfg_.port, queue_, q_, n_);
  if (sent < n_) {
    rte_pktmbuf_free_bulk(q_ + sent, n_ - sent);
    stats_->mirror_tx_full.add(n_ - sent);
  }
  if (collector_) {  // per collector too: a switch loses nothing unseen
    stats_->mirrored_to[collector_->index].add(sent);
    stats_->mirror_lost_to[collector_->index].add(n_ - sent);
  }
  n_ = 0;
  tally_.commit(*mstats_);
  tally_ = {};
}

}  // namespace inspect
