#include "ctl/telemetry.h"

#include <algorithm>
#include <optional>
#include <cstdlib>
#include <cstring>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_telemetry.h>

#include "core/log.h"
#include "ctl/stats_json.h"

namespace ctl {

namespace {

const Runtime* g_rt = nullptr;

void add_u64(rte_tel_data* d, const char* k, uint64_t v) { rte_tel_data_add_dict_u64(d, k, v); }

/* Reply while start-up is still building ports and workers. */
int starting(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "status", "starting");
  return 0;
}

int cmd_info(const char*, const char*, rte_tel_data* d) {
  const Runtime& rt = *g_rt;
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "version", rt.version.c_str());
  rte_tel_data_add_dict_string(d, "config", rt.cfg.file.empty() ? "(none)" : rt.cfg.file.c_str());
  rte_tel_data_add_dict_string(d, "mode", mode_name(rt.cfg.mode));
  if (rt.cfg.mode == Mode::kOffline) rte_tel_data_add_dict_string(d, "pcap", rt.cfg.pcap.c_str());
  rte_tel_data_add_dict_string(d, "status", rt.ready.load(std::memory_order_acquire) ? "running" : "starting");
  if (rt.start_tsc) add_u64(d, "uptime_s", (rte_get_tsc_cycles() - rt.start_tsc) / rte_get_tsc_hz());
  add_u64(d, "ports", rt.ports.size());
  add_u64(d, "workers", rt.workers.size());
  return 0;
}

void port_dict(rte_tel_data* d, const Runtime& rt, const port::PortState& p, bool queues) {
  rte_eth_stats s{};
  rte_eth_stats_get(p.port_id, &s);
  rte_tel_data_add_dict_string(d, "name", p.spec.name.c_str());
  rte_tel_data_add_dict_string(d, "driver", p.driver.c_str());
  add_u64(d, "port_id", p.port_id);
  // Live: the link now (port/link.h); offline: as at set-up.
  const port::LinkWatch::View link = rt.links.view(p.port_id);
  add_u64(d, "link_up", rt.cfg.mode == Mode::kOffline ? p.link_up : link.up);
  add_u64(d, "link_downs", link.downs);
  add_u64(d, "link_down_ms", link.down_ms);
  add_u64(d, "link_speed_mbps", p.link_speed_mbps);
  add_u64(d, "rss_active", p.rss_active);
  add_u64(d, "rss_symmetric", p.rss_active && p.symmetry.symmetric);
  add_u64(d, "rx_queues", p.spec.rx_queues);
  add_u64(d, "tx_queues", p.spec.tx_queues);
  add_u64(d, "rx_packets", s.ipackets);
  add_u64(d, "rx_bytes", s.ibytes);
  add_u64(d, "tx_packets", s.opackets);
  add_u64(d, "tx_bytes", s.obytes);
  add_u64(d, "imissed", s.imissed);
  add_u64(d, "ierrors", s.ierrors);
  add_u64(d, "oerrors", s.oerrors);
  add_u64(d, "rx_nombuf", s.rx_nombuf);
  if (!queues) return;
  // Per-queue counters as arrays indexed by queue (ethdev keeps the first
  // RTE_ETHDEV_QUEUE_STAT_CNTRS queues).
  const unsigned nq = std::min<unsigned>(RTE_ETHDEV_QUEUE_STAT_CNTRS,
                                         std::max(p.spec.rx_queues, p.spec.tx_queues));
  auto arr = [&](const char* name, const uint64_t* v, unsigned n) {
    rte_tel_data* a = rte_tel_data_alloc();
    if (!a) return;
    rte_tel_data_start_array(a, RTE_TEL_U64_VAL);
    for (unsigned i = 0; i < n; i++) rte_tel_data_add_array_u64(a, v[i]);
    rte_tel_data_add_dict_container(d, name, a, 0);
  };
  arr("q_rx_packets", s.q_ipackets, std::min<unsigned>(nq, p.spec.rx_queues));
  arr("q_rx_bytes", s.q_ibytes, std::min<unsigned>(nq, p.spec.rx_queues));
  arr("q_rx_errors", s.q_errors, std::min<unsigned>(nq, p.spec.rx_queues));
  arr("q_tx_packets", s.q_opackets, std::min<unsigned>(nq, p.spec.tx_queues));
  arr("q_tx_bytes", s.q_obytes, std::min<unsigned>(nq, p.spec.tx_queues));
  if (p.rss_active) {
    std::vector<uint64_t> bal(p.symmetry.per_queue.begin(), p.symmetry.per_queue.end());
    arr("rss_sample_per_queue", bal.data(), unsigned(bal.size()));
  }
}

