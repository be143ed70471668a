// The planning step: a startup file's keys become the inspection stage's
// settings with their units converted, the outputs decide which records
// are made, and the file's defaults are the libraries' defaults (one
// default per setting: a drift between them fails here).
#include <gtest/gtest.h>

#include <cstdio>

#include "ctl/plan.h"

namespace {

using ctl::parse_config;

// A live inline appliance with two ports and nothing else set.
const char kLive[] = R"(mode = "inline"
[eal]
lcores = "0-1"
memory = "no-huge"
[[ports]]
name = "west"
device = "net_null0"
[[ports]]
name = "east"
device = "net_null1"
[[pairs]]
a = "west"
b = "east"
)";

TEST(Plan, UnitsAreConverted) {
  const auto c = parse_config(
      "mode = \"offline\"\n[flow]\ntimeout_new_s = 3\ntimeout_established_s = 7\n"
      "timeout_closed_s = 2\n[reassembly]\nmemcap_mb = 8\ngap_timeout_ms = 250\n"
      "ack_gap_timeout_ms = 40\n",
      "p.toml");
  const inspect::Config ic = ctl::stage_config(c, true);
  EXPECT_EQ(ic.table.timeouts.new_ns, 3'000'000'000ull);
  EXPECT_EQ(ic.table.timeouts.established_ns, 7'000'000'000ull);
  EXPECT_EQ(ic.table.timeouts.closed_ns, 2'000'000'000ull);
  EXPECT_EQ(ic.limits.memcap_bytes, 8ull << 20);
  EXPECT_EQ(ic.limits.gap_timeout_ns, 250'000'000ull);
  EXPECT_EQ(ic.limits.ack_gap_timeout_ns, 40'000'000ull);
  // Enough OFO nodes that the memcap, counted in mbuf buffers, binds first.
  EXPECT_GE(uint64_t(ic.ofo_nodes) * c.mbuf_data_room, ic.limits.memcap_bytes);
}

TEST(Plan, OfflineIsLosslessAndSweepsOnlyOnInserts) {
  const auto off = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), true);
  EXPECT_TRUE(off.lossless);
  EXPECT_FALSE(off.idle_sweep);
  const auto live = ctl::stage_config(parse_config(kLive, "l.toml"), true);
  EXPECT_FALSE(live.lossless);
  EXPECT_TRUE(live.idle_sweep);
}

TEST(Plan, OutputsDecideWhichRecordsAreMade) {
  const auto none = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), false);
  EXPECT_FALSE(none.streams) << "no output directory: no fingerprints";
  EXPECT_FALSE(none.message_files) << "records nobody drains would stop an offline worker";
  EXPECT_TRUE(none.http_records) << "rules and pcap still judge messages";
  EXPECT_EQ(none.raw_bytes, 0u);
  const auto quiet = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nmessages = false\ngor = false\n", "q.toml"), true);
  EXPECT_FALSE(quiet.message_files);
  EXPECT_EQ(quiet.raw_bytes, 0u) << "no http.gor and no rules: no capture buffers";
  const auto gor = ctl::stage_config(parse_config("mode = \"offline\"\n", "g.toml"), true);
  EXPECT_TRUE(gor.message_files);
  EXPECT_GT(gor.raw_bytes, 0u);
  EXPECT_GT(gor.raw_buffers, 0u);
  const auto pcap = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\npcap = true\nrecord_ring = 65536\n", "p.toml"), true);
  EXPECT_TRUE(pcap.pcap);
  EXPECT_EQ(pcap.pcap_ring, 4096u) << "packet records are big: their ring is capped";
}

