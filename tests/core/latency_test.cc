// core::LatencyHist: buckets cover every value once, are at most 12.5%
// wide, and the percentiles land in the right bucket.
#include "core/latency.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>

namespace {

TEST(Latency, BucketsAreContiguousAndNarrow) {
  uint64_t expect_lo = 0;
  for (size_t b = 0; b < 60 * core::LatencyHist::kSub; b++) {
    const uint64_t hi = core::LatencyHist::upper(b);
    EXPECT_EQ(core::LatencyHist::bucket(expect_lo), b);
    EXPECT_EQ(core::LatencyHist::bucket(hi), b);
    if (expect_lo >= 8) {
      EXPECT_LE(double(hi - expect_lo + 1) / double(expect_lo), 0.125 + 1e-9) << b;
    }
    expect_lo = hi + 1;
  }
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; i++) {
    const uint64_t v = rng() >> (rng() % 60);
    const size_t b = core::LatencyHist::bucket(v);
    EXPECT_LE(v, core::LatencyHist::upper(b));
    if (b) {
      EXPECT_GT(v, core::LatencyHist::upper(b - 1));
    }
  }
}

TEST(Latency, Percentiles) {
  auto h = std::make_unique<core::LatencyHist>();
  // 1,000 samples: 1..1000 cycles at 1 GHz, so cycles are nanoseconds.
  for (uint64_t v = 1; v <= 1000; v++) h->add(v);
  const core::LatencyHist* hp = h.get();
  const core::LatencySummary s = core::summarize(&hp, 1, 1000000000ull);
  EXPECT_EQ(s.samples, 1000u);
  // Each is the upper bound of the bucket holding the 500th, 990th and
  // 999th value: within 12.5% above it.
  EXPECT_GE(s.p50_ns, 500u);
  EXPECT_LE(s.p50_ns, 563u);
  EXPECT_GE(s.p99_ns, 990u);
  EXPECT_LE(s.p99_ns, 1114u);
  EXPECT_GE(s.p999_ns, 999u);
  EXPECT_GE(s.max_ns, 1000u);
  auto two = std::make_unique<core::LatencyHist>();
  two->add(1000000, 10);  // a second worker, slow
  const core::LatencyHist* both[] = {h.get(), two.get()};
  const core::LatencySummary t = core::summarize(both, 2, 1000000000ull);
  EXPECT_EQ(t.samples, 1010u);
  EXPECT_LE(t.p99_ns, 1114u);      // the 1,000th of 1,010 values is still the fast worker's
  EXPECT_GE(t.p999_ns, 1000000u);  // the 1,009th is the slow worker's
  EXPECT_LE(t.p50_ns, 563u);
}

}  // namespace