int cmd_ports(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  const Runtime& rt = *g_rt;
  rte_tel_data_start_dict(d);
  if (params && *params) {
    char* end;
    const unsigned long i = std::strtoul(params, &end, 10);
    if (*end || i >= rt.ports.size()) return -EINVAL;
    port_dict(d, rt, rt.ports[i], true);
    return 0;
  }
  for (const auto& p : rt.ports) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    port_dict(c, rt, p, false);
    rte_tel_data_add_dict_container(d, p.spec.name.c_str(), c, 0);
  }
  return 0;
}

void worker_dict(rte_tel_data* d, const core::WorkerCtx& w, bool detail) {
  add_u64(d, "id", w.id);
  add_u64(d, "lcore", w.lcore);
  add_u64(d, "rx_queues", w.rxq.size());
  w.stats.visit([&](const char* name, core::CounterKind, const char*, const core::Counter& c) {
    add_u64(d, name, c.get());
  });
  for (size_t i = 0; i < core::kNumDrops; i++)
    add_u64(d, (std::string("drop_") + core::kDropNames[i]).c_str(), w.stats.drops[i].get());
  (void)detail;
}

/* Adds the inspection counters of `st` as "<block>_<name>" keys, only the
 * blocks named in `blocks` (nullptr: all). */
void add_inspect(rte_tel_data* d, const std::vector<const inspect::Stage*>& st,
                 const char* const* blocks) {
  struct Ctx {
    rte_tel_data* d;
    const char* const* blocks;
  } c{d, blocks};
  for_each_inspect_counter(
      st,
      [](void* p, const char* block, const char* name, uint64_t v) {
        Ctx& c = *static_cast<Ctx*>(p);
        if (c.blocks) {
          bool want = false;
          for (const char* const* b = c.blocks; *b; b++) want |= std::strcmp(*b, block) == 0;
          if (!want) return;
        }
        add_u64(c.d, (std::string(block) + "_" + name).c_str(), v);
      },
      &c);
}

/* The stages a ",<worker id>" parameter selects (all when empty). Returns
 * false for a bad id. */
bool select_stages(const char* params, std::vector<const inspect::Stage*>& out) {
  const Runtime& rt = *g_rt;
  if (params && *params) {
    char* end;
    const unsigned long i = std::strtoul(params, &end, 10);
    if (*end || i >= rt.stages.size()) return false;
    out.push_back(rt.stages[i].get());
    return true;
  }
  for (const auto& s : rt.stages) out.push_back(s.get());
  return true;
}

int cmd_workers(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  const Runtime& rt = *g_rt;
  rte_tel_data_start_dict(d);
  if (params && *params) {
    char* end;
    const unsigned long i = std::strtoul(params, &end, 10);
    if (*end || i >= rt.workers.size()) return -EINVAL;
    worker_dict(d, *rt.workers[i], true);
    if (i < rt.stages.size()) {
      static const char* const blocks[] = {"pkt", "malformed", "encap", "streams", nullptr};
      add_inspect(d, {rt.stages[i].get()}, blocks);
    }
    return 0;
  }
  // All workers: totals plus a short dict per worker (~500 bytes each, so
  // 24 workers stay far below the 16 KB reply limit); detail per worker id.
  const Totals t = totals(rt);
  add_u64(d, "workers", rt.workers.size());
  add_u64(d, "rx_packets", t.rx_packets);
  add_u64(d, "tx_packets", t.tx_packets);
  add_u64(d, "rx_bytes", t.rx_bytes);
  add_u64(d, "tx_bytes", t.tx_bytes);
  add_u64(d, "rx_backpressure", t.rx_backpressure);
  add_u64(d, "rx_pool_empty", t.rx_pool_empty);
  for (size_t i = 0; i < core::kNumDrops; i++)
    add_u64(d, (std::string("drop_") + core::kDropNames[i]).c_str(), t.drops[i]);
  for (size_t i = 0; i < rt.workers.size() && i < 24; i++) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    worker_dict(c, *rt.workers[i], false);
    rte_tel_data_add_dict_container(d, ("worker" + std::to_string(i)).c_str(), c, 0);
  }
  return 0;
}

