// The inspection pipeline in memory, stage by stage (issue: performance).
//
//   pipeline_bench --pcap CAP [--workers 1|2] [--rounds R] [--out-dir DIR] [--truth FILE] [--stage N]
//
// Loads every frame of CAP (perf/gen/loom_gen writes them) into mbufs
// once, stamped with the capture's time as net_pcap would, then feeds them
// to inspect::Stage::burst_hook in bursts of 32, exactly as a worker does
// after rte_eth_rx_burst, once per configuration, adding one stage at a
// time:
//   parse + flow       header parsing, the flow table, TCP states
//   + reassembly       in-order delivery, OFO held by reference
//   + HTTP framing     llhttp per direction, pairing, message records
//   + rules (10)       Hyperscan over every message (10 path/Host rules)
//   + export           message records through a ring to a sink thread
//                      writing messages.jsonl under --out-dir (the issue's
//                      full pipeline ends here)
//   + SHA-256 streams  per-direction fingerprints and streams.jsonl (Loom's
//                      default, beyond the pipeline)
// No file I/O and no NIC on the measured path: what is left is the
// pipeline's own cost. Frames keep one extra reference while in use, so
// every configuration replays the same mbufs. With --workers 2 the frames
// are split by a symmetric hash of their addresses and ports, as RSS
// would, and two threads run a Stage each (the sink then shares the CPUs).
//
// --carry 0 frames without carrying any header into the records (Loom's
// default carries [http] headers' three; --carry 1, the default here).
//
// Prints a markdown table: Mpps, Gbit/s (frame bytes) and cycles per
// packet (of the busiest worker), the best of --rounds runs. With --truth
// (loom_gen's stdout), each configuration's counts must equal it —
// connections, delivered stream bytes, requests and responses — so a
// fast number from a pipeline that lost work cannot pass; the last line
// is then "pipeline: N passed, M failed" and the exit status 1 on a miss.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "inspect/stage.h"
#include "join/format.h"
#include "match/match.h"
#include "sink/sink.h"

