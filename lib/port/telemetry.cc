#include "port/telemetry.h"

#include <algorithm>

#include <rte_ethdev.h>

#include "core/telemetry.h"

namespace port {

namespace {

using core::tel::add_u64;

TelemetrySource g_src;

void port_dict(rte_tel_data* d, const PortState& p, bool queues) {
  rte_eth_stats s{};
  rte_eth_stats_get(p.port_id, &s);
  rte_tel_data_add_dict_string(d, "name", p.spec.name.c_str());
  rte_tel_data_add_dict_string(d, "driver", p.driver.c_str());
  add_u64(d, "port_id", p.port_id);
  // Live: the link now (port/link.h); offline: as at set-up.
  const LinkWatch::View link = g_src.links->view(p.port_id);
  add_u64(d, "link_up", g_src.offline ? p.link_up : link.up);
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
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
  const std::vector<PortState>& ports = *g_src.ports;
  size_t i;
  const core::tel::Pick pk = core::tel::pick(params, ports.size(), &i);
  if (pk == core::tel::Pick::kBad) return -EINVAL;
  rte_tel_data_start_dict(d);
  if (pk == core::tel::Pick::kOne) {
    port_dict(d, ports[i], true);
    return 0;
  }
  for (const auto& p : ports) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    port_dict(c, p, false);
    rte_tel_data_add_dict_container(d, p.spec.name.c_str(), c, 0);
  }
  return 0;
}

}  // namespace

void byte_totals(const std::vector<PortState>& ports, uint64_t* rx_bytes, uint64_t* tx_bytes) {
  for (const auto& p : ports) {
    rte_eth_stats s{};
    if (rte_eth_stats_get(p.port_id, &s) == 0) {
      *rx_bytes += s.ibytes;
      *tx_bytes += s.obytes;
    }
  }
}

void register_telemetry(const TelemetrySource& src) {
  g_src = src;
  static constexpr core::tel::Cmd cmds[] = {
      {"/loom/ports", cmd_ports, "Port counters and RSS. Param: port index for queues."},
  };
  core::tel::add_cmds(cmds);
}

}  // namespace port