/* The common start of the per-block commands: "starting" until the
 * runtime is ready, the stages a ",<worker id>" parameter selects, an open
 * dict. Returns the reply code when the command must answer at once. */
std::optional<int> open_reply(const char* params, rte_tel_data* d,
                              std::vector<const inspect::Stage*>& st) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  if (!select_stages(params, st)) return -EINVAL;
  rte_tel_data_start_dict(d);
  return std::nullopt;
}

int cmd_flows(const char*, const char* params, rte_tel_data* d) {
  std::vector<const inspect::Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  uint64_t cap = 0, per = 0;
  for (const auto* s : st) {
    cap += s->table().capacity();
    per = std::max<uint64_t>(per, s->bytes_per_flow());
  }
  add_u64(d, "capacity", cap);
  // What an idle tracked connection costs (flow and connection record),
  // and what a framed one adds from the HTTP pool.
  add_u64(d, "bytes_per_flow", per);
  if (!st.empty()) add_u64(d, "bytes_per_http_conn", inspect::Stage::bytes_per_http());
  static const char* const blocks[] = {"flows", nullptr};
  add_inspect(d, st, blocks);
  return 0;
}

/* What the parser decoded and could not: link types per port, frames per
 * encapsulation kind, per reason a frame was not decoded. */
int cmd_decap(const char*, const char* params, rte_tel_data* d) {
  std::vector<const inspect::Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  for (const port::PortState& p : g_rt->ports) {
    const char* name = pkt::link_name(g_rt->link_types.size() > p.port_id ? g_rt->link_types[p.port_id]
                                                                          : uint16_t(pkt::kLinkEthernet));
    rte_tel_data_add_dict_string(d, ("link_" + p.spec.name).c_str(), name ? name : "?");
  }
  static const char* const blocks[] = {"pkt", "encap", "malformed", nullptr};
  add_inspect(d, st, blocks);
  return 0;
}

int cmd_reasm(const char*, const char* params, rte_tel_data* d) {
  std::vector<const inspect::Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  static const char* const blocks[] = {"reasm", "tcp", "streams", nullptr};
  add_inspect(d, st, blocks);
  return 0;
}

/* A copy of one flow for telemetry. The worker may be updating the flow
 * while we copy it (telemetry runs on its own thread and takes no lock),
 * so a value can be a moment stale or mid-update; every read stays inside
 * the preallocated table. */
struct FlowView {
  flow::Flow f;
  reasm::HalfStream hs[2];  // its connection record's
  unsigned worker;
  uint64_t total() const { return f.bytes[0] + f.bytes[1]; }
};

template <class Pred>
std::vector<FlowView> scan_flows(Pred keep) {
  std::vector<FlowView> out;
  const Runtime& rt = *g_rt;
  for (size_t w = 0; w < rt.stages.size(); w++) {
    const flow::Table& t = rt.stages[w]->table();
    for (uint32_t i = 0; i < t.capacity(); i++) {
      const flow::Flow& live = const_cast<flow::Table&>(t).at(int32_t(i));
      if (!(live.flags & flow::kInUse)) continue;
      FlowView v;
      std::memcpy(static_cast<void*>(&v.f), &live, sizeof live);
      std::memcpy(static_cast<void*>(v.hs), rt.stages[w]->record(live).hs, sizeof v.hs);
      v.worker = unsigned(w);
      if ((v.f.flags & flow::kInUse) && keep(v)) out.push_back(v);
    }
  }
  return out;
}

