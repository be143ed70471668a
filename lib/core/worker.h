/* core/worker: the per-lcore poll loop and the context it owns.
 *
 * One WorkerCtx per worker lcore, built by the control path at start-up
 * (heap allocation is fine there) and then owned by that lcore alone. The
 * loop burst-polls each RX queue the worker owns, hands the burst to an
 * optional processing hook (the later pipeline stages: flows, reassembly,
 * HTTP), then either relays the frames to the paired port's TX queue that
 * belongs to this worker, or frees them (passive tap/SPAN ports).
 *
 * TX is buffered per destination: a buffer is sent as soon as it holds a
 * full burst, and partial buffers are drained by a timer (tx_drain_us) so a
 * trickle of frames is never held back longer than that. RX writes straight
 * into the TX buffer (no copy), and the clock is read only while a partial
 * buffer waits. Frames keep their
 * order: one RX queue feeds exactly one TX buffer. A TX queue that does not
 * take a frame gets it freed and counted (Drop::tx_full); the worker never
 * retries or waits.
 *
 * Counters are written only by the owning lcore, read by anyone (Counter).
 * The loop neither allocates, logs nor takes a lock.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_mbuf.h>

#include "core/counter.h"
#include "core/counters.h"
#include "core/latency.h"

namespace core {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kNoTx = UINT16_MAX;

enum class Drop : uint8_t {
#define LOOM_DROP(name, desc) name,
#include "core/drops.def"
#undef LOOM_DROP
  kCount
};
constexpr size_t kNumDrops = static_cast<size_t>(Drop::kCount);
extern const char* const kDropNames[kNumDrops];
extern const char* const kDropHelp[kNumDrops];

struct WorkerStats {
  // Packets only: bytes are the ports' (ethdev ibytes/obytes). Summing
  // pkt_len here would touch every mbuf header on the relay path, which
  // measured at ~8% of a plain relay's cost (docs/performance.md).
#define LOOM_COUNTERS_DEF "core/counters.def"
#include "core/counters_body.inc"
  Counter drops[kNumDrops];
};

/* One RX queue a worker polls, and where its frames go. */
struct RxQueue {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint16_t tx_slot = kNoTx;  // index into WorkerCtx::txb, or kNoTx: passive
};

/* Frames waiting for one TX queue. Sized for two bursts so one RX burst
 * always fits behind a partial one. */
struct TxBuffer {
  uint16_t port = 0;
  uint16_t queue = 0;
  uint16_t n = 0;
  rte_mbuf* pkts[2 * kBurst];
  uint64_t rx_tsc[2 * kBurst];  // worker.latency: when each frame was received
};

struct WorkerCtx;

/* Called once per non-empty RX burst, before the frames are relayed or
 * freed. It may take extra references (rte_mbuf_refcnt_update) on frames
 * it keeps, and it may withhold frames from the relay: it returns how many
 * to relay, having moved those to the front of pkts in their order and
 * freed (and counted under a Drop reason) the others. It must not modify
 * a frame it relays. Chosen once at start-up. */
using BurstHook = uint16_t (*)(void* hook_ctx, WorkerCtx& w, const RxQueue& q,
                               rte_mbuf** pkts, uint16_t n);

/* Called on polls that found nothing: where bounded background work
 * (flow-table sweeping) happens. */
using IdleHook = void (*)(void* hook_ctx, WorkerCtx& w);

struct alignas(64) WorkerCtx {
  unsigned id = 0;
  unsigned lcore = 0;
  std::vector<RxQueue> rxq;
  std::vector<TxBuffer> txb;
  uint64_t drain_tsc = 0;          // TX drain period in TSC cycles
  uint16_t burst = kBurst;         // RX burst size, <= kBurst
  bool lossless_rx = false;        // offline: never let the PMD hit rx_nombuf
  bool latency = false;            // worker.latency: fill `hold` (core/latency.h)
  struct rte_mempool* pool = nullptr;
  BurstHook hook = nullptr;
  IdleHook idle_hook = nullptr;
  void* hook_ctx = nullptr;
  WorkerStats stats;
  LatencyHist hold;                // RX to TX, in TSC cycles, per relayed frame
  LatencyHist pre_tx;              // RX to the rte_eth_tx_burst call, per frame offered
};

/* rte_eal_remote_launch entry point; arg is a WorkerCtx*. Returns 0 after
 * request_stop() once every TX buffer has been flushed. */
int worker_main(void* arg);

/* Set once to end every worker loop. Inline so the poll loop reads it
 * without a call (the library is position-independent). */
inline std::atomic<bool> g_stop{false};

/* Async-signal-safe: the signal handler calls it. */
inline void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }
inline bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

}  // namespace core
