// The /loom/ telemetry commands over DPDK's real socket: every library's
// registration (ctl::register_telemetry wires them all), queried as
// dpdk-telemetry.py would, over a small real run. Two workers each run
// the real poll loop (core::worker_main) on a net_ring port, whose TX
// comes back on its RX, with an inspect::Stage as the hook: worker 0
// gets three HTTP connections (a request and a response each), worker 1
// twelve handshakes. A SinkSet writes records from a ring to a file. The
// replies are parsed as JSON and checked against what was sent.
//
// Its own binary: the unit tests start EAL without telemetry
// (tests/eal_env.h), this one with it, under a prefix of its own.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include "../stage_harness.h"
#include "ctl/runtime.h"
#include "ctl/telemetry.h"
#include "flow/flow.h"
#include "pkt/parse.h"
#include "reasm/reasm.h"
#include "tcp/track.h"

namespace {

using json = nlohmann::json;
using loomtest::ACK;
using loomtest::Ep;
using loomtest::frame;
using loomtest::PSH;
using loomtest::SYN;

constexpr unsigned kHttpConns = 3;   // worker 0
constexpr unsigned kSynConns = 12;   // worker 1
const std::string kRequest = "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n";
const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
constexpr uint32_t kServer = 0xC6120202;  // 198.18.2.2:80


/* Sends the frames on `port` (they come back on its RX queue). */
bool inject(uint16_t port, const std::vector<std::vector<uint8_t>>& frames) {
  for (const auto& f : frames) {
    rte_mbuf* m = loomtest::mbuf_of(f.data(), uint16_t(f.size()));
    if (!m || rte_eth_tx_burst(port, 0, &m, 1) != 1) return false;
  }
  return true;
}

std::vector<std::vector<uint8_t>> http_conn(Ep c, Ep s) {
  return {frame(c, s, 100, 0, SYN),
          frame(s, c, 500, 101, SYN | ACK),
          frame(c, s, 101, 501, ACK),
          frame(c, s, 101, 501, PSH | ACK, kRequest),
          frame(s, c, 501, 101 + uint32_t(kRequest.size()), PSH | ACK, kResponse)};
}

/* One text record for the sink: what the ring carries. */
struct Rec {
  char text[48];
};

/* What the tests query: a Runtime as app::run builds it, smaller. */
struct World {
  ctl::Runtime rt;
  std::vector<uint64_t> frames;  // sent per worker
  std::string out_path;
  rte_ring* ring = nullptr;
  rte_mempool* pool = nullptr;
  uint64_t sink_bytes = 0;
  static constexpr unsigned kSinkRecords = 40;
  std::string error;