void flow_dict(rte_tel_data* d, const FlowView& v) {
  const flow::Flow& f = v.f;
  const int client = flow::client_side(f);
  char c[64], s[64];
  flow::endpoint_str(f.key, client, c, sizeof c);
  flow::endpoint_str(f.key, 1 - client, s, sizeof s);
  rte_tel_data_add_dict_string(d, "client", c);
  rte_tel_data_add_dict_string(d, "server", s);
  rte_tel_data_add_dict_string(d, "state", flow::state_name(f.state));
  add_u64(d, "client_inferred", !(f.flags & flow::kClientKnown));
  add_u64(d, "worker", v.worker);
  add_u64(d, "vlan", f.key.vlan);
  if (f.key.vlan_inner) add_u64(d, "vlan_inner", f.key.vlan_inner);
  if (f.key.encap) {
    rte_tel_data_add_dict_string(d, "encap", pkt::encap_name(uint8_t(f.key.encap)));
    add_u64(d, "tunnel_id", f.key.tunnel_id);
  }
  add_u64(d, "connection", f.generation);
  add_u64(d, "packets_c2s", f.pkts[client]);
  add_u64(d, "packets_s2c", f.pkts[1 - client]);
  add_u64(d, "bytes_c2s", f.bytes[client]);
  add_u64(d, "bytes_s2c", f.bytes[1 - client]);
  add_u64(d, "delivered_c2s", v.hs[client].delivered);
  add_u64(d, "delivered_s2c", v.hs[1 - client].delivered);
  add_u64(d, "gaps", v.hs[0].gaps + v.hs[1].gaps);
  add_u64(d, "gap_bytes", v.hs[0].gap_bytes + v.hs[1].gap_bytes);
  add_u64(d, "ofo_segments", v.hs[0].ofo_n + v.hs[1].ofo_n);
  add_u64(d, "created_ns", f.created_ns);
  add_u64(d, "last_ns", f.last_ns);
}

void add_flow_list(rte_tel_data* d, const std::vector<const FlowView*>& v, size_t from, size_t n) {
  for (size_t i = from; i < v.size() && i < from + n; i++) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return;
    rte_tel_data_start_dict(c);
    flow_dict(c, *v[i]);
    rte_tel_data_add_dict_container(d, ("flow" + std::to_string(i)).c_str(), c, 0);
  }
}

/* 10 flows of ~20 keys each stay near 8 KB, half the 16 KB reply limit. */
constexpr size_t kFlowsPerPage = 10;

int cmd_http(const char*, const char* params, rte_tel_data* d) {
  std::vector<const inspect::Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  static const char* const blocks[] = {"http", "http_verdicts", "http_errors", nullptr};
  add_inspect(d, st, blocks);
  return 0;
}

int cmd_outputs(const char*, const char*, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  const Runtime& rt = *g_rt;
  rte_tel_data_start_dict(d);
  const RecordDrops dropped = record_drops(rt);
  for (const auto& o : rt.sinks.outputs()) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_string(c, "path", o.path.c_str());
    add_u64(c, "written", o.stats->lines.load(std::memory_order_relaxed));
    add_u64(c, "bytes", o.stats->bytes.load(std::memory_order_relaxed));
    add_u64(c, "write_errors", o.stats->write_errors.load(std::memory_order_relaxed));
    add_u64(c, "lost", o.stats->lost.load(std::memory_order_relaxed));
    add_u64(c, "ring_depth", o.depth);
    add_u64(c, "parts", o.stats->parts.load(std::memory_order_relaxed));
    add_u64(c, "reopens", o.stats->reopens.load(std::memory_order_relaxed));
    if (o.writer)
      o.writer->visit([&](const char* name, core::CounterKind, const char*, uint64_t v) { add_u64(c, name, v); });
    add_u64(c, "dropped", dropped.of_output(o.name));
    rte_tel_data_add_dict_container(d, o.name.c_str(), c, 0);
  }
  if (rt.cfg.mirror.enabled) {  // the mirror port is an output too
    std::vector<const inspect::Stage*> st;
    for (const auto& s : rt.stages) st.push_back(s.get());
    static const char* const blocks[] = {"mirror", nullptr};
    add_inspect(d, st, blocks);
  }
  return 0;
}

