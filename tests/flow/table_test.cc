// flow::Table's own index (open addressing, backward-shift deletion) checked
// against a std::map under random churn, full and nearly full, so that
// probe runs wrap around the index and removals shift entries back.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "../eal_env.h"
#include "core/mem.h"
#include "flow/flow.h"

namespace {

flow::Key key_of(uint32_t i) {
  flow::Key k;
  std::memset(&k, 0, sizeof k);
  k.ipver = 4;
  k.a[0] = 10;
  k.a[3] = uint8_t(i);
  k.b[0] = 198;
  k.b[3] = uint8_t(i >> 8);
  k.pa = uint16_t(1024 + (i >> 16));
  k.pb = 80;
  return k;
}

// Removes every live flow in slot order, as the stage ends a run; returns
// their generations.
std::vector<uint32_t> remove_all(flow::Table& t) {
  std::vector<uint32_t> ids;
  for (uint32_t i = 0; i < t.capacity() && t.active(); i++) {
    flow::Flow& f = t.at(int32_t(i));
    if (!(f.flags & flow::kInUse)) continue;
    ids.push_back(f.generation);
    t.remove(f);
  }
  return ids;
}

TEST(FlowTable, MatchesAReferenceMapUnderChurn) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  for (uint32_t cap : {1u, 7u, 64u, 1000u}) {
    flow::TableConfig cfg;
    cfg.max_flows = cap;
    cfg.evict_when_full = false;
    cfg.sweep_per_insert = 0;
    flow::TableStats st;
    flow::Table t(cfg, 0, 0, &st);
    std::map<uint32_t, flow::Flow*> ref;  // key id -> its record
    std::mt19937 rng(cap);
    const uint32_t universe = cap * 3 + 5;
    for (int step = 0; step < 20000; step++) {
      const uint32_t id = rng() % universe;
      const flow::Key k = key_of(id);
      flow::Flow* f = t.find(k);
      const auto it = ref.find(id);
      ASSERT_EQ(f, it == ref.end() ? nullptr : it->second) << "cap " << cap << " step " << step;
      if (f && rng() % 2) {
        t.remove(*f);
        ref.erase(it);
      } else if (!f) {
        flow::Flow* g = t.insert(k, 1);
        if (ref.size() == cap) {
          ASSERT_EQ(g, nullptr) << "a full table without eviction refuses";
          continue;
        }
        ASSERT_NE(g, nullptr);
        g->generation = id;
        ASSERT_EQ(std::memcmp(&g->key, &k, sizeof k), 0);
        ref[id] = g;
      }
      ASSERT_EQ(t.active(), ref.size());
    }
    // Bulk lookups agree with single ones, present and absent keys mixed.
    std::vector<flow::Key> keys;
    for (uint32_t id = 0; id < universe && keys.size() < 100; id++) keys.push_back(key_of(id));
    std::vector<const flow::Key*> kp;
    for (auto& k : keys) kp.push_back(&k);
    std::vector<int32_t> pos(kp.size());
    t.lookup_bulk(kp.data(), uint32_t(kp.size()), pos.data());
    for (size_t i = 0; i < kp.size(); i++) {
      const auto it = ref.find(uint32_t(i));
      EXPECT_EQ(pos[i] >= 0 ? &t.at(pos[i]) : nullptr, it == ref.end() ? nullptr : it->second);
    }
    // Removing every live flow leaves an empty, reusable table.
    EXPECT_EQ(remove_all(t).size(), ref.size());
    EXPECT_EQ(t.active(), 0u);
    for (uint32_t id = 0; id < cap; id++) ASSERT_NE(t.insert(key_of(id), 3), nullptr);
    EXPECT_EQ(t.insert(key_of(cap), 3), nullptr);
    EXPECT_EQ(st.table_full_drops.get() > 0, true);
  }
}