  void build() {
    if (!loomtest::test_pool()) return void(error = "EAL");
    // Registered while nothing is ready: the socket answers "starting".
    ctl::register_telemetry(&rt);
    rt.version = "test";
    for (unsigned w = 0; w < 2; w++) {
      const std::string name = "net_ring_tel" + std::to_string(w);
      const uint16_t port = loomtest::ring_port(name);
      if (port == UINT16_MAX) return void(error = "port " + name);
      port::PortState ps;
      ps.spec.name = "r" + std::to_string(w);
      ps.spec.rx_queues = ps.spec.tx_queues = 1;
      ps.port_id = port;
      ps.driver = "net_ring";
      rt.ports.push_back(ps);
      rt.links.add(port, ps.spec.name, true);

      inspect::Config c;
      c.table.max_flows = 256;
      c.ofo_nodes = 1024;
      c.record_ring = 1024;
      c.idle_sweep = false;
      rt.stages.push_back(std::make_unique<inspect::Stage>(c, 200 + w, 0, std::vector<inspect::PortRss>{}));
      auto wc = std::make_unique<core::WorkerCtx>();
      wc->id = w;
      wc->lcore = 10 + w;
      wc->pool = loomtest::test_pool();
      core::RxQueue q;
      q.port = port;  // passive: read, inspected, freed
      wc->rxq.push_back(q);
      wc->hook = inspect::Stage::burst_hook;
      wc->idle_hook = inspect::Stage::idle_hook;
      wc->hook_ctx = rt.stages.back().get();
      rt.workers.push_back(std::move(wc));
    }
    std::vector<inspect::Stage*> st;
    for (auto& s : rt.stages) st.push_back(s.get());
    rt.rules.attach(st);
    rt.link_types.assign(rt.ports.back().port_id + 1, uint16_t(pkt::kLinkEthernet));

    std::vector<std::vector<uint8_t>> f0, f1;
    for (unsigned i = 0; i < kHttpConns; i++)
      for (auto& f : http_conn({0xC6120101 + i, uint16_t(40000 + i)}, {kServer, 80})) f0.push_back(f);
    for (unsigned i = 0; i < kSynConns; i++) {
      const Ep c{0xC6120301 + i, uint16_t(50000 + i)}, s{kServer, 80};
      f1.push_back(frame(c, s, 7, 0, SYN));
      f1.push_back(frame(s, c, 9, 8, SYN | ACK));
    }
    frames = {f0.size(), f1.size()};
    if (!inject(rt.ports[0].port_id, f0) || !inject(rt.ports[1].port_id, f1)) return void(error = "inject");
    std::vector<std::thread> loops;
    for (auto& w : rt.workers) loops.emplace_back([&w] { core::worker_main(w.get()); });
    for (unsigned w = 0; w < 2; w++)
      while (rt.workers[w]->stats.rx_packets.get() < frames[w]) std::this_thread::yield();
    core::request_stop();
    for (auto& t : loops) t.join();
    core::g_stop = false;

    // One output: records from a ring, written by the sink set.
    const unsigned n = loomtest::next_name();
    ring = rte_ring_create(("tel_ring" + std::to_string(n)).c_str(), 64, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
    pool = rte_mempool_create(("tel_pool" + std::to_string(n)).c_str(), 63, sizeof(Rec), 0, 0, nullptr,
                              nullptr, nullptr, nullptr, 0, 0);
    if (!ring || !pool) return void(error = "ring/pool");
    out_path = "/tmp/loom_telemetry_test_" + std::to_string(getpid()) + ".jsonl";
    sink::FileSpec fs;
    fs.name = "messages";
    fs.path = out_path;
    fs.format = [](const void* r) { return std::string(static_cast<const Rec*>(r)->text) + "\n"; };
    if (!rt.sinks.add({fs}, {sink::Source{ring, pool}})) return void(error = "sink add");
    for (unsigned i = 0; i < kSinkRecords; i++) {
      void* obj;
      if (rte_mempool_get(pool, &obj) != 0) return void(error = "pool get");
      std::snprintf(static_cast<Rec*>(obj)->text, sizeof(Rec::text), "{\"n\":%u}", i);
      sink_bytes += std::strlen(static_cast<Rec*>(obj)->text) + 1;
      if (rte_ring_enqueue(ring, obj) != 0) return void(error = "enqueue");
      if (i % 16 == 15) rt.sinks.drain_now();
    }
    rt.sinks.drain_now();
    std::remove(out_path.c_str());  // the counters stay; the file was only the sink's
  }
};

World& world() {
  // Never destroyed: the telemetry thread may answer until the process ends.
  static World* w = [] {
    auto* p = new World;
    p->build();
    return p;
  }();
  return *w;
}

/* A client of the telemetry socket, as dpdk-telemetry.py is. */
class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  void connect() {
    fd_ = ::socket(AF_UNIX, SOCK_SEQPACKET, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s/dpdk_telemetry.v2", rte_eal_get_runtime_dir());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    info_ = read();  // the socket first says who it is
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  const std::string& info() const { return info_; }

  /* Sends one command line; the raw reply. */
  std::string raw(const std::string& cmd) {
    if (::write(fd_, cmd.data(), cmd.size()) != ssize_t(cmd.size())) return "";
    return read();
  }
  /* The reply's value for `cmd` (null for a refused parameter). */
  json query(const std::string& cmd) {
    const std::string r = raw(cmd);
    EXPECT_LT(r.size(), 16384u) << cmd;  // DPDK's reply limit: a reply is cut beyond it
    const json j = json::parse(r, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << cmd << ": " << r;
    const std::string key = cmd.substr(0, cmd.find(','));
    EXPECT_TRUE(j.is_object() && j.contains(key)) << cmd << ": " << r;
    return j.is_object() && j.contains(key) ? j[key] : json();
  }

 private:
  std::string read() {
    std::vector<char> b(65536);
    const ssize_t n = ::recv(fd_, b.data(), b.size(), 0);
    return n > 0 ? std::string(b.data(), size_t(n)) : "";
  }
  int fd_ = -1;
  std::string info_;
};

class TelemetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(world().error, "");
    c.connect();
    ASSERT_TRUE(c.ok()) << "no telemetry socket in " << rte_eal_get_runtime_dir();
    world().rt.ready.store(true);
  }
  ctl::Runtime& rt() { return world().rt; }
  Client c;
};

TEST_F(TelemetryTest, SocketGreetsWithItsInfo) {
  const json j = json::parse(c.info(), nullptr, false);
  ASSERT_TRUE(j.is_object()) << c.info();
  EXPECT_TRUE(j.contains("version"));
  EXPECT_EQ(j.value("max_output_len", 0), 16384);
}

TEST_F(TelemetryTest, EveryLoomCommandIsRegisteredWithItsHelp) {
  const json list = c.query("/");
  std::set<std::string> loom;
  for (const auto& n : list)
    if (n.get<std::string>().rfind("/loom/", 0) == 0) loom.insert(n.get<std::string>());
  const std::set<std::string> want = {"/loom/info",  "/loom/ports",      "/loom/workers",    "/loom/flows",
                                      "/loom/decap", "/loom/reasm",      "/loom/outputs",    "/loom/http",
                                      "/loom/top_flows", "/loom/flow",   "/loom/drops",      "/loom/collectors",
                                      "/loom/latency", "/loom/rules",    "/loom/rules_reload"};
  EXPECT_EQ(loom, want);
  // Each help as docs/operations.md's table quotes it.
  std::ifstream docs(LOOM_SOURCE_DIR "/docs/operations.md");
  std::map<std::string, std::string> rows;
  for (std::string l; std::getline(docs, l);)
    if (l.rfind("| `/loom/", 0) == 0) {
      const size_t e = l.find('`', 3);
      const size_t h = l.find("| ", e) + 2;
      rows[l.substr(3, e - 3)] = l.substr(h, l.find(" |", h) - h);
    }
  for (const std::string& cmd : want) {
    Client one;  // /help answers per connection as any command does
    one.connect();
    const json h = one.query("/help," + cmd);
    ASSERT_TRUE(h.is_object()) << cmd;
    EXPECT_EQ(h.value(cmd, ""), rows[cmd]) << cmd;
  }
}

TEST_F(TelemetryTest, StartingUntilReady) {
  rt().ready.store(false);
  for (const char* cmd : {"/loom/flows", "/loom/workers", "/loom/ports", "/loom/outputs", "/loom/top_flows",
                          "/loom/http,0", "/loom/rules", "/loom/latency"})
    EXPECT_EQ(c.query(cmd), json({{"status", "starting"}})) << cmd;
  EXPECT_EQ(c.query("/loom/info").value("status", ""), "starting");
  // /loom/drops reads only the lists: it answers at once.
  EXPECT_TRUE(c.query("/loom/drops").contains("drop_tx_full"));
  rt().ready.store(true);
  EXPECT_EQ(c.query("/loom/info").value("status", ""), "running");
}

TEST_F(TelemetryTest, InfoSaysWhatRuns) {
  const json j = c.query("/loom/info");
  EXPECT_EQ(j.value("version", ""), "test");
  EXPECT_EQ(j.value("config", ""), "(none)");
  EXPECT_EQ(j.value("ports", 0), 2);
  EXPECT_EQ(j.value("workers", 0), 2);
}

TEST_F(TelemetryTest, FlowsCountWhatWasSentAndAWorkerIdSelectsOne) {
  const json all = c.query("/loom/flows");
  EXPECT_EQ(all.value("flows_active", 0), int(kHttpConns + kSynConns));
  EXPECT_EQ(all.value("flows_inserts", 0), int(kHttpConns + kSynConns));
  EXPECT_EQ(all.value("capacity", 0), 2 * 256);
  EXPECT_EQ(all.value("bytes_per_flow", uint64_t(0)), rt().stages[0]->bytes_per_flow());
  // What an operator reads: the flow, its index and free-stack entries, the
  // connection record, and (this stage writes streams) the fingerprints.
  EXPECT_EQ(all.value("bytes_per_flow", uint64_t(0)),
            sizeof(flow::Flow) + 12 + sizeof(inspect::Conn) + 2 * sizeof(inspect::StreamSide));
  EXPECT_EQ(all.value("bytes_per_flow", uint64_t(0)), 540u);
  EXPECT_EQ(all.value("bytes_per_http_conn", uint64_t(0)), 316u);
  EXPECT_EQ(all.value("bytes_per_http_conn", uint64_t(0)), inspect::Stage::bytes_per_http());
  EXPECT_EQ(c.query("/loom/flows,0").value("flows_active", 0), int(kHttpConns));
  EXPECT_EQ(c.query("/loom/flows,1").value("flows_active", 0), int(kSynConns));
  EXPECT_EQ(c.query("/loom/flows,1").value("capacity", 0), 256);
}

TEST_F(TelemetryTest, BadParametersGetNull) {
  for (const char* cmd : {"/loom/flows,2", "/loom/flows,x", "/loom/reasm,-1", "/loom/http,9", "/loom/workers,2",
                          "/loom/ports,2", "/loom/decap,1a", "/loom/top_flows,p", "/loom/flow"})
    EXPECT_TRUE(c.query(cmd).is_null()) << cmd;
}

TEST_F(TelemetryTest, HttpCountsTheMessagesFed) {
  const json j = c.query("/loom/http");
  EXPECT_EQ(j.value("http_requests", 0), int(kHttpConns));
  EXPECT_EQ(j.value("http_responses", 0), int(kHttpConns));
  EXPECT_EQ(j.value("http_parse_errors", -1), 0);
  EXPECT_EQ(c.query("/loom/http,1").value("http_requests", -1), 0);
  EXPECT_TRUE(j.contains("http_verdicts_record"));
}

TEST_F(TelemetryTest, ReasmCountsDeliveredBytes) {
  const json j = c.query("/loom/reasm,0");
  EXPECT_EQ(j.value("reasm_bytes_delivered", 0), int(kHttpConns * (kRequest.size() + kResponse.size())));
  EXPECT_EQ(c.query("/loom/reasm,1").value("reasm_bytes_delivered", -1), 0);
  EXPECT_EQ(j.value("streams_tcp_packets", 0), int(world().frames[0]));
}

TEST_F(TelemetryTest, WorkersShowEachLoopsCounters) {
  const json all = c.query("/loom/workers");
  EXPECT_EQ(all.value("workers", 0), 2);
  EXPECT_EQ(all.value("rx_packets", 0), int(world().frames[0] + world().frames[1]));
  // Bytes are the ports' (ethdev's), summed; net_ring counts none.
  uint64_t bytes = 0;
  for (const auto& p : rt().ports) {
    rte_eth_stats s{};
    rte_eth_stats_get(p.port_id, &s);
    bytes += s.ibytes;
  }
  EXPECT_EQ(all.value("rx_bytes", UINT64_MAX), bytes);
  for (unsigned w = 0; w < 2; w++) {
    const json short_ = all["worker" + std::to_string(w)];
    EXPECT_EQ(short_.value("id", -1), int(w));
    EXPECT_EQ(short_.value("lcore", 0), int(10 + w));
    EXPECT_EQ(short_.value("rx_packets", 0), int(world().frames[w]));
    EXPECT_FALSE(short_.contains("pkt_tcp")) << "parse counters only with ,N";
    const json one = c.query("/loom/workers," + std::to_string(w));
    EXPECT_EQ(one.value("id", -1), int(w));
    EXPECT_EQ(one.value("rx_packets", 0), int(world().frames[w]));
    EXPECT_EQ(one.value("streams_tcp_packets", 0), int(world().frames[w]));
    EXPECT_EQ(one.value("pkt_tcp", 0), int(world().frames[w]));
    EXPECT_EQ(one.value("malformed_truncated_tcp", -1), 0);
    EXPECT_TRUE(one.contains("encap_vxlan"));
    EXPECT_FALSE(one.contains("flows_active")) << "flows are /loom/flows,N's";
  }
}

TEST_F(TelemetryTest, PortsShowTheirEthdevCounters) {
  const json all = c.query("/loom/ports");
  for (unsigned w = 0; w < 2; w++) {
    const json p = all["r" + std::to_string(w)];
    EXPECT_EQ(p.value("driver", ""), "net_ring");
    EXPECT_EQ(p.value("rx_packets", 0), int(world().frames[w]));
    EXPECT_EQ(p.value("tx_packets", 0), int(world().frames[w]));
    EXPECT_FALSE(p.contains("q_rx_packets"));
  }
  const json one = c.query("/loom/ports,1");
  EXPECT_EQ(one.value("name", ""), "r1");
  EXPECT_EQ(one["q_rx_packets"], json::array({world().frames[1]}));
}

TEST_F(TelemetryTest, TopFlowsPagesByBytes) {
  const json p0 = c.query("/loom/top_flows");
  const unsigned n = kHttpConns + kSynConns;
  EXPECT_EQ(p0.value("flows", 0), int(n));
  EXPECT_EQ(p0.value("pages", 0), int((n + 9) / 10));
  uint64_t last = UINT64_MAX;
  for (unsigned i = 0; i < 10; i++) {
    const json f = p0["flow" + std::to_string(i)];
    ASSERT_TRUE(f.is_object()) << i;
    const uint64_t b = f.value("bytes_c2s", uint64_t(0)) + f.value("bytes_s2c", uint64_t(0));
    EXPECT_LE(b, last) << i;
    last = b;
    // The HTTP connections carried the most bytes: they come first.
    EXPECT_EQ(f.value("worker", -1), i < kHttpConns ? 0 : 1) << i;
  }
  EXPECT_FALSE(p0.contains("flow10"));
  const json p1 = c.query("/loom/top_flows,1");
  EXPECT_EQ(p1.value("page", 0), 1);
  for (unsigned i = 10; i < n; i++) EXPECT_TRUE(p1.contains("flow" + std::to_string(i))) << i;
  EXPECT_FALSE(p1.contains("flow9"));
}

TEST_F(TelemetryTest, FlowFindsAnEndpoint) {
  const json one = c.query("/loom/flow,198.18.1.2:40001");
  ASSERT_EQ(one.value("matches", 0), 1) << one.dump();
  const json f = one["flow0"];
  EXPECT_EQ(f.value("client", ""), "198.18.1.2:40001");
  EXPECT_EQ(f.value("server", ""), "198.18.2.2:80");
  EXPECT_EQ(f.value("delivered_c2s", 0), int(kRequest.size()));
  EXPECT_EQ(f.value("delivered_s2c", 0), int(kResponse.size()));
  EXPECT_EQ(f.value("packets_c2s", 0), 3);
  EXPECT_EQ(f.value("packets_s2c", 0), 2);
  // An address alone: every flow of that server, 10 at most in a reply.
  const json srv = c.query("/loom/flow,198.18.2.2");
  EXPECT_EQ(srv.value("matches", 0), int(kHttpConns + kSynConns));
  EXPECT_TRUE(srv.contains("flow9"));
  EXPECT_FALSE(srv.contains("flow10"));
  EXPECT_EQ(c.query("/loom/flow,10.0.0.1:1").value("matches", -1), 0);
}

TEST_F(TelemetryTest, DropsExplainEveryListedCounter) {
  const json j = c.query("/loom/drops");
  std::map<std::string, std::string> want;
  for (size_t i = 0; i < core::kNumDrops; i++) want[std::string("drop_") + core::kDropNames[i]] = core::kDropHelp[i];
  for (size_t i = 0; i < pkt::kNumMalformed; i++)
    want[std::string("malformed_") + pkt::kMalformedNames[i]] = pkt::kMalformedHelp[i];
  auto block = [&](const char* b, const auto& stats) {
    stats.visit([&](const char* name, core::CounterKind, const char* help, const core::Counter&) {
      want[std::string(b) + "_" + name] = help;
    });
  };
  block("flows", flow::TableStats{});
  block("tcp", tcp::Stats{});
  block("reasm", reasm::Stats{});
  block("streams", inspect::Stats{});
  for (const auto& [k, help] : want) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j[k].get<std::string>(), help) << k;
  }
  EXPECT_TRUE(j.contains("pkt_rst_skipped_encap"));
  EXPECT_EQ(j.size(), want.size() + 1);  // nothing else, nothing twice
}