TEST(Plan, FileDefaultsAreTheLibrariesDefaults) {
  const inspect::Config ic = ctl::stage_config(parse_config(kLive, "d.toml"), true);
  const flow::TableConfig t;
  EXPECT_EQ(ic.table.max_flows, t.max_flows);
  EXPECT_EQ(ic.table.timeouts.new_ns, t.timeouts.new_ns);
  EXPECT_EQ(ic.table.timeouts.established_ns, t.timeouts.established_ns);
  EXPECT_EQ(ic.table.timeouts.closed_ns, t.timeouts.closed_ns);
  EXPECT_EQ(ic.table.evict_when_full, t.evict_when_full);
  EXPECT_EQ(ic.table.sweep_per_insert, t.sweep_per_insert);
  EXPECT_EQ(ic.table.sweep_per_idle, t.sweep_per_idle);
  const reasm::Limits l;
  EXPECT_EQ(ic.limits.max_ofo_segments, l.max_ofo_segments);
  EXPECT_EQ(ic.limits.max_ofo_bytes, l.max_ofo_bytes);
  EXPECT_EQ(ic.limits.memcap_bytes, l.memcap_bytes);
  EXPECT_EQ(ic.limits.gap_timeout_ns, l.gap_timeout_ns);
  EXPECT_EQ(ic.limits.ack_gap_timeout_ns, l.ack_gap_timeout_ns);
  const inspect::Config st;
  EXPECT_EQ(ic.empty_sample, st.empty_sample);
  EXPECT_EQ(ic.max_header_bytes, st.max_header_bytes);
  EXPECT_EQ(ic.http_conns, st.http_conns);
  EXPECT_EQ(ic.record_ring, st.record_ring);
  EXPECT_EQ(ic.pcap_snaplen, st.pcap_snaplen);
  EXPECT_EQ(ic.pcap_lookback, st.pcap_lookback);
}

TEST(Plan, PayloadLessConnectionsAreSampledUnlessAllAreAskedFor) {
  const auto dflt = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), true);
  EXPECT_EQ(dflt.empty_sample, 100u);
  const auto few = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nempty_connections_sample = 7\n", "o.toml"), true);
  EXPECT_EQ(few.empty_sample, 7u);
  const auto all = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nempty_connections = \"all\"\n"
                   "empty_connections_sample = 7\n", "o.toml"), true);
  EXPECT_EQ(all.empty_sample, UINT32_MAX) << "all overrides the sample";
  try {
    parse_config("mode = \"offline\"\n[outputs]\nempty_connections = \"none\"\n", "b.toml");
    FAIL() << "an unknown choice must be refused";
  } catch (const ctl::ConfigErrors& e) {
    EXPECT_NE(std::string(e.what()).find("b.toml:3:"), std::string::npos) << e.what();
  }
}

}  // namespace

namespace {

uint64_t use_of(const std::vector<ctl::MemoryUse>& v, const std::string& key) {
  for (const auto& u : v)
    if (u.key == key) return u.bytes;
  return 0;
}

}  // namespace

TEST(MemoryPlan, UnitCostsAreTheStructuresSizes) {
  const auto c = parse_config("mode = \"offline\"\n", "o.toml");
  const ctl::UnitCosts u = ctl::unit_costs(c);
  EXPECT_GE(u.flow, sizeof(flow::Flow) + sizeof(inspect::Conn) + 2 * sizeof(inspect::StreamSide))
      << "a flow and its connection record with fingerprints";
  EXPECT_EQ(u.http_conn, sizeof(http::Conn) + sizeof(uint32_t)) << "a state and its free-stack entry";
  EXPECT_GT(u.held_byte_x1000, 1000u) << "a held byte costs its mbuf's header too";
  EXPECT_GE(u.message_record, sizeof(http::Message));
  EXPECT_GE(u.stream_record, sizeof(inspect::StreamRecord));
  // docs/configuration.md quotes these; print them for its table.
  std::printf("unit costs: flow %lu, http conn %lu, held byte x1000 %lu, ofo node %lu, stream record %lu, "
              "message record %lu\n", (unsigned long)u.flow, (unsigned long)u.http_conn,
              (unsigned long)u.held_byte_x1000, (unsigned long)u.ofo_node,
              (unsigned long)u.stream_record, (unsigned long)u.message_record);
  std::printf("of a flow: flow %zu, connection record %zu, fingerprints %zu\n", sizeof(flow::Flow),
              sizeof(inspect::Conn), 2 * sizeof(inspect::StreamSide));
  // Off: HTTP state and fingerprints cost nothing.
  const auto bare = parse_config("mode = \"offline\"\n[http]\nenabled = false\n[outputs]\nstreams = false\n", "b.toml");
  EXPECT_EQ(ctl::unit_costs(bare).http_conn, 0u);
  EXPECT_EQ(ctl::unit_costs(bare).flow, flow::Table::bytes_per_flow() + inspect::Conns::stride(false));
  EXPECT_LT(ctl::unit_costs(bare).flow, u.flow);
}

