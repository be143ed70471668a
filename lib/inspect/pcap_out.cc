#include "inspect/pcap_out.h"

#include <algorithm>
#include <cstring>

namespace inspect {

PcapOut::PcapOut(uint32_t snaplen, uint32_t lookback, uint32_t ring, unsigned worker, int socket,
                 const core::Waiting* w, Stats* stats)
    : snaplen_(snaplen), stats_(stats) {
  records_.open("loom_pkts_" + std::to_string(worker), sizeof(PacketRecord) + snaplen, socket, ring,
                w, &stats->pcap_dropped);
  if (lookback) lookback_ = std::make_unique<Lookback>(lookback, snaplen, worker, socket);
}

namespace {

/* The first n bytes of m's frame into dst (m may be segmented). */
void copy_head(const rte_mbuf* m, uint32_t n, uint8_t* dst) noexcept {
  const void* d = rte_pktmbuf_read(m, 0, n, dst);
  if (d != dst) std::memcpy(dst, d, n);
}

}  // namespace


void PcapOut::emit(uint64_t ts, uint32_t wirelen, const rte_mbuf* m, const uint8_t* bytes,
                      uint32_t caplen) noexcept {
  auto* r = static_cast<PacketRecord*>(records_.take());
  if (!r) return;
  r->ts_ns = ts;
  r->wirelen = wirelen;
  r->caplen = caplen;
  if (m)
    copy_head(m, caplen, r->data());
  else
    std::memcpy(r->data(), bytes, caplen);
  if (records_.push(r)) stats_->pcap_packets.add(1);
}

void PcapOut::packet(flow::Flow& f, uint64_t& chain, const rte_mbuf* m, uint64_t ts) noexcept {
  const uint32_t caplen = std::min<uint32_t>(m->pkt_len, snaplen_);
  if (f.flags & flow::kPcap) {
    emit(ts, m->pkt_len, m, nullptr, caplen);
    return;
  }
  if (lookback_) lookback_->save(chain, m, ts);
}

void PcapOut::select(flow::Flow& f, uint64_t& chain) noexcept {
  f.flags |= flow::kPcap;
  if (!lookback_) return;
  bool missed = false;
  for (Lookback::Entry* e = lookback_->select(chain, &missed); e; e = lookback_->next(e))
    emit(e->ts_ns, e->wirelen, nullptr, e->data(), e->caplen);
  if (missed) stats_->pcap_lookback_missed.add(1);
}

}  // namespace inspect