TEST_F(TelemetryTest, DecapNamesEachPortsLinkType) {
  const json j = c.query("/loom/decap");
  EXPECT_EQ(j.value("link_r0", ""), "ethernet");
  EXPECT_EQ(j.value("link_r1", ""), "ethernet");
  EXPECT_EQ(j.value("pkt_tcp", 0), int(world().frames[0] + world().frames[1])) << j.dump();
}

TEST_F(TelemetryTest, OutputsCountWhatTheSinkWrote) {
  const json j = c.query("/loom/outputs");
  const json o = j["messages"];
  ASSERT_TRUE(o.is_object()) << j.dump();
  EXPECT_EQ(o.value("path", ""), world().out_path);
  EXPECT_EQ(o.value("written", 0), int(World::kSinkRecords));
  EXPECT_EQ(o.value("bytes", uint64_t(0)), world().sink_bytes);
  EXPECT_EQ(o.value("ring_depth", -1), 0);
  EXPECT_EQ(o.value("dropped", -1), 0);
  EXPECT_FALSE(j.contains("mirror_copies")) << "no [mirror]";
}

TEST_F(TelemetryTest, LatencyOffAndNoCollectors) {
  EXPECT_EQ(c.query("/loom/latency").value("status", ""), "off: set worker.latency = true");
  EXPECT_EQ(c.query("/loom/collectors").value("status", ""), "no [[collectors]]");
}

