// The poll loop on real ethdev ports (net_ring, whose TX comes back on its
// own RX): frames RX'd on one port leave on its peer in order, a hook's
// withheld frames are counted under their drop reason and not relayed, a
// passive queue frees what it reads, and stop flushes every TX buffer.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <rte_dev.h>
#include <rte_ethdev.h>

#include "../eal_env.h"
#include "core/worker.h"

namespace {


std::vector<uint8_t> tags_of(uint16_t port, size_t want) {
  std::vector<uint8_t> out;
  rte_mbuf* m[32];
  for (int tries = 0; tries < 1000 && out.size() < want; tries++) {
    const uint16_t n = rte_eth_rx_burst(port, 0, m, 32);
    for (uint16_t i = 0; i < n; i++) {
      out.push_back(*rte_pktmbuf_mtod(m[i], uint8_t*));
      rte_pktmbuf_free(m[i]);
    }
  }
  return out;
}

void inject(uint16_t port, uint8_t first, uint8_t count) {
  for (uint8_t i = 0; i < count; i++) {
    uint8_t b[60] = {uint8_t(first + i)};
    rte_mbuf* m = loomtest::mbuf_of(b, sizeof b);
    ASSERT_EQ(rte_eth_tx_burst(port, 0, &m, 1), 1);
  }
}

/* Runs the loop until `frames` have been taken from the RX rings, then
 * stops it (the stop flushes partial TX buffers). */
void run(core::WorkerCtx& w, uint64_t frames) {
  std::thread t([&w] { core::worker_main(&w); });
  while (w.stats.rx_packets.get() < frames) std::this_thread::yield();
  core::request_stop();
  t.join();
  core::g_stop = false;  // the flag is the process's: later tests run loops too
}

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(loomtest::test_pool(), nullptr);
    static uint16_t a = loomtest::ring_port("net_ring_wa", 256), b = loomtest::ring_port("net_ring_wb", 256);
    ASSERT_NE(a, UINT16_MAX);
    ASSERT_NE(b, UINT16_MAX);
    pa = a, pb = b;
  }
  void setup(core::WorkerCtx& w, bool relay) {
    w.pool = loomtest::test_pool();
    w.drain_tsc = 1;
    core::RxQueue q;
    q.port = pa;
    if (relay) {
      core::TxBuffer b;
      b.port = pb;
      w.txb.push_back(b);
      q.tx_slot = 0;
    }
    w.rxq.push_back(q);
  }
  uint16_t pa = 0, pb = 0;
};

TEST_F(WorkerTest, RelaysInOrderAndFlushesAtStop) {
  core::WorkerCtx w;
  setup(w, true);
  inject(pa, 0, 45);  // a full burst and a partial one
  run(w, 45);
  EXPECT_EQ(w.stats.tx_packets.get(), 45u);
  std::vector<uint8_t> want(45);
  for (uint8_t i = 0; i < 45; i++) want[i] = i;
  EXPECT_EQ(tags_of(pb, 45), want);
}

TEST_F(WorkerTest, WithheldFramesAreCountedAndNotRelayed) {
  core::WorkerCtx w;
  setup(w, true);
  // Drops every frame with an odd tag under rule_drop, as a hook must:
  // freed, counted, the rest moved to the front in order.
  w.hook = [](void*, core::WorkerCtx& w, const core::RxQueue&, rte_mbuf** p, uint16_t n) {
    uint16_t kept = 0;
    for (uint16_t i = 0; i < n; i++) {
      if (*rte_pktmbuf_mtod(p[i], uint8_t*) & 1) {
        w.stats.drops[size_t(core::Drop::rule_drop)].add(1);
        rte_pktmbuf_free(p[i]);
      } else {
        p[kept++] = p[i];
      }
    }
    return kept;
  };
  inject(pa, 0, 20);
  run(w, 20);
  EXPECT_EQ(w.stats.drops[size_t(core::Drop::rule_drop)].get(), 10u);
  EXPECT_EQ(tags_of(pb, 10), (std::vector<uint8_t>{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}));
}

TEST_F(WorkerTest, PassiveQueueFreesWhatItReads) {
  core::WorkerCtx w;
  setup(w, false);
  const unsigned before = rte_mempool_avail_count(loomtest::test_pool());
  inject(pa, 0, 40);
  run(w, 40);
  EXPECT_EQ(w.stats.tx_packets.get(), 0u);
  EXPECT_TRUE(tags_of(pb, 1).empty());
  EXPECT_EQ(rte_mempool_avail_count(loomtest::test_pool()), before) << "every frame freed";
}

}  // namespace
