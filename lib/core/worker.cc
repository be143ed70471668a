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

void tx_flush(WorkerCtx& w, TxBuffer& b) noexcept {
  if (b.n == 0) return;
  if (w.latency) {
    // Loom's own share of the hold, without the PMD's transmit (for
    // af_packet a sendto() into the peer's stack, tens of microseconds).
    const uint64_t now = rte_rdtsc();
    for (uint16_t i = 0; i < b.n; i++) w.pre_tx.add(now - b.rx_tsc[i]);
  }
  // Frames handed to the PMD are no longer ours (many PMDs free them inside
  // tx_burst): nothing here reads them after this call.
  const uint16_t sent = rte_eth_tx_burst(b.port, b.queue, b.pkts, b.n);
  if (w.latency) {
    const uint64_t now = rte_rdtsc();
    for (uint16_t i = 0; i < sent; i++) w.hold.add(now - b.rx_tsc[i]);
  }
  if (sent < b.n) [[unlikely]] {
    // Tail drop, no retry: waiting here would delay every other queue this
    // worker owns, and the peer's ring being full means it is already late.
    rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
    w.stats.drops[size_t(Drop::tx_full)].add(b.n - sent);
  }
  w.stats.tx_packets.add(sent);
  b.n = 0;
}

void flush_all(WorkerCtx& w) noexcept {
  for (TxBuffer& b : w.txb) tx_flush(w, b);
}

uint16_t poll_queue(WorkerCtx& w, const RxQueue& q) noexcept {
  if (w.lossless_rx) {
    // net_pcap reads a record before it allocates the mbuf and loses the
    // record when the allocation fails. Offline there is no line rate to
    // keep up with, so ask only for what the pool can surely hold.
    if (rte_mempool_avail_count(w.pool) < 2u * kBurst) {
      w.stats.rx_backpressure.add(1);
      return 0;
    }
  }
  rte_mbuf* local[kBurst];
  TxBuffer* b = q.tx_slot == kNoTx ? nullptr : &w.txb[q.tx_slot];
  // Relayed frames land directly behind the buffer's pending ones: it holds
  // two bursts and is flushed whenever it reaches one, so there is room.
  rte_mbuf** pkts = b ? b->pkts + b->n : local;
  const uint16_t got = rte_eth_rx_burst(q.port, q.queue, pkts, w.burst);
  if (got == 0) return 0;

  w.stats.rx_packets.add(got);
  const uint64_t rx_tsc = w.latency ? rte_rdtsc() : 0;  // before inspection: it is part of the hold

  const uint16_t n = w.hook ? w.hook(w.hook_ctx, w, q, pkts, got) : got;

  if (!b) {
    rte_pktmbuf_free_bulk(pkts, n);
    return got;
  }
  if (w.latency)
    for (uint16_t i = 0; i < n; i++) b->rx_tsc[b->n + i] = rx_tsc;
  b->n += n;
  if (b->n >= kBurst) tx_flush(w, *b);
  return got;
}

/* Idle polls only (a busy poll found frames, so mbufs): is the pool too
 * empty for the PMD to receive a burst? The count walks every lcore's
 * cache, some 100 ns, spent only when there was nothing to do. */
[[gnu::cold]] bool pool_empty(const WorkerCtx& w) noexcept {
  return rte_mempool_avail_count(w.pool) < w.burst;
}

bool any_pending(const WorkerCtx& w) noexcept {
  for (const TxBuffer& b : w.txb)
    if (b.n) return true;
  return false;
}

}  // namespace

int worker_main(void* arg) {
  WorkerCtx& w = *static_cast<WorkerCtx*>(arg);
  // The drain deadline runs only while a partial burst waits; under load
  // every burst is sent at once and the clock is never read.
  uint64_t deadline = 0;
  while (!stop_requested()) {
    uint32_t got = 0;
    for (const RxQueue& q : w.rxq) got += poll_queue(w, q);
    if (got) {
      w.stats.polls_busy.add(1);
    } else {
      w.stats.polls_idle.add(1);
      if (!w.lossless_rx && pool_empty(w)) w.stats.rx_pool_empty.add(1);
      if (w.idle_hook) w.idle_hook(w.hook_ctx, w);
    }
    if (w.txb.empty()) continue;
    if (!any_pending(w)) {
      deadline = 0;
    } else if (deadline == 0) {
      deadline = rte_rdtsc() + w.drain_tsc;
    } else if (rte_rdtsc() >= deadline) {
      flush_all(w);
      deadline = 0;
    }
  }
  // Stop: relay what already sits in the RX rings (bounded, so a port that
  // keeps receiving cannot hold the stop up), then flush every TX buffer.
  for (int pass = 0; pass < 64; pass++) {
    uint32_t got = 0;
    for (const RxQueue& q : w.rxq) got += poll_queue(w, q);
    if (got == 0) break;
  }
  flush_all(w);
  return 0;
}

}  // namespace core
