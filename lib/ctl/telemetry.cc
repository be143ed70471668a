#include "ctl/telemetry.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_telemetry.h>

#include "core/telemetry.h"
#include "ctl/stats_json.h"
#include "inspect/telemetry.h"
#include "mirror/telemetry.h"
#include "port/telemetry.h"
#include "sink/telemetry.h"

namespace ctl {

namespace {

using core::tel::add_u64;
using core::tel::starting;

/* ctl's own commands read the Runtime ctl builds. */
const Runtime* g_rt = nullptr;

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


std::vector<const inspect::Stage*> all_stages(const Runtime& rt) {
  std::vector<const inspect::Stage*> st;
  for (const auto& s : rt.stages) st.push_back(s.get());
  return st;
}

}  // namespace

void register_telemetry(const Runtime* rt) {
  g_rt = rt;
  // The libraries' commands, lowest first, each over what it reads.
  core::tel::WorkersSource workers;
  workers.ready = &rt->ready;
  workers.workers = &rt->workers;
  workers.latency = &rt->cfg.latency;
  workers.port_bytes = [rt](uint64_t* rx, uint64_t* tx) { port::byte_totals(rt->ports, rx, tx); };
  workers.detail = [rt](rte_tel_data* d, size_t i) {
    if (i >= rt->stages.size()) return;
    static const char* const blocks[] = {"pkt", "malformed", "encap", "streams", nullptr};
    inspect::add_blocks(d, {rt->stages[i].get()}, blocks);
  };
  core::tel::register_telemetry(std::move(workers));
  port::register_telemetry({&rt->ready, &rt->ports, &rt->links, rt->cfg.mode == Mode::kOffline});
  inspect::register_telemetry({&rt->ready, &rt->stages, &rt->ports, &rt->link_types});
  sink::TelemetrySource outputs;
  outputs.ready = &rt->ready;
  outputs.sinks = &rt->sinks;
  outputs.dropped = [rt](const std::string& name) { return record_drops(*rt).of_output(name); };
  outputs.extra = [rt](rte_tel_data* d) {
    if (!rt->cfg.mirror.enabled) return;  // the mirror port is an output too
    static const char* const blocks[] = {"mirror", nullptr};
    inspect::add_blocks(d, all_stages(*rt), blocks);
  };
  sink::register_telemetry(std::move(outputs));
  mirror::TelemetrySource collectors;
  collectors.ready = &rt->ready;
  collectors.prober = &rt->prober;
  collectors.no_collector = [rt] { return copies_without_collector(*rt); };
  collectors.copies = [rt](size_t i, uint64_t* mirrored, uint64_t* dropped) {
    const CollectorCopies c = collector_copies(*rt, i);
    *mirrored = c.mirrored;
    *dropped = c.dropped;
  };
  mirror::register_telemetry(std::move(collectors));

  static constexpr core::tel::Cmd cmds[] = {
      {"/loom/info", cmd_info, "Version, startup file, mode, uptime. No parameters."},
      {"/loom/rules", cmd_rules, "Rules: generation, reloads, hits per rule. Param: page."},
      {"/loom/rules_reload", cmd_rules_reload, "Re-read the startup file's rules; keep old if bad."},
  };
  core::tel::add_cmds(cmds);
}

}  // namespace ctl