TEST(MemoryPlan, ABudgetSizesTheKeysTheFileLeftOutAndHoldsThePlan) {
  auto c = parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 512\n", "o.toml");
  const auto uses = ctl::worker_memory(c);
  EXPECT_LE(ctl::total(uses), 512ull << 20);
  EXPECT_GE(ctl::total(uses), 400ull << 20) << "most of the budget is put to use";
  // Half and half between the flows and the memcap.
  const double flows = double(use_of(uses, "flow.max_flows_per_worker"));
  const double memcap = double(use_of(uses, "reassembly.memcap_mb"));
  EXPECT_NEAR(flows / memcap, 1.0, 0.05);
  EXPECT_NE(c.flow.max_flows_per_worker, ctl::FlowConfig{}.max_flows_per_worker);
  // A key the file gives stays; the other takes what is left.
  auto g = parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 512\n[flow]\nmax_flows_per_worker = 1000\n",
                        "g.toml");
  EXPECT_EQ(g.flow.max_flows_per_worker, 1000u);
  EXPECT_GT(g.reasm.memcap_mb, c.reasm.memcap_mb);
  EXPECT_LE(ctl::total(ctl::worker_memory(g)), 512ull << 20);
  auto m = parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 512\n[reassembly]\nmemcap_mb = 8\n", "m.toml");
  EXPECT_EQ(m.reasm.memcap_mb, 8u);
  EXPECT_GT(m.flow.max_flows_per_worker, c.flow.max_flows_per_worker);
  // No budget: today's sizes.
  const auto d = parse_config("mode = \"offline\"\n", "d.toml");
  EXPECT_EQ(d.flow.max_flows_per_worker, ctl::FlowConfig{}.max_flows_per_worker);
  EXPECT_EQ(d.reasm.memcap_mb, ctl::ReassemblyConfig{}.memcap_mb);
}

TEST(MemoryPlan, AnHttpPoolSizedOnItsOwnIsItsOwnConsumer) {
  const auto c = parse_config("mode = \"offline\"\n", "o.toml");
  const ctl::UnitCosts u = ctl::unit_costs(c);
  const uint64_t flows = c.flow.max_flows_per_worker;
  // By default one state per flow slot: part of the flow table's cost.
  EXPECT_EQ(use_of(ctl::worker_memory(c), "flow.max_flows_per_worker"),
            flows * (u.flow + u.http_conn));
  EXPECT_EQ(use_of(ctl::worker_memory(c), "http.max_connections_per_worker"), 0u);
  const auto p = parse_config("mode = \"offline\"\n[http]\nmax_connections_per_worker = 1000\n", "p.toml");
  const auto uses = ctl::worker_memory(p);
  EXPECT_EQ(use_of(uses, "flow.max_flows_per_worker"), flows * u.flow);
  EXPECT_EQ(use_of(uses, "http.max_connections_per_worker"), 1000 * u.http_conn);
  // With a budget the smaller pool leaves room for more flow slots.
  auto a = parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 512\n", "a.toml");
  auto b = parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 512\n[http]\n"
                        "max_connections_per_worker = 1000\n", "b.toml");
  EXPECT_GT(b.flow.max_flows_per_worker, a.flow.max_flows_per_worker);
  EXPECT_LE(ctl::total(ctl::worker_memory(b)), 512ull << 20);
}