namespace {

struct Frame {
  uint64_t ts_us;
  std::string bytes;
};

std::vector<Frame> read_pcap(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string d((std::istreambuf_iterator<char>(f)), {});
  std::vector<Frame> out;
  if (d.size() < 24) return out;
  uint32_t magic;
  std::memcpy(&magic, d.data(), 4);
  const bool ns = magic == 0xa1b23c4d;
  for (size_t off = 24; off + 16 <= d.size();) {
    uint32_t h[4];
    std::memcpy(h, d.data() + off, 16);
    if (off + 16 + h[2] > d.size()) break;
    out.push_back({uint64_t(h[0]) * 1000000 + (ns ? h[1] / 1000 : h[1]), d.substr(off + 16, h[2])});
    off += 16 + h[2];
  }
  return out;
}

/* Symmetric: both directions of a connection go to the same worker. */
unsigned worker_of(const std::string& f, unsigned workers) {
  if (workers == 1 || f.size() < 54) return 0;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(f.data());
  size_t l3 = 14;
  if (p[12] == 0x81 && p[13] == 0x00) l3 = 18;
  const bool v6 = p[l3 - 2] == 0x86;
  const size_t alen = v6 ? 16 : 4, aoff = v6 ? 8 : 12, l4 = l3 + (v6 ? 40 : (p[l3] & 15) * 4);
  uint32_t h = 0;
  for (size_t i = 0; i < alen; i++) h += uint32_t(p[l3 + aoff + i]) ^ uint32_t(p[l3 + aoff + alen + i]);
  if (l4 + 4 <= f.size()) h += uint32_t(p[l4] << 8 | p[l4 + 1]) + uint32_t(p[l4 + 2] << 8 | p[l4 + 3]);
  return (h * 2654435761u >> 16) % workers;
}

match::RuleSet ten_rules() {
  match::RuleSet set;
  for (int i = 0; i < 10; i++) {
    match::Rule r;
    r.name = "r" + std::to_string(i);
    r.action = match::Action::kTag;
    r.tag = "t";
    match::Condition c;
    c.field = i % 2 ? match::Field::kPath : match::Field::kHost;
    c.pattern = (i % 2 ? "^/svc" : "^api") + std::to_string(i) + (i % 2 ? "/" : "\\.example$");
    r.conds.push_back(c);
    set.rules.push_back(r);
  }
  return set;
}

struct Stage {
  const char* name;
  bool reassemble, streams, http, rules, exported;
};

/* Empties a stage's rings when nothing reads them (drain callback). */
void discard(void* p) {
  auto* st = static_cast<inspect::Stage*>(p);
  void* r;
  while (st->ring() && rte_ring_sc_dequeue(st->ring(), &r) == 0) rte_mempool_put(st->record_pool(), r);
  while (st->message_ring() && rte_ring_sc_dequeue(st->message_ring(), &r) == 0) {
    inspect::Stage::release_message(st, r);
    inspect::Stage::put(r);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string pcap, out_dir = "/dev/shm", truth_file;
  unsigned workers = 1, rounds = 3, only = 0;
  bool carry = true;  // Loom's default [http] headers, as a run carries them
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--pcap") pcap = argv[i + 1];
    else if (a == "--workers") workers = unsigned(std::atoi(argv[i + 1]));
    else if (a == "--rounds") rounds = unsigned(std::atoi(argv[i + 1]));
    else if (a == "--out-dir") out_dir = argv[i + 1];
    else if (a == "--truth") truth_file = argv[i + 1];
    else if (a == "--stage") only = unsigned(std::atoi(argv[i + 1]));  // one row, for a profiler
    else if (a == "--carry") carry = std::atoi(argv[i + 1]) != 0;  // 0: no [http] headers carried
  }
  if (pcap.empty() || workers < 1 || workers > 2 || rounds < 1) {
    std::fprintf(stderr, "usage: pipeline_bench --pcap CAP [--workers 1|2] [--rounds R] [--out-dir DIR] [--truth FILE] [--stage N] [--carry 0|1]\n");
    return 2;
  }
  const std::vector<Frame> frames = read_pcap(pcap);
  if (frames.empty()) {
    std::fprintf(stderr, "pipeline_bench: no frames in %s\n", pcap.c_str());
    return 1;
  }
  uint64_t bytes = 0;
  for (const Frame& f : frames) bytes += f.bytes.size();
  // Memory: every frame in an mbuf, plus what reassembly and records hold.
  const unsigned mb = unsigned((frames.size() * 2560 >> 20) + 2048 * workers + 256);
  std::vector<std::string> args = {"pipeline_bench", "--no-huge", "-m", std::to_string(mb),
                                   "--no-pci", "--no-telemetry", "-l", "0",
                                   "--file-prefix=pbench" + std::to_string(getpid()), "--log-level=warning"};
  std::vector<char*> av;
  for (auto& s : args) av.push_back(s.data());
  auto die = [](const char* what) {
    std::fprintf(stderr, "pipeline_bench: %s: %s\n", what, rte_strerror(rte_errno));
    return 1;
  };
  if (rte_eal_init(int(av.size()), av.data()) < 0) return die("EAL");
  int ts_off;
  uint64_t ts_flag;
  if (rte_mbuf_dyn_rx_timestamp_register(&ts_off, &ts_flag) != 0) return die("timestamp field");
  rte_mempool* pool = rte_pktmbuf_pool_create("bench", unsigned(frames.size() + 65536), 256, 0,
                                              2048 + RTE_PKTMBUF_HEADROOM, 0);
  if (!pool) return die("mbuf pool");
  std::vector<std::vector<rte_mbuf*>> per(workers);
  for (const Frame& f : frames) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return die("mbuf");
    std::memcpy(rte_pktmbuf_append(m, uint16_t(f.bytes.size())), f.bytes.data(), f.bytes.size());
    *RTE_MBUF_DYNFIELD(m, ts_off, rte_mbuf_timestamp_t*) = f.ts_us;
    m->ol_flags |= ts_flag;
    per[worker_of(f.bytes, workers)].push_back(m);
  }
  std::map<std::string, uint64_t> truth;
  if (!truth_file.empty()) {
    std::ifstream t(truth_file);
    std::string k;
    uint64_t v;
    while (t >> k >> v) truth[k] = v;
  }
  unsigned passed = 0, failed = 0;
  if (!truth.empty()) truth["stream_bytes"] = truth["stream_bytes_c2s"] + truth["stream_bytes_s2c"];
  const bool check = !truth.empty();
  auto expect = [&](const char* stage, const char* what, uint64_t got, const char* key) {
    if (!check) return;
    const auto it = truth.find(key);
    const uint64_t want = it == truth.end() ? 0 : it->second;
    if (got == want) {
      passed++;
    } else {
      failed++;
      std::fprintf(stderr, "FAIL: %s: %s %" PRIu64 ", truth %" PRIu64 "\n", stage, what, got, want);
    }
  };
  std::vector<match::CompileError> errs;
  auto db = match::Database::compile(ten_rules(), &errs);

