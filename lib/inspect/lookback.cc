#include "inspect/lookback.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <rte_common.h>

#include "core/mem.h"

namespace inspect {

Lookback::Lookback(uint32_t entries, uint32_t snaplen, unsigned worker, int socket)
    : entries_(entries), snaplen_(snaplen),
      stride_(RTE_ALIGN_CEIL(sizeof(Entry) + snaplen, 64)) {
  ring_ = static_cast<uint8_t*>(core::mem::zalloc("loom_lookback", stride_ * entries, socket));
  if (!ring_)
    throw std::runtime_error("cannot allocate the pcap lookback of worker " +
                             std::to_string(worker) +
                             "; lower outputs.pcap_lookback or raise eal.memory_mb");
}

Lookback::~Lookback() { core::mem::free(ring_); }

void Lookback::save(uint64_t& last, const rte_mbuf* m, uint64_t ts_ns) noexcept {
  Entry& e = at(++seq_);
  e.seq = seq_;
  e.prev = last;
  e.ts_ns = ts_ns;
  e.caplen = std::min<uint32_t>(m->pkt_len, snaplen_);
  e.wirelen = m->pkt_len;
  const void* d = rte_pktmbuf_read(m, 0, e.caplen, e.data());
  if (d != e.data()) std::memcpy(e.data(), d, e.caplen);
  last = seq_;
}

Lookback::Entry* Lookback::select(uint64_t& last, bool* missed) noexcept {
  const uint64_t oldest = seq_ > entries_ ? seq_ - entries_ + 1 : 1;
  uint64_t s = last, next = 0;
  while (s && s >= oldest && at(s).seq == s) {
    Entry& e = at(s);
    const uint64_t prev = e.prev;
    e.prev = next;
    next = s;
    s = prev;
  }
  *missed = s != 0;
  last = 0;
  return next ? &at(next) : nullptr;
}

}  // namespace inspect