TEST(MemoryPlan, APlanOverItsBudgetIsRefusedNamingTheLargestConsumers) {
  try {
    parse_config("mode = \"offline\"\n[worker]\nmemory_mb = 64\n[flow]\nmax_flows_per_worker = 1000000\n",
                 "b.toml");
    FAIL() << "a million flows do not fit 64 MiB";
  } catch (const ctl::ConfigErrors& e) {
    ASSERT_EQ(e.errors.size(), 1u) << e.what();
    const std::string s = e.errors[0].str();
    EXPECT_EQ(s.rfind("b.toml:3:13: worker.memory_mb = 64 does not hold the plan", 0), 0u) << s;
    // The flow table is the largest, and named first with its key.
    EXPECT_NE(s.find("the largest: flow table and per-flow state"), std::string::npos) << s;
    EXPECT_NE(s.find("(flow.max_flows_per_worker)"), std::string::npos) << s;
  }
}

TEST(MemoryPlan, TheMachineCheckCountsEveryWorkerAndThePool) {
  const auto c = parse_config(kLive, "l.toml");
  const uint64_t per_worker = ctl::total(ctl::worker_memory(c));
  ASSERT_GT(c.workers.size(), 0u);
  const uint64_t pool = 8192ull * (c.mbuf_data_room + 192);
  const uint64_t need_min = per_worker * c.workers.size();
  EXPECT_EQ(ctl::check_machine(c, 8192, need_min * 4 + pool), "");
  const std::string why = ctl::check_machine(c, 8192, need_min / 2);
  EXPECT_EQ(why.rfind("l.toml needs ", 0), 0u) << why;
  EXPECT_NE(why.find("x " + std::to_string(c.workers.size()) + " worker(s)"), std::string::npos) << why;
  EXPECT_EQ(ctl::check_machine(c, 8192, 0), "") << "unknown machine: no check";
}

// The worker plan: which queues each worker polls and which TX queue it
// owns on each port it relays into.
namespace {

const char kTwoQueues[] = R"(mode = "inline"
[eal]
lcores = "0-2"
memory = "no-huge"
[[ports]]
name = "west"
device = "net_null0"
rx_queues = 2
[[ports]]
name = "east"
device = "net_null1"
rx_queues = 2
[[pairs]]
a = "west"
b = "east"
)";

// Every TX queue a plan uses, per port, must be used by exactly one
// worker and number exactly the TX queues the parser configured.
void expect_tx_queues_owned_once(const ctl::Config& c, const std::vector<ctl::WorkerPlan>& plan) {
  for (size_t p = 0; p < c.ports.size(); p++) {
    std::vector<int> users(c.ports[p].spec.tx_queues, 0);
    for (const auto& w : plan)
      for (const auto& t : w.tx)
        if (t.port == p) {
          ASSERT_LT(t.queue, users.size()) << "port " << p;
          users[t.queue]++;
        }
    for (size_t q = 0; q < users.size(); q++) EXPECT_EQ(users[q], 1) << "port " << p << " txq " << q;
  }
}

// The pool plan: the receive pool and what reassembly may hold of it.
TEST(PoolPlan, TheAutomaticPoolCoversEveryWorkersMemcap) {
  auto c = parse_config(std::string(kTwoQueues) + "[reassembly]\nmemcap_mb = 8\n", "w.toml");
  const ctl::PoolPlan with = ctl::plan_pool(c, UINT64_MAX);
  c.inspect = false;
  const ctl::PoolPlan without = ctl::plan_pool(c, UINT64_MAX);
  // Two workers' 8 MiB of mbuf buffers on top of what the ports need.
  const uint64_t held = 2 * ((uint64_t(8) << 20) / c.mbuf_data_room);
  EXPECT_GE(uint64_t(with.mbufs), uint64_t(without.mbufs) + held);
  EXPECT_EQ(with.memcap_limit, UINT64_MAX);  // sized for it: no limit
  EXPECT_FALSE(with.memcap_cut);
}