TEST_F(TelemetryTest, CollectorsShowTheProbersViewAndTheWorkersCopies) {
  // A prober on a port of its own, polled once by the test: one ARP
  // request per collector sent, one probe each planned (none can leave
  // without a MAC); the copies are the stages' counters.
  const uint16_t port = loomtest::ring_port("net_ring_telm");
  ASSERT_NE(port, UINT16_MAX);
  mirror::ProberConfig pc;
  pc.collectors = {{"eu-1", 0x0A62000B, 1.0}, {"us_2", 0x0A62000C, 2.0}};
  pc.choice.full_tries = 1;
  pc.choice.stagger_ns = 0;  // the first poll probes both
  pc.choice.fallback_key = "telemetry";
  mirror::ProberPort pp;
  pp.port = port;
  pp.pool = loomtest::test_pool();
  pp.base.src_ip = 0x0A620001;
  rt().prober = std::make_unique<mirror::Prober>(pc, pp, nullptr);
  rt().prober->poll(rte_get_tsc_cycles());
  const std::string current = rt().prober->view().current;
  rt().stages[0]->stats.mirrored_to[1].add(7);
  rt().stages[1]->stats.mirrored_to[1].add(5);
  rt().stages[1]->stats.mirror_lost_to[1].add(2);
  rt().stages[0]->stats.mirror_no_collector.add(3);

  const json j = c.query("/loom/collectors");
  rt().prober.reset();
  EXPECT_EQ(j.value("current", ""), current);
  EXPECT_EQ(j.value("switches", -1), 0);
  EXPECT_EQ(j.value("last_reason", ""), "initial");
  EXPECT_EQ(j.value("mirror_no_collector", -1), 3);
  const json c0 = j["c0"], c1 = j["c1"];
  ASSERT_TRUE(c0.is_object() && c1.is_object()) << j.dump();
  EXPECT_FALSE(j.contains("c2"));
  EXPECT_EQ(c0.value("name", ""), "eu-1");
  EXPECT_EQ(c0.value("ip", ""), "10.98.0.11");
  EXPECT_EQ(c1.value("name", ""), "us_2");
  EXPECT_EQ(c1.value("ip", ""), "10.98.0.12");
  for (const json& e : {c0, c1}) {
    EXPECT_EQ(e.value("mac_known", -1), 0);
    EXPECT_EQ(e.value("probes_sent", -1), 1);
    EXPECT_EQ(e.value("probes_answered", -1), 0);
    EXPECT_EQ(e.value("probes_timed_out", -1), 0);
    EXPECT_FALSE(e.contains("last_rtt_us")) << "absent until answered";
    EXPECT_FALSE(e.contains("best_rtt_us"));
  }
  EXPECT_EQ(c0.value("mirrored", -1), 0);
  EXPECT_EQ(c0.value("mirror_dropped", -1), 0);
  EXPECT_EQ(c1.value("mirrored", -1), 12) << "summed over workers";
  EXPECT_EQ(c1.value("mirror_dropped", -1), 2);
  EXPECT_EQ(c.query("/loom/collectors").value("status", ""), "no [[collectors]]");
}