  const Stage stages[] = {
      {"parse + flow", false, false, false, false, false},
      {"+ reassembly", true, false, false, false, false},
      {"+ HTTP framing", true, false, true, false, false},
      {"+ rules (10)", true, false, true, true, false},
      {"+ export (messages.jsonl)", true, false, true, true, true},
      {"+ SHA-256 fingerprints (streams.jsonl)", true, true, true, true, true},
  };
  std::printf("%s: %zu frames, %.0f bytes/frame, %u worker(s), best of %u\n\n", pcap.c_str(),
              frames.size(), double(bytes) / double(frames.size()), workers, rounds);
  std::printf("| stage | Mpps | Gbit/s | cycles/packet |\n|---|---:|---:|---:|\n");
  const double hz = double(rte_get_tsc_hz());
  for (const Stage& sc : stages) {
    if (only && &sc != &stages[only - 1]) continue;
    double best = 1e30;
    uint64_t best_cycles = 0, busiest = 0;
    for (unsigned round = 0; round < rounds; round++) {
      inspect::Config ic;
      ic.table.max_flows = 65536;
      ic.reassemble = sc.reassemble;
      ic.streams = sc.streams;
      ic.http = sc.http;
      ic.http_records = sc.http;
      ic.message_files = sc.exported;
      ic.idle_sweep = false;
      if (carry) {
        ic.carry_headers = {"user-agent", "content-type", "x-forwarded-for"};
        ic.carry_bytes = 512;
      }
      ic.lossless = sc.exported;  // export: nothing dropped, the sink keeps up or the worker waits
      inspect::PortRss rss;
      rss.ts_unit_ns = 1000;
      std::vector<std::unique_ptr<inspect::Stage>> st;
      std::vector<std::unique_ptr<match::Scratch>> scratch;
      std::vector<std::unique_ptr<match::Counters>> counters;
      std::vector<inspect::ActiveRules> active(workers);
      for (unsigned w = 0; w < workers; w++) {
        st.push_back(std::make_unique<inspect::Stage>(ic, w, 0, std::vector<inspect::PortRss>{rss}));
        if (sc.rules && db) {
          scratch.push_back(std::make_unique<match::Scratch>(*db));
          counters.push_back(std::make_unique<match::Counters>(db->rules().rules.size()));
          active[w] = {db.get(), scratch.back().get(), counters.back().get(), 1};
          st[w]->offer_rules(&active[w]);
        }
      }
      sink::SinkSet sinks;
      const std::string dir = out_dir + "/pbench-" + std::to_string(getpid());
      if (sc.exported) {
        std::vector<sink::Source> s_src, m_src;
        for (auto& s : st) {
          s_src.push_back({s->ring(), s->record_pool(), nullptr, nullptr});
          m_src.push_back({s->message_ring(), s->message_pool(), &inspect::Stage::release_message, s.get()});
        }
        (void)!std::system(("mkdir -p " + dir).c_str());
        if (sc.streams)
          sinks.add({{"streams", dir + "/streams.jsonl",
                      [](const void* r) { return join::stream_json(*static_cast<const inspect::StreamRecord*>(r)); }}},
                    s_src);
        sinks.add({{"messages", dir + "/messages.jsonl",
                    [](const void* r) { return join::message_json(*static_cast<const http::Message*>(r)); }}},
                  m_src);
        sinks.start(1);
      }
      std::vector<uint64_t> cycles(workers, 0);
      auto run = [&](unsigned w) {
        if (workers > 1) rte_thread_register();
        core::WorkerCtx ctx;
        core::RxQueue q;
        std::vector<rte_mbuf*>& ms = per[w];
        const uint64_t t0 = rte_rdtsc();
        for (size_t i = 0; i < ms.size(); i += core::kBurst) {
          const uint16_t n = uint16_t(std::min<size_t>(core::kBurst, ms.size() - i));
          rte_mbuf* burst[core::kBurst];
          for (uint16_t k = 0; k < n; k++) {
            burst[k] = ms[i + k];
            rte_mbuf_refcnt_update(burst[k], 1);  // the worker frees its burst; we keep the frame
          }
          const uint16_t kept = inspect::Stage::burst_hook(st[w].get(), ctx, q, burst, n);
          rte_pktmbuf_free_bulk(burst, kept);
        }
        cycles[w] = rte_rdtsc() - t0;
        if (workers > 1) rte_thread_unregister();
      };
      if (workers == 1) {
        run(0);
      } else {
        std::thread a(run, 0), b(run, 1);
        a.join();
        b.join();
      }
      const uint64_t worst = *std::max_element(cycles.begin(), cycles.end());
      const double secs = double(worst) / hz;
      if (secs < best) {
        best = secs;
        const unsigned bw = unsigned(std::max_element(cycles.begin(), cycles.end()) - cycles.begin());
        best_cycles = worst;
        busiest = per[bw].size();
      }
      for (auto& s : st) s->finish(flow::End::kCaptureEnd, sc.exported ? nullptr : discard, s.get());
      if (round == 0) {
        uint64_t conns = 0, delivered = 0, req = 0, resp = 0;
        for (auto& s : st) {
          conns += s->flow_stats.inserts.get() + s->flow_stats.reused.get();
          delivered += s->reasm_stats.bytes_delivered.get();
          req += s->http_stats.requests.get();
          resp += s->http_stats.responses.get();
        }
        expect(sc.name, "connections", conns, "connections");
        if (sc.reassemble) expect(sc.name, "delivered bytes", delivered, "stream_bytes");
        if (sc.http) {
          expect(sc.name, "requests", req, "requests");
          expect(sc.name, "responses", resp, "responses");
        }
      }
      if (sc.exported) {
        sinks.stop();
        (void)!std::system(("rm -rf " + dir).c_str());  // measured, not kept
      }
      for (auto& s : st) discard(s.get());
    }
    std::printf("| %s | %.2f | %.2f | %.0f |\n", sc.name, double(frames.size()) / best / 1e6,
                double(bytes) * 8 / best / 1e9, double(best_cycles) / double(busiest));
    std::fflush(stdout);
  }
  for (auto& v : per)
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
  rte_eal_cleanup();
  if (!check) return 0;
  std::printf("\npipeline: %u passed, %u failed\n", passed, failed);
  return failed ? 1 : 0;
}
