/* core/latency: how long the relay holds a frame, RX to TX, per worker.
 *
 * With worker.latency on, a worker stamps each RX burst with the TSC and,
 * when the PMD takes the frames in rte_eth_tx_burst, adds now - stamp for
 * each of them to its histogram: the time Loom added to the frame
 * (inspection, TX buffering and the drain timer), not the wire's. A second
 * histogram takes the stamp just before rte_eth_tx_burst is called, which
 * leaves out the PMD's own transmit work (for af_packet, a sendto() that
 * delivers the frame through the peer's kernel stack). Two rdtsc per TX
 * burst, one per RX burst, and two bucket increments per frame.
 *
 * Buckets are log-linear, 8 per power of two (at most 12.5% wide), over
 * TSC cycles up to 2^63: a fixed 4 KB per worker, no allocation, exact
 * enough for p50/p99/p99.9. One writer (the worker), any readers.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/counter.h"

namespace core {

class LatencyHist {
 public:
  static constexpr size_t kSub = 8;
  static constexpr size_t kBuckets = 64 * kSub;

  static size_t bucket(uint64_t v) noexcept {
    if (v < kSub) return size_t(v);
    const unsigned msb = 63u - unsigned(__builtin_clzll(v));
    return size_t(msb - 2) * kSub + size_t((v >> (msb - 3)) & (kSub - 1));
  }
  /* The largest value that falls in bucket b. */
  static uint64_t upper(size_t b) noexcept {
    if (b < kSub) return b;
    const unsigned msb = unsigned(b / kSub) + 2;
    const uint64_t lo = (uint64_t(1) << msb) | (uint64_t(b % kSub) << (msb - 3));
    return lo + (uint64_t(1) << (msb - 3)) - 1;
  }

  void add(uint64_t cycles, uint64_t n = 1) noexcept { b_[bucket(cycles)].add(n); }
  uint64_t count(size_t b) const noexcept { return b_[b].get(); }

 private:
  Counter b_[kBuckets];
};

/* Percentiles over one or more histograms (summed), in nanoseconds: the
 * upper bound of the bucket holding the q-th value. */
struct LatencySummary {
  uint64_t samples = 0;
  uint64_t p50_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0;
};
LatencySummary summarize(const LatencyHist* const* h, size_t n, uint64_t tsc_hz) noexcept;

}  // namespace core