TEST_F(TelemetryTest, LatencySummarisesTheSelectedWorkers) {
  // What a relaying loop records per frame: hold times in TSC cycles.
  core::WorkerCtx& w1 = *rt().workers[1];
  const uint64_t us = rte_get_tsc_hz() / 1000000;
  for (int i = 0; i < 99; i++) w1.hold.add(10 * us);
  w1.hold.add(5000 * us);  // one slow frame: the maximum
  rt().cfg.latency = true;
  const json all = c.query("/loom/latency");
  const json one = c.query("/loom/latency,1"), none = c.query("/loom/latency,0");
  rt().cfg.latency = false;
  EXPECT_EQ(all.value("samples", 0), 100);
  EXPECT_EQ(one.value("samples", 0), 100);
  EXPECT_EQ(none.value("samples", -1), 0);
  EXPECT_EQ(all.value("pre_tx_samples", -1), 0);
  const uint64_t p50 = all.value("p50_ns", uint64_t(0)), max = all.value("max_ns", uint64_t(0));
  EXPECT_GE(p50, 9000u);
  EXPECT_LE(p50, 12000u);  // within the histogram's bucket
  EXPECT_GE(max, 4500000u);
}

TEST_F(TelemetryTest, OutputsShowTheMirrorBlockOnlyWithAMirror) {
  EXPECT_FALSE(c.query("/loom/outputs").contains("mirror_copies"));
  rt().cfg.mirror.enabled = true;
  const json j = c.query("/loom/outputs");
  rt().cfg.mirror.enabled = false;
  for (const char* k : {"mirror_copies", "mirror_truncated", "mirror_no_mbuf", "mirror_tx_full"})
    EXPECT_EQ(j.value(k, -1), 0) << k;
}

