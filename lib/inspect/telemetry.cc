#include "inspect/telemetry.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "core/telemetry.h"
#include "inspect/counters_walk.h"

namespace inspect {

namespace {

using core::tel::add_u64;

TelemetrySource g_src;

/* The stages a ",<worker id>" parameter selects (all when empty). Returns
 * false for a bad id. */
bool select_stages(const char* params, std::vector<const Stage*>& out) {
  const auto& stages = *g_src.stages;
  size_t i;
  switch (core::tel::pick(params, stages.size(), &i)) {
    case core::tel::Pick::kBad:
      return false;
    case core::tel::Pick::kOne:
      out.push_back(stages[i].get());
      return true;
    case core::tel::Pick::kAll:
      break;
  }
  for (const auto& s : stages) out.push_back(s.get());
  return true;
}

/* The common start of the per-block commands: "starting" until the
 * source is ready, the stages a ",<worker id>" parameter selects, an open
 * dict. Returns the reply code when the command must answer at once. */
std::optional<int> open_reply(const char* params, rte_tel_data* d, std::vector<const Stage*>& st) {
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
  if (!select_stages(params, st)) return -EINVAL;
  rte_tel_data_start_dict(d);
  return std::nullopt;
}

int cmd_flows(const char*, const char* params, rte_tel_data* d) {
  std::vector<const Stage*> st;
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
  if (!st.empty() && st[0]->frames_http()) add_u64(d, "bytes_per_http_conn", Stage::bytes_per_http());
  static const char* const blocks[] = {"flows", nullptr};
  add_blocks(d, st, blocks);
  return 0;
}

/* What the parser decoded and could not: link types per port, frames per
 * encapsulation kind, per reason a frame was not decoded. */
int cmd_decap(const char*, const char* params, rte_tel_data* d) {
  std::vector<const Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  const std::vector<uint16_t>& lt = *g_src.link_types;
  for (const port::PortState& p : *g_src.ports) {
    const char* name = pkt::link_name(lt.size() > p.port_id ? lt[p.port_id] : uint16_t(pkt::kLinkEthernet));
    rte_tel_data_add_dict_string(d, ("link_" + p.spec.name).c_str(), name ? name : "?");
  }
  static const char* const blocks[] = {"pkt", "encap", "malformed", nullptr};
  add_blocks(d, st, blocks);
  return 0;
}

int cmd_reasm(const char*, const char* params, rte_tel_data* d) {
  std::vector<const Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  static const char* const blocks[] = {"reasm", "tcp", "streams", nullptr};
  add_blocks(d, st, blocks);
  return 0;
}

int cmd_http(const char*, const char* params, rte_tel_data* d) {
  std::vector<const Stage*> st;
  if (auto rc = open_reply(params, d, st)) return *rc;
  static const char* const blocks[] = {"http", "http_verdicts", "http_errors", nullptr};
  add_blocks(d, st, blocks);
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

/* The reassembly halves of a flow's connection: the one place that knows
 * where a connection keeps them (its connection record, inspect::Conn). */
void copy_halves(const Stage& st, const flow::Flow& live, reasm::HalfStream* hs) {
  std::memcpy(static_cast<void*>(hs), st.record(live).hs, 2 * sizeof *hs);
}

void add_reassembly(rte_tel_data* d, const reasm::HalfStream* hs, int client) {
  add_u64(d, "delivered_c2s", hs[client].delivered);
  add_u64(d, "delivered_s2c", hs[1 - client].delivered);
  add_u64(d, "gaps", hs[0].gaps + hs[1].gaps);
  add_u64(d, "gap_bytes", hs[0].gap_bytes + hs[1].gap_bytes);
  add_u64(d, "ofo_segments", hs[0].ofo_n + hs[1].ofo_n);
}

template <class Pred>
std::vector<FlowView> scan_flows(Pred keep) {
  std::vector<FlowView> out;
  const auto& stages = *g_src.stages;
  for (size_t w = 0; w < stages.size(); w++) {
    const flow::Table& t = stages[w]->table();
    for (uint32_t i = 0; i < t.capacity(); i++) {
      const flow::Flow& live = const_cast<flow::Table&>(t).at(int32_t(i));
      if (!(live.flags & flow::kInUse)) continue;
      FlowView v;
      std::memcpy(static_cast<void*>(&v.f), &live, sizeof live);
      copy_halves(*stages[w], live, v.hs);
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
  add_reassembly(d, v.hs, client);
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

int cmd_top_flows(const char*, const char* params, rte_tel_data* d) {
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
  size_t page = 0;
  if (params && *params) {
    char* end;
    page = std::strtoul(params, &end, 10);
    if (*end) return -EINVAL;
  }
  const auto v = scan_flows([](const FlowView&) { return true; });
  // Sort pointers: a FlowView is some 256 bytes, heavy to move.
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
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
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

/* /loom/drops: the listed counters of the blocks these replies show. */
void explain_counters() {
  for (size_t i = 0; i < pkt::kNumMalformed; i++)
    core::tel::explain(std::string("malformed_") + pkt::kMalformedNames[i], pkt::kMalformedHelp[i]);
  for (size_t i = 0; i < pkt::kNumPktCounters; i++)
    if (std::strcmp(pkt::kPktNames[i], "rst_skipped_encap") == 0)
      core::tel::explain("pkt_rst_skipped_encap", pkt::kPktHelp[i]);
  core::tel::explain_block("flows", flow::TableStats{});
  core::tel::explain_block("tcp", tcp::Stats{});
  core::tel::explain_block("reasm", reasm::Stats{});
  core::tel::explain_block("streams", Stats{});
}

}  // namespace

void add_blocks(rte_tel_data* d, const std::vector<const Stage*>& st, const char* const* blocks) {
  struct Ctx {
    rte_tel_data* d;
    const char* const* blocks;
  } c{d, blocks};
  for_each_counter(
      st,
      [](void* p, const char* block, const char* name, uint64_t v) {
        Ctx& c = *static_cast<Ctx*>(p);
        if (c.blocks) {
          bool want = false;
          for (const char* const* b = c.blocks; *b; b++) want |= std::strcmp(*b, block) == 0;
          if (!want) return;
        }
        add_u64(c.d, std::string(block) + "_" + name, v);
      },
      &c);
}

void register_telemetry(const TelemetrySource& src) {
  g_src = src;
  explain_counters();
  static constexpr core::tel::Cmd cmds[] = {
      {"/loom/flows", cmd_flows, "Flow table: active, inserts, evictions. Param: worker id."},
      {"/loom/decap", cmd_decap, "Link types, encapsulations, undecoded. Param: worker id."},
      {"/loom/reasm", cmd_reasm, "Reassembly, TCP checks: OFO, gaps, RST/SYN/FIN. Param: worker."},
      {"/loom/http", cmd_http, "HTTP messages, resyncs, parse errors. Param: worker id."},
      {"/loom/top_flows", cmd_top_flows, "Flows by bytes, 10 per page. Param: page (0..)."},
      {"/loom/flow", cmd_flow, "Flows of one endpoint. Param: addr:port, [v6]:port, addr."},
  };
  core::tel::add_cmds(cmds);
}

}  // namespace inspect