int cmd_top_flows(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  size_t page = 0;
  if (params && *params) {
    char* end;
    page = std::strtoul(params, &end, 10);
    if (*end) return -EINVAL;
  }
  const auto v = scan_flows([](const FlowView&) { return true; });
  // Sort pointers: a FlowView is cache-line aligned and heavy to move.
  std::vector<const FlowView*> order;
  for (const FlowView& f : v) order.push_back(&f);
  const size_t want = std::min(order.size(), (page + 1) * kFlowsPerPage);
  std::partial_sort(order.begin(), order.begin() + long(want), order.end(),
                    [](const FlowView* a, const FlowView* b) { return a->total() > b->total(); });
  rte_tel_data_start_dict(d);
  add_u64(d, "flows", v.size());
  add_u64(d, "page", page);
  add_u64(d, "pages", (v.size() + kFlowsPerPage - 1) / kFlowsPerPage);
  add_flow_list(d, order, page * kFlowsPerPage, kFlowsPerPage);
  return 0;
}

int cmd_flow(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  if (!params || !*params) return -EINVAL;
  // "addr:port", "[v6addr]:port", or an address alone (any port).
  std::string want = params;
  const bool has_port = want.back() != ']' && want.find(':') != std::string::npos &&
                        (want.front() == '[' || want.find(':') == want.rfind(':'));
  if (!has_port) want = (want.find(':') != std::string::npos && want.front() != '[' ? "[" + want + "]" : want) + ":";
  auto matches = [&](const FlowView& v) {
    for (int side = 0; side < 2; side++) {
      char e[64];
      flow::endpoint_str(v.f.key, side, e, sizeof e);
      if (has_port ? want == e : std::string(e).rfind(want, 0) == 0) return true;
    }
    return false;
  };
  const auto v = scan_flows(matches);
  std::vector<const FlowView*> order;
  for (const FlowView& f : v) order.push_back(&f);
  rte_tel_data_start_dict(d);
  add_u64(d, "matches", v.size());
  add_flow_list(d, order, 0, kFlowsPerPage);
  return 0;
}

int cmd_drops(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < core::kNumDrops; i++)
    rte_tel_data_add_dict_string(d, (std::string("drop_") + core::kDropNames[i]).c_str(),
                                 core::kDropHelp[i]);
  for (size_t i = 0; i < pkt::kNumMalformed; i++)
    rte_tel_data_add_dict_string(d, (std::string("malformed_") + pkt::kMalformedNames[i]).c_str(),
                                 pkt::kMalformedHelp[i]);
  for (size_t i = 0; i < pkt::kNumPktCounters; i++)
    if (std::strcmp(pkt::kPktNames[i], "rst_skipped_encap") == 0)
      rte_tel_data_add_dict_string(d, "pkt_rst_skipped_encap", pkt::kPktHelp[i]);
  // And every counter a counters.def lists, under the key telemetry and
  // stats.json give it ("<block>_<name>").
  auto explain = [d](const char* block, const auto& stats) {
    stats.visit([&](const char* name, core::CounterKind, const char* help, const core::Counter&) {
      rte_tel_data_add_dict_string(d, (std::string(block) + "_" + name).c_str(), help);
    });
  };
  explain("flows", flow::TableStats{});
  explain("tcp", tcp::Stats{});
  explain("reasm", reasm::Stats{});
  explain("streams", inspect::Stats{});
  return 0;
}

int cmd_latency(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  rte_tel_data_start_dict(d);
  if (!g_rt->cfg.latency) {
    rte_tel_data_add_dict_string(d, "status", "off: set worker.latency = true");
    return 0;
  }
  std::vector<const core::LatencyHist*> h, p;
  for (const auto& w : g_rt->workers)
    if (!params || !*params || w->id == std::strtoul(params, nullptr, 10)) {
      h.push_back(&w->hold);
      p.push_back(&w->pre_tx);
    }
  auto add = [d](const std::string& prefix, const std::vector<const core::LatencyHist*>& v) {
    const core::LatencySummary s = core::summarize(v.data(), v.size(), rte_get_tsc_hz());
    add_u64(d, (prefix + "samples").c_str(), s.samples);
    add_u64(d, (prefix + "p50_ns").c_str(), s.p50_ns);
    add_u64(d, (prefix + "p99_ns").c_str(), s.p99_ns);
    add_u64(d, (prefix + "p999_ns").c_str(), s.p999_ns);
    add_u64(d, (prefix + "max_ns").c_str(), s.max_ns);
  };
  add("", h);
  add("pre_tx_", p);  // RX to the rte_eth_tx_burst call: without the PMD's transmit
  return 0;
}

