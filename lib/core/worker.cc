#include "core/worker.h"

#include <atomic>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

namespace core {

const char* const kDropNames[kNumDrops] = {
#define LOOM_DROP(name, desc) #name,
#include "core/drops.def"
#undef LOOM_DROP
};
const char* const kDropHelp[kNumDrops] = {
#define LOOM_DROP(name, desc) desc,
#include "core/drops.def"
#undef LOOM_DROP
};

namespace {

std::atomic<bool> g_stop{false};

void tx_flush(WorkerCtx& w, TxBuffer& b) noexcept {
  if (b.n == 0) return;
  const uint16_t sent = rte_eth_tx_burst(b.port, b.queue, b.pkts, b.n);
  uint64_t bytes = 0;
  for (uint16_t i = 0; i < sent; i++) bytes += b.pkts[i]->pkt_len;
  w.stats.tx_packets.add(sent);
  w.stats.tx_bytes.add(bytes);
  if (sent < b.n) [[unlikely]] {
    // Tail drop, no retry: waiting here would delay every other queue this
    // worker owns, and the peer's ring being full means it is already late.
    rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
    w.stats.drops[size_t(Drop::tx_full)].add(b.n - sent);
  }
  b.n = 0;
}

void flush_all(WorkerCtx& w) noexcept {
  for (TxBuffer& b : w.txb) tx_flush(w, b);
}

uint16_t poll_queue(WorkerCtx& w, const RxQueue& q) noexcept {
  uint16_t want = w.burst;
  if (w.lossless_rx) {
    // net_pcap reads a record before it allocates the mbuf and loses the
    // record when the allocation fails. Offline there is no line rate to
    // keep up with, so ask only for what the pool can surely hold.
    if (rte_mempool_avail_count(w.pool) < 2u * kBurst) {
      w.stats.rx_backpressure.add(1);
      return 0;
    }
  }
  rte_mbuf* pkts[kBurst];
  const uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts, want);
  if (n == 0) return 0;

  uint64_t bytes = 0;
  for (uint16_t i = 0; i < n; i++) bytes += pkts[i]->pkt_len;
  w.stats.rx_packets.add(n);
  w.stats.rx_bytes.add(bytes);

  if (w.hook) w.hook(w.hook_ctx, w, q, pkts, n);

  if (q.tx_slot == kNoTx) {
    rte_pktmbuf_free_bulk(pkts, n);
    return n;
  }
  TxBuffer& b = w.txb[q.tx_slot];
  for (uint16_t i = 0; i < n; i++) b.pkts[b.n++] = pkts[i];
  if (b.n >= kBurst) tx_flush(w, b);
  return n;
}

}  // namespace

void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }
bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

int worker_main(void* arg) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(arg);
  uint64_t last_drain = rte_rdtsc();
  while (!stop_requested()) {
    uint32_t got = 0;
    for (const RxQueue& q : w.rxq) got += poll_queue(w, q);
    if (got) {
      w.stats.polls_busy.add(1);
    } else {
      w.stats.polls_idle.add(1);
      if (w.idle_hook) w.idle_hook(w.hook_ctx, w);
    }
    // One TSC read per loop, not per packet: the drain period (default
    // 100 us) is thousands of loops long.
    const uint64_t now = rte_rdtsc();
    if (now - last_drain >= w.drain_tsc) {
      flush_all(w);
      last_drain = now;
    }
  }
  flush_all(w);
  return 0;
}

}  // namespace core
