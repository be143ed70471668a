// stats.json's inspection blocks come from the counters.def lists: every
// listed counter appears once, in its block, summed over the workers; a
// list's order is the file's order.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "../stage_harness.h"
#include "ctl/stats_json.h"

namespace {

using namespace loomtest;

struct Seen {
  std::vector<std::pair<std::string, std::string>> order;  // block, name
  std::map<std::string, uint64_t> value;                    // "block.name"
};

Seen walk(const std::vector<const inspect::Stage*>& st) {
  Seen s;
  ctl::for_each_inspect_counter(
      st,
      [](void* p, const char* block, const char* name, uint64_t v) {
        auto& s = *static_cast<Seen*>(p);
        s.order.emplace_back(block, name);
        s.value[std::string(block) + "." + name] = v;
      },
      &s);
  return s;
}

template <class Stats>
std::vector<std::string> listed(const Stats& st) {
  std::vector<std::string> names;
  st.visit([&](const char* n, core::CounterKind, const char* help, const core::Counter&) {
    EXPECT_GT(std::string(help).size(), 10u) << n << " has no real help text";
    names.push_back(n);
  });
  return names;
}

class StatsJsonTest : public StageHarness {};

TEST_F(StatsJsonTest, EveryListedCounterOnceInItsBlockSummedOverWorkers) {
  auto a = make(config()), b = make(config());
  a->tcp_stats.rst_held.add(2);
  b->tcp_stats.rst_held.add(3);
  a->reasm_stats.capture_loss_bytes.add(7);
  b->flow_stats.reused.add(1);
  const Seen s = walk({a.get(), b.get()});
  std::set<std::string> keys;
  for (const auto& [block, name] : s.order)
    EXPECT_TRUE(keys.insert(block + "." + name).second) << block << "." << name << " twice";
  const std::map<std::string, std::vector<std::string>> lists = {
      {"tcp", listed(tcp::Stats{})}, {"reasm", listed(reasm::Stats{})},
      {"flows", listed(flow::TableStats{})}};
  for (const auto& [block, names] : lists) {
    std::vector<std::string> got;
    for (const auto& [b2, n] : s.order)
      if (b2 == block) got.push_back(n);
    EXPECT_EQ(got, names) << "block " << block << " is its list, in order";
  }
  EXPECT_EQ(s.value.at("tcp.rst_held"), 5u);
  EXPECT_EQ(s.value.at("reasm.capture_loss_bytes"), 7u);
  EXPECT_EQ(s.value.at("flows.reused"), 1u);
  EXPECT_EQ(s.value.at("tcp.rst_accepted"), 0u);
}

TEST_F(StatsJsonTest, NamesWithoutWorkers) {
  // A run that built no stage still reports every counter, as 0.
  const Seen s = walk({});
  EXPECT_EQ(s.value.count("tcp.syn_on_open"), 1u);
  EXPECT_EQ(s.value.count("reasm.ofo_reclaimed"), 1u);
  EXPECT_EQ(s.value.at("reasm.ofo_reclaimed"), 0u);
}

}  // namespace