TEST(PoolPlan, OfflineHoldsNoMoreThanTheCaptureHasRecords) {
  auto c = ctl::offline_config("o.pcap", nullptr);
  const ctl::PoolPlan small = ctl::plan_pool(c, 10);
  const ctl::PoolPlan big = ctl::plan_pool(c, UINT64_MAX);
  EXPECT_LT(small.mbufs, big.mbufs);
  c.inspect = false;
  EXPECT_EQ(ctl::plan_pool(c, 10).mbufs, ctl::plan_pool(c, UINT64_MAX).mbufs);
}

TEST(PoolPlan, AHandSizedPoolLimitsReassemblyToHalfWhatIsSpare) {
  auto c = parse_config(std::string(kTwoQueues) + "[mempool]\nmbufs = 65535\n", "w.toml");
  ASSERT_EQ(c.mbufs, 65535u);
  c.inspect = false;
  c.mbufs = 0;
  const uint32_t fixed = ctl::plan_pool(c, UINT64_MAX).mbufs - 4096;
  c.inspect = true;
  c.mbufs = 65535;
  const ctl::PoolPlan p = ctl::plan_pool(c, UINT64_MAX);
  EXPECT_EQ(p.mbufs, 65535u);
  EXPECT_EQ(p.held_per_worker, (65535u - fixed) / 2 / 2);
  EXPECT_EQ(p.memcap_limit, p.held_per_worker * c.mbuf_data_room);
  EXPECT_EQ(p.memcap_cut, p.memcap_limit < (uint64_t(c.reasm.memcap_mb) << 20));
  // A pool smaller than RX and TX need leaves reassembly nothing.
  c.mbufs = fixed / 2;
  const ctl::PoolPlan tiny = ctl::plan_pool(c, UINT64_MAX);
  EXPECT_EQ(tiny.held_per_worker, 0u);
  EXPECT_EQ(tiny.memcap_limit, 0u);
  EXPECT_TRUE(tiny.memcap_cut);
}

}  // namespace

TEST(WorkerPlan, InlineWorkersEachOwnATxQueueOnThePeer) {
  const auto c = parse_config(kTwoQueues, "w.toml");
  const auto plan = ctl::plan_workers(c);
  ASSERT_EQ(plan.size(), 2u);
  for (size_t w = 0; w < plan.size(); w++) {
    EXPECT_EQ(plan[w].lcore, c.workers[w].lcore);
    ASSERT_EQ(plan[w].rx.size(), 2u);   // west:w and east:w
    ASSERT_EQ(plan[w].tx.size(), 2u);   // into east and into west
    for (const auto& r : plan[w].rx) {
      EXPECT_EQ(r.queue, w);
      ASSERT_LT(r.tx_slot, plan[w].tx.size());
      // A frame from one side leaves by the other.
      EXPECT_EQ(plan[w].tx[r.tx_slot].port, r.port == 0 ? 1u : 0u);
      EXPECT_EQ(plan[w].tx[r.tx_slot].queue, w);
    }
  }
  expect_tx_queues_owned_once(c, plan);
}