int cmd_collectors(const char*, const char*, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  rte_tel_data_start_dict(d);
  if (!g_rt->prober) {
    rte_tel_data_add_dict_string(d, "status", "no [[collectors]]");
    return 0;
  }
  const Prober::View v = g_rt->prober->view();
  rte_tel_data_add_dict_string(d, "current", v.current.c_str());
  add_u64(d, "switches", v.switches);
  rte_tel_data_add_dict_string(d, "last_reason", v.last_reason.c_str());
  uint64_t unresolved = 0;
  for (const auto& s : g_rt->stages) unresolved += s->stats.mirror_no_collector.get();
  add_u64(d, "mirror_no_collector", unresolved);
  // Names may hold '-': one dict per collector under c0, c1, ... (file order).
  for (size_t i = 0; i < v.collectors.size(); i++) {
    const Prober::CollectorView& c = v.collectors[i];
    rte_tel_data* e = rte_tel_data_alloc();
    if (!e) return -ENOMEM;
    rte_tel_data_start_dict(e);
    rte_tel_data_add_dict_string(e, "name", c.name.c_str());
    char ip[16];
    std::snprintf(ip, sizeof ip, "%u.%u.%u.%u", c.ip >> 24, (c.ip >> 16) & 255, (c.ip >> 8) & 255, c.ip & 255);
    rte_tel_data_add_dict_string(e, "ip", ip);
    add_u64(e, "mac_known", c.mac_known);
    if (c.last_rtt_ns) add_u64(e, "last_rtt_us", *c.last_rtt_ns / 1000);
    if (c.best_rtt_ns) add_u64(e, "best_rtt_us", *c.best_rtt_ns / 1000);
    add_u64(e, "probes_sent", c.probes.sent);
    add_u64(e, "probes_answered", c.probes.answered);
    add_u64(e, "probes_timed_out", c.probes.timeouts);
    uint64_t sent = 0, lost = 0;
    for (const auto& s : g_rt->stages) {
      sent += s->stats.mirrored_to[i].get();
      lost += s->stats.mirror_lost_to[i].get();
    }
    add_u64(e, "mirrored", sent);
    add_u64(e, "mirror_dropped", lost);
    rte_tel_data_add_dict_container(d, ("c" + std::to_string(i)).c_str(), e, 0);
  }
  return 0;
}

/* 64 rules a page: names up to 64 characters keep a page near 6 KB. */
constexpr size_t kRulesPerPage = 64;