/* What a startup file needs besides its rules. */
const char kStartup[] =
    "mode = \"passive\"\n[eal]\nlcores = \"0-1\"\nmemory = \"no-huge\"\n"
    "[[ports]]\nname = \"tap\"\ndevice = \"net_af_packet0,iface=a\"\n";

TEST_F(TelemetryTest, RulesReloadReadsTheStartupFile) {
  const uint64_t before = c.query("/loom/rules").value("rules", uint64_t(0));
  EXPECT_EQ(before, 0u);
  EXPECT_EQ(c.query("/loom/rules_reload").value("error", ""), "no startup file to reload the rules from");
  const std::string path = "/tmp/loom_telemetry_rules_" + std::to_string(getpid()) + ".toml";
  {
    std::ofstream f(path);
    f << kStartup
      << "[rules]\ndefault = \"record\"\n\n[[rule]]\nname = \"admin\"\naction = \"tag\"\ntag = \"admin\"\n"
         "path = \"^/admin\"\n\n[[rule]]\nname = \"health\"\naction = \"skip\"\npath = { literal = \"/healthz\" }\n";
  }
  rt().cfg.file = path;
  const json ok = c.query("/loom/rules_reload");
  EXPECT_EQ(ok.value("ok", 0), 1) << ok.dump();
  const json r = c.query("/loom/rules");
  EXPECT_EQ(r.value("rules", 0), 2);
  EXPECT_EQ(r["names"], json::array({"admin", "health"}));
  EXPECT_EQ(r["actions"], json::array({"tag", "skip"}));
  EXPECT_EQ(r.value("generation", 0), ok.value("generation", -1));
  // A bad file: refused with the reason, the running rules kept.
  {
    std::ofstream f(path);
    f << kStartup << "[[rule]]\nname = \"x\"\naction = \"explode\"\n";
  }
  const json bad = c.query("/loom/rules_reload");
  EXPECT_EQ(bad.value("ok", 1), 0);
  EXPECT_NE(bad.value("error", ""), "");
  EXPECT_EQ(c.query("/loom/rules").value("rules", 0), 2);
  EXPECT_EQ(c.query("/loom/rules").value("reload_errors", 0), 1);
  rt().cfg.file.clear();
  std::remove(path.c_str());
}

}  // namespace