TEST(WorkerPlan, QueuesOfOnePortShareTheWorkersOneTxBuffer) {
  // Worker 0 polls both of west's queues: one buffer into east, not two.
  const auto c = parse_config(std::string(kTwoQueues) +
                                  "[[workers]]\nlcore = 1\nqueues = [\"west:0\", \"west:1\"]\n"
                                  "[[workers]]\nlcore = 2\nqueues = [\"east:0\", \"east:1\"]\n",
                              "w.toml");
  const auto plan = ctl::plan_workers(c);
  ASSERT_EQ(plan.size(), 2u);
  ASSERT_EQ(plan[0].tx.size(), 1u);
  EXPECT_EQ(plan[0].tx[0].port, 1u);
  EXPECT_EQ(plan[0].tx[0].queue, 0u);
  ASSERT_EQ(plan[0].rx.size(), 2u);
  EXPECT_EQ(plan[0].rx[0].tx_slot, 0u);
  EXPECT_EQ(plan[0].rx[1].tx_slot, 0u);
  ASSERT_EQ(plan[1].tx.size(), 1u);
  EXPECT_EQ(plan[1].tx[0].port, 0u);
  EXPECT_EQ(plan[1].tx[0].queue, 0u);
  expect_tx_queues_owned_once(c, plan);
  EXPECT_EQ(ctl::queue_owners(c, 0), (std::vector<int16_t>{0, 0}));
  EXPECT_EQ(ctl::queue_owners(c, 1), (std::vector<int16_t>{1, 1}));
}

TEST(WorkerPlan, ThirdWorkerTakesTheNextTxQueue) {
  // Three workers relaying west -> east: east's TX queues 0, 1, 2 in
  // worker order, and east's own queue is relayed by worker 2 alone.
  std::string f = kTwoQueues;
  f.replace(f.find("\"0-2\""), 5, "\"0-3\"");
  f.replace(f.find("rx_queues = 2"), 13, "rx_queues = 3");
  f.replace(f.find("rx_queues = 2"), 13, "rx_queues = 1");
  const auto c = parse_config(f +
                                  "[[workers]]\nlcore = 1\nqueues = [\"west:0\"]\n"
                                  "[[workers]]\nlcore = 2\nqueues = [\"west:1\"]\n"
                                  "[[workers]]\nlcore = 3\nqueues = [\"west:2\", \"east:0\"]\n",
                              "w.toml");
  const auto plan = ctl::plan_workers(c);
  ASSERT_EQ(plan.size(), 3u);
  for (unsigned w = 0; w < 3; w++) {
    ASSERT_GE(plan[w].tx.size(), 1u);
    EXPECT_EQ(plan[w].tx[0].port, 1u);
    EXPECT_EQ(plan[w].tx[0].queue, w);
  }
  ASSERT_EQ(plan[2].tx.size(), 2u);
  EXPECT_EQ(plan[2].tx[1].port, 0u);
  EXPECT_EQ(plan[2].tx[1].queue, 0u);
  EXPECT_EQ(plan[2].rx[1].tx_slot, 1u);
  expect_tx_queues_owned_once(c, plan);
  EXPECT_EQ(ctl::queue_owners(c, 0), (std::vector<int16_t>{0, 1, 2}));
}

TEST(WorkerPlan, PassiveAndOfflineWorkersRelayNowhere) {
  const auto passive = parse_config(R"(mode = "passive"
[eal]
lcores = "0-1"
memory = "no-huge"
[[ports]]
name = "tap"
device = "net_null0"
rx_queues = 2
)",
                                    "p.toml");
  const auto offline = ctl::offline_config("o.pcap", nullptr);
  for (const ctl::Config* c : {&passive, &offline}) {
    const auto plan = ctl::plan_workers(*c);
    ASSERT_FALSE(plan.empty());
    size_t queues = 0;
    for (const auto& w : plan) {
      EXPECT_TRUE(w.tx.empty());
      for (const auto& r : w.rx) EXPECT_EQ(r.tx_slot, core::kNoTx);
      queues += w.rx.size();
    }
    size_t rx = 0;
    for (const auto& p : c->ports) rx += p.spec.rx_queues;
    EXPECT_EQ(queues, rx);  // every RX queue polled, by one worker
  }
}