int cmd_rules(const char*, const char* params, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  const size_t page = params && *params ? std::strtoul(params, nullptr, 10) : 0;
  const RuleEngine::View v = g_rt->rules.view();
  rte_tel_data_start_dict(d);
  add_u64(d, "generation", v.generation);
  add_u64(d, "reloads", v.reloads);
  add_u64(d, "reload_errors", v.reload_errors);
  if (!v.last_error.empty())
    rte_tel_data_add_dict_string(d, "last_error", v.last_error.substr(0, 120).c_str());
  rte_tel_data_add_dict_string(d, "default", match::action_name(v.default_action));
  for (size_t a = 0; a < match::kNumActions; a++)
    add_u64(d, (std::string("action_") + match::action_name(match::Action(a))).c_str(), v.actions[a]);
  add_u64(d, "scan_errors", v.scan_errors);
  add_u64(d, "rules", v.rules.size());
  add_u64(d, "page", page);
  // Rule names may hold '-', which dict keys may not: parallel arrays.
  rte_tel_data* names = rte_tel_data_alloc();
  rte_tel_data* actions = rte_tel_data_alloc();
  rte_tel_data* hits = rte_tel_data_alloc();
  if (!names || !actions || !hits) {
    rte_tel_data_free(names);
    rte_tel_data_free(actions);
    rte_tel_data_free(hits);
    return -ENOMEM;
  }
  rte_tel_data_start_array(names, RTE_TEL_STRING_VAL);
  rte_tel_data_start_array(actions, RTE_TEL_STRING_VAL);
  rte_tel_data_start_array(hits, RTE_TEL_U64_VAL);
  for (size_t i = page * kRulesPerPage; i < v.rules.size() && i < (page + 1) * kRulesPerPage; i++) {
    rte_tel_data_add_array_string(names, v.rules[i].name.c_str());
    rte_tel_data_add_array_string(actions, match::action_name(v.rules[i].action));
    rte_tel_data_add_array_u64(hits, v.rules[i].hits);
  }
  rte_tel_data_add_dict_container(d, "names", names, 0);
  rte_tel_data_add_dict_container(d, "actions", actions, 0);
  rte_tel_data_add_dict_container(d, "hits", hits, 0);
  return 0;
}

int cmd_rules_reload(const char*, const char*, rte_tel_data* d) {
  if (!g_rt->ready.load(std::memory_order_acquire)) return starting(d);
  rte_tel_data_start_dict(d);
  if (g_rt->cfg.file.empty()) {
    rte_tel_data_add_dict_string(d, "error", "no startup file to reload the rules from");
    return 0;
  }
  std::string err;
  const bool ok = g_rt->rules.reload(g_rt->cfg.file, &err);
  add_u64(d, "ok", ok);
  add_u64(d, "generation", g_rt->rules.view().generation);
  if (!ok) rte_tel_data_add_dict_string(d, "error", err.substr(0, 120).c_str());
  return 0;
}

}  // namespace

void register_telemetry(const Runtime* rt) {
  g_rt = rt;
  // DPDK 22.11 refuses help texts of 64 characters or more (MAX_HELP_LEN);
  // docs/operations.md has the long form of each.
  struct Cmd {
    const char* name;
    telemetry_cb fn;
    const char* help;
  };
  static const Cmd cmds[] = {
      {"/loom/info", cmd_info, "Version, startup file, mode, uptime. No parameters."},
      {"/loom/ports", cmd_ports, "Port counters and RSS. Param: port index for queues."},
      {"/loom/workers", cmd_workers, "Worker rx/tx, drops, polls, parsing. Param: worker id."},
      {"/loom/flows", cmd_flows, "Flow table: active, inserts, evictions. Param: worker id."},
      {"/loom/decap", cmd_decap, "Link types, encapsulations, undecoded. Param: worker id."},
      {"/loom/reasm", cmd_reasm, "Reassembly, TCP checks: OFO, gaps, RST/SYN/FIN. Param: worker."},
      {"/loom/outputs", cmd_outputs, "Per output: written, bytes, dropped; mirror copies."},
      {"/loom/http", cmd_http, "HTTP messages, resyncs, parse errors. Param: worker id."},
      {"/loom/top_flows", cmd_top_flows, "Flows by bytes, 10 per page. Param: page (0..)."},
      {"/loom/flow", cmd_flow, "Flows of one endpoint. Param: addr:port, [v6]:port, addr."},
      {"/loom/drops", cmd_drops, "Every listed counter (drops, flows, TCP, reasm) and its meaning."},
      {"/loom/collectors", cmd_collectors, "Mirror collectors: RTTs, probes, choice, switches."},
      {"/loom/latency", cmd_latency, "Relay hold RX to TX: p50/p99/p99.9. Param: worker id."},
      {"/loom/rules", cmd_rules, "Rules: generation, reloads, hits per rule. Param: page."},
      {"/loom/rules_reload", cmd_rules_reload, "Re-read the startup file's rules; keep old if bad."},
  };
  for (const Cmd& c : cmds)
    if (int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help); rc != 0)
      LOOM_LOG(WARNING, "telemetry command %s not registered (%d)", c.name, rc);
}

}  // namespace ctl
