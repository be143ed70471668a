// The pcap lookback: a selected connection gets its packets back oldest
// first, interleaved connections stay apart, and what the ring overwrote
// is reported as missed.
#include <gtest/gtest.h>

#include <vector>

#include "../eal_env.h"
#include "inspect/lookback.h"

namespace {

rte_mbuf* packet(uint8_t tag, uint16_t len) {
  std::vector<uint8_t> b(len, tag);
  return loomtest::mbuf_of(b.data(), len);
}

std::vector<uint64_t> select_ts(inspect::Lookback& lb, uint64_t& chain, bool* missed) {
  std::vector<uint64_t> ts;
  for (auto* e = lb.select(chain, missed); e; e = lb.next(e)) ts.push_back(e->ts_ns);
  return ts;
}

TEST(Lookback, SelectGivesTheSlotsPacketsOldestFirst) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  inspect::Lookback lb(16, 64, 900, 0);
  uint64_t chain[2] = {};
  for (uint64_t i = 0; i < 6; i++) {
    rte_mbuf* m = packet(uint8_t(i), 100);
    lb.save(chain[i % 2], m, 1000 + i);  // connections 0 and 1 interleaved
    rte_pktmbuf_free(m);
  }
  bool missed = true;
  EXPECT_EQ(select_ts(lb, chain[1], &missed), (std::vector<uint64_t>{1001, 1003, 1005}));
  EXPECT_FALSE(missed);
  EXPECT_EQ(chain[1], 0u) << "a selection empties the chain";
  EXPECT_TRUE(select_ts(lb, chain[1], &missed).empty());
  auto* e = lb.select(chain[0], &missed);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->caplen, 64u) << "cut at the snaplen";
  EXPECT_EQ(e->wirelen, 100u);
  EXPECT_EQ(e->data()[0], 0);
}

TEST(Lookback, OverwrittenPacketsAreReportedMissed) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  inspect::Lookback lb(4, 64, 901, 0);
  uint64_t chain = 0, fresh = 0;
  for (uint64_t i = 0; i < 10; i++) {
    rte_mbuf* m = packet(1, 60);
    lb.save(chain, m, i);
    rte_pktmbuf_free(m);
  }
  bool missed = false;
  EXPECT_EQ(select_ts(lb, chain, &missed), (std::vector<uint64_t>{6, 7, 8, 9}));
  EXPECT_TRUE(missed);
  EXPECT_TRUE(select_ts(lb, fresh, &missed).empty());
  EXPECT_FALSE(missed);
}

}  // namespace
