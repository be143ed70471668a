#include "mirror/telemetry.h"

#include <cstdio>
#include <string>
#include <utility>

#include "core/telemetry.h"

namespace mirror {

namespace {

using core::tel::add_u64;

TelemetrySource g_src;

int cmd_collectors(const char*, const char*, rte_tel_data* d) {
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
  rte_tel_data_start_dict(d);
  const Prober* p = g_src.prober ? g_src.prober->get() : nullptr;
  if (!p) {
    rte_tel_data_add_dict_string(d, "status", "no [[collectors]]");
    return 0;
  }
  const Prober::View v = p->view();
  rte_tel_data_add_dict_string(d, "current", v.current.c_str());
  add_u64(d, "switches", v.switches);
  rte_tel_data_add_dict_string(d, "last_reason", v.last_reason.c_str());
  add_u64(d, "mirror_no_collector", g_src.no_collector ? g_src.no_collector() : 0);
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
    if (g_src.copies) g_src.copies(i, &sent, &lost);
    add_u64(e, "mirrored", sent);
    add_u64(e, "mirror_dropped", lost);
    rte_tel_data_add_dict_container(d, ("c" + std::to_string(i)).c_str(), e, 0);
  }
  return 0;
}

}  // namespace

void register_telemetry(TelemetrySource src) {
  g_src = std::move(src);
  static constexpr core::tel::Cmd cmds[] = {
      {"/loom/collectors", cmd_collectors, "Mirror collectors: RTTs, probes, choice, switches."},
  };
  core::tel::add_cmds(cmds);
}

}  // namespace mirror