TEST(FlowTable, OffersTheLeastRecentOfASampleWhenFull) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  flow::TableConfig cfg;
  cfg.max_flows = 8;
  flow::TableStats st;
  flow::Table t(cfg, 0, 0, &st);
  for (uint32_t id = 0; id < 8; id++) {
    flow::Flow* f = t.insert(key_of(id), 100 + id);
    ASSERT_NE(f, nullptr);
    f->generation = id;
  }
  t.find(key_of(0))->last_ns = 50;  // the oldest
  EXPECT_TRUE(t.full());
  EXPECT_EQ(t.insert(key_of(8), 200), nullptr) << "the table never evicts by itself";
  EXPECT_EQ(st.table_full_drops.get(), 1u);
  flow::Flow* v = t.victim();
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->generation, 0u);
  EXPECT_EQ(t.find(key_of(0)), v) << "offered, not removed: ending it is the caller's";
  t.remove(*v);
  ASSERT_NE(t.insert(key_of(8), 200), nullptr);
  EXPECT_EQ(t.find(key_of(0)), nullptr);
  EXPECT_EQ(st.evicted_full.get(), 1u);
  EXPECT_EQ(t.active(), 8u);
}

TEST(FlowTable, SweepReportsDueAndLiveFlowsInHandOrder) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  flow::TableConfig cfg;
  cfg.max_flows = 16;
  cfg.timeouts.new_ns = 1000;
  flow::TableStats st;
  flow::Table t(cfg, 0, 0, &st);
  for (uint32_t id = 0; id < 4; id++) {
    flow::Flow* f = t.insert(key_of(id), id == 2 ? 5000 : 10);  // slot id; 2 is recent
    ASSERT_NE(f, nullptr);
    f->generation = id;
  }
  flow::Sweep out;
  t.sweep(2000, 3, out);  // slots 0..2
  ASSERT_EQ(out.n, 3u);
  for (uint32_t i = 0; i < 3; i++) EXPECT_EQ(out.flow[i]->generation, i);
  EXPECT_TRUE(out.due[0] && out.due[1]);
  EXPECT_FALSE(out.due[2]);
  EXPECT_EQ(st.evicted_timeout.get(), 2u);
  EXPECT_EQ(t.active(), 4u) << "a due flow stays until the caller removes it";
  // The hand goes on from slot 3; with every live flow due it stops there.
  t.remove(*out.flow[0]);
  t.remove(*out.flow[1]);
  t.remove(*t.find(key_of(2)));
  t.sweep(2000, 64, out);
  ASSERT_EQ(out.n, 1u);
  EXPECT_EQ(out.flow[0]->generation, 3u);
  EXPECT_TRUE(out.due[0]);
}

TEST(Mem, AnonymousPoolsHoldEveryObjectAndGiveThemBack) {
  ASSERT_NE(loomtest::test_pool(), nullptr);
  ASSERT_TRUE(core::mem::anonymous()) << "the unit tests run --no-huge, IOVA as VA";
  rte_mempool* p = core::mem::pool_create("memtest_pool", 1000, 700, 0, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(rte_mempool_avail_count(p), 1000u);
  std::vector<void*> objs(1000);
  ASSERT_EQ(rte_mempool_get_bulk(p, objs.data(), 1000), 0);
  std::memset(objs[999], 0xab, 700);  // the last object is whole
  rte_mempool_put_bulk(p, objs.data(), 1000);
  rte_mempool_free(p);

  rte_mempool* mb = core::mem::pktmbuf_pool_create("memtest_mbufs", 500, 0, 2176, 0, false);
  ASSERT_NE(mb, nullptr);
  rte_mbuf* m = rte_pktmbuf_alloc(mb);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(rte_pktmbuf_tailroom(m), 2176u - RTE_PKTMBUF_HEADROOM);
  EXPECT_EQ(m->buf_iova, rte_iova_t(uintptr_t(m->buf_addr))) << "IOVA as VA";
  char* d = rte_pktmbuf_append(m, 1500);
  ASSERT_NE(d, nullptr);
  std::memset(d, 1, 1500);
  rte_pktmbuf_free(m);
  EXPECT_EQ(rte_mempool_avail_count(mb), 500u);
  rte_mempool_free(mb);

  void* z = core::mem::zalloc("memtest", 5 << 20, 0);
  ASSERT_NE(z, nullptr);
  const auto* b = static_cast<const unsigned char*>(z);
  EXPECT_EQ(b[0] | b[(5 << 20) - 1], 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(z) % 64, 0u);
  core::mem::free(z);
}

}  // namespace
