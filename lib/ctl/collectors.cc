#include "ctl/collectors.h"

#include <algorithm>
#include <stdexcept>

#include <rte_errno.h>
#include <rte_ethdev.h>

#include "core/log.h"
#include "core/mem.h"
#include "ctl/runtime.h"
#include "port/port.h"

namespace ctl {

mirror::ProberConfig prober_config(const MirrorConfig& m, const std::string& fallback_key) {
  constexpr uint64_t kMs = 1000000;
  const ProbeConfig& p = m.probe;
  mirror::ProberConfig c;
  c.collectors = m.collectors;
  c.udp = p.udp;
  c.udp_port = p.udp_port;
  c.timeout_ns = uint64_t(p.timeout_ms) * kMs;
  c.choice.window_ns = uint64_t(p.window_ms) * kMs;
  c.choice.lost_after = p.lost_after;
  c.choice.margin_ns = uint64_t(p.margin_ms) * kMs;
  c.choice.ratio = p.ratio;
  c.choice.full_tries = p.tries;
  c.choice.stagger_ns = uint64_t(p.stagger_ms) * kMs;
  c.choice.full_every_ns = uint64_t(p.full_every_ms) * kMs;
  c.choice.incremental_every_ns = uint64_t(p.incremental_every_ms) * kMs;
  c.choice.fallback_key = fallback_key;
  return c;
}

std::unique_ptr<mirror::Prober> make_prober(const Runtime& rt, const inspect::MirrorOut& out,
                                            std::vector<inspect::Stage*> stages) {
  mirror::ProberPort port;
  port.port = out.port;
  port.txq = uint16_t(rt.cfg.workers.size());  // the workers' are 0 .. workers - 1
  port.rx_queues = out.rx_queues;
  port.pool = out.pool;
  port.base = rt.mirror_base;
  return std::make_unique<mirror::Prober>(
      prober_config(rt.cfg.mirror, rt.cfg.eal.file_prefix), port,
      [stages = std::move(stages)](const mirror::CollectorTarget* t) {
        for (inspect::Stage* s : stages) s->offer_collector(t);
      });
}

std::string setup_mirror(Runtime& rt, rte_mempool* rx_pool, inspect::MirrorOut& out) {
  const ctl::MirrorConfig& m = rt.cfg.mirror;
  port::PortSpec spec;
  spec.name = "mirror";
  spec.device = m.device;
  // One TX queue per worker, and one more for the collectors' prober.
  spec.tx_queues = uint16_t(std::max<size_t>(1, rt.cfg.workers.size()) + (m.collectors.empty() ? 0 : 1));
  // As many RX queues: af_packet opens one socket per queue pair and fans
  // frames out over them, so the prober reads them all (the workers none).
  spec.rx_queues = spec.tx_queues;
  spec.rss = false;
  spec.promiscuous = false;
  spec.link_wait_ms = 0;
  const unsigned n = m.mbufs_per_worker * unsigned(spec.tx_queues);
  out.pool = core::mem::pktmbuf_pool_create("loom_mirror", n, 256, 2048 + RTE_PKTMBUF_HEADROOM,
                                           int(rte_socket_id()), !port::mbufs_stay_in_process(m.device));
  if (!out.pool)
    return "cannot create the mirror pool of " + std::to_string(n) + " mbufs (" +
           rte_strerror(rte_errno) + "); lower mirror.mbufs_per_worker or raise eal.memory_mb";
  try {
    port::PortState st = port::setup_port(spec, rx_pool);
    static const char* const kEncap[] = {"raw", "vxlan", "gre", "erspan"};
    LOOM_LOG(INFO, "mirror port %s (%s, id %u): %u TX queues, encap %s", m.device.c_str(),
             st.driver.c_str(), st.port_id, spec.tx_queues, kEncap[size_t(m.encap)]);
    out.port = st.port_id;
    out.rx_queues = spec.rx_queues;
    rt.mirror_port = st.port_id;
    rt.ports_to_close.push_back(st.port_id);
  } catch (const port::SetupError& e) {
    return rt.cfg.file + ": mirror.device \"" + m.device + "\": " + e.what();
  }
  out.enabled = true;
  out.raw = m.encap == ctl::MirrorConfig::Encap::kRaw;
  out.max_len = m.mtu + RTE_ETHER_HDR_LEN;
  if (out.raw) return {};
  mirror::EncapConfig ec;
  ec.kind = m.encap == ctl::MirrorConfig::Encap::kVxlan ? mirror::EncapKind::kVxlan
            : m.encap == ctl::MirrorConfig::Encap::kGre ? mirror::EncapKind::kGre
                                                         : mirror::EncapKind::kErspan2;
  if (m.src_mac.empty())
    rte_eth_macaddr_get(out.port, &ec.src_mac);
  else
    rte_ether_unformat_addr(m.src_mac.c_str(), &ec.src_mac);
  if (!m.dst_mac.empty()) rte_ether_unformat_addr(m.dst_mac.c_str(), &ec.dst_mac);
  ec.src_ip = m.src_ip;
  ec.dst_ip = m.collectors.empty() ? m.dst_ip : m.collectors[0].ip;  // checked here, replaced per choice
  ec.mtu = m.mtu;
  ec.vni = m.vni;
  ec.session_id = m.session_id;
  try {
    out.tmpl = mirror::make_template(ec);
  } catch (const std::invalid_argument& e) {
    return rt.cfg.file + ": [mirror]: " + e.what();
  }
  out.chosen = !m.collectors.empty();
  rt.mirror_base = ec;
  return {};
}

}  // namespace ctl
