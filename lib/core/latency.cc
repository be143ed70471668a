#include "core/latency.h"

namespace core {

LatencySummary summarize(const LatencyHist* const* h, size_t n, uint64_t tsc_hz) noexcept {
  LatencySummary s;
  uint64_t counts[LatencyHist::kBuckets] = {};
  for (size_t i = 0; i < n; i++)
    for (size_t b = 0; b < LatencyHist::kBuckets; b++) counts[b] += h[i]->count(b);
  for (uint64_t c : counts) s.samples += c;
  if (!s.samples || !tsc_hz) return s;
  const auto ns = [&](size_t b) { return uint64_t(double(LatencyHist::upper(b)) * 1e9 / double(tsc_hz)); };
  // The rank of each percentile, rounded up: p99.9 of 1,000 samples is the
  // 999th value.
  const uint64_t r50 = (s.samples * 500 + 999) / 1000, r99 = (s.samples * 990 + 999) / 1000,
                 r999 = (s.samples * 999 + 999) / 1000;
  uint64_t seen = 0;
  for (size_t b = 0; b < LatencyHist::kBuckets; b++) {
    if (!counts[b]) continue;
    const uint64_t before = seen;
    seen += counts[b];
    if (before < r50 && seen >= r50) s.p50_ns = ns(b);
    if (before < r99 && seen >= r99) s.p99_ns = ns(b);
    if (before < r999 && seen >= r999) s.p999_ns = ns(b);
    s.max_ns = ns(b);
  }
  return s;
}

}  // namespace core
