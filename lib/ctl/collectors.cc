#include "ctl/collectors.h"

#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "core/log.h"
#include "core/mem.h"
#include "ctl/runtime.h"
#include "port/port.h"
#include "mirror/arp.h"

namespace ctl {

namespace {

constexpr uint16_t kProbePort = 47474;  // our UDP source port for echo probes

mirror::ChooserConfig chooser_config(const ProbeConfig& p, const std::string& key) {
  mirror::ChooserConfig c;
  c.window_ns = uint64_t(p.window_ms) * 1000000;
  c.lost_after = p.lost_after;
  c.margin_ns = uint64_t(p.margin_ms) * 1000000;
  c.ratio = p.ratio;
  c.full_tries = p.tries;
  c.stagger_ns = uint64_t(p.stagger_ms) * 1000000;
  c.full_every_ns = uint64_t(p.full_every_ms) * 1000000;
  c.incremental_every_ns = uint64_t(p.incremental_every_ms) * 1000000;
  c.fallback_key = key;
  return c;
}

}  // namespace

Prober::Prober(const MirrorConfig& m, const std::string& fallback_key, uint16_t port, uint16_t txq,
               uint16_t rx_queues, rte_mempool* pool, std::vector<inspect::Stage*> stages,
               const mirror::EncapConfig& base)
    : cfg_(m), port_(port), txq_(txq), rx_queues_(rx_queues), pool_(pool),
      stages_(std::move(stages)), base_(base) {
  std::vector<mirror::Collector> list;
  for (const CollectorConfig& c : m.collectors) list.push_back({c.name, c.ip, c.multiplier});
  chooser_ = std::make_unique<mirror::Chooser>(std::move(list), chooser_config(m.probe, fallback_key));
  peers_.resize(m.collectors.size());
  rte_eth_macaddr_get(port, &our_mac_);
  id_ = uint16_t(getpid());
  hz_ = rte_get_tsc_hz();
  t0_ = rte_get_tsc_cycles();
}

Prober::~Prober() { stop(); }

uint64_t Prober::now_ns(uint64_t tsc) const { return uint64_t(double(tsc - t0_) * 1e9 / double(hz_)); }

void Prober::start() {
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void Prober::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Prober::run() {
  rte_thread_register();  // mempool caches, rte_lcore_id() for the PMD
  while (!stop_.load(std::memory_order_relaxed)) {
    poll(rte_get_tsc_cycles());
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  rte_thread_unregister();
}

void Prober::send(rte_mbuf* m) {
  if (rte_eth_tx_burst(port_, txq_, &m, 1) != 1) rte_pktmbuf_free(m);
}

void Prober::receive(uint16_t q, uint64_t tsc, uint64_t now) {
  rte_mbuf* rx[32];
  const uint16_t n = rte_eth_rx_burst(port_, q, rx, 32);
  for (uint16_t i = 0; i < n; i++) {
    const uint8_t* d = rte_pktmbuf_mtod(rx[i], const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(rx[i]);
    mirror::Neighbour nb;
    mirror::ProbeReply rep;
    bool asked = false;
    const bool arp = len >= 14 && d[12] == 0x08 && d[13] == 0x06;
    if (rte_mbuf* m = arp ? rte_pktmbuf_alloc(pool_) : nullptr) {
      asked = mirror::answer_arp_request(d, len, our_mac_, base_.src_ip, m, nb);
      if (asked)
        send(m);
      else
        rte_pktmbuf_free(m);
    }
    if (asked || mirror::parse_arp_reply(d, len, nb)) {
      // A request for us tells the asker's address as well as a reply does.
      for (size_t c = 0; c < peers_.size(); c++)
        if (cfg_.collectors[c].ip == nb.ip) {
          peers_[c].mac = nb.mac;
          peers_[c].mac_known = true;
          peers_[c].mac_at = tsc;
        }
    } else if (cfg_.probe.udp ? mirror::parse_udp_echo_reply(d, len, kProbePort, cfg_.probe.udp_port, id_, rep)
                              : mirror::parse_icmp_echo_reply(d, len, id_, rep)) {
      for (size_t k = 0; k < inflight_.size(); k++) {
        const InFlight& f = inflight_[k];
        if (f.seq != rep.seq || cfg_.collectors[f.collector].ip != rep.ip) continue;
        const uint64_t rtt = uint64_t(double(tsc - rep.tsc) * 1e9 / double(hz_));
        chooser_->on_reply(f.collector, rtt, now);
        peers_[f.collector].last_rtt_ns = rtt;
        inflight_.erase(inflight_.begin() + long(k));
        break;
      }
    }
  }
  if (n) rte_pktmbuf_free_bulk(rx, n);
}

void Prober::poll(uint64_t tsc) {
  std::lock_guard<std::mutex> g(mu_);
  const uint64_t now = now_ns(tsc);
  // What came back.
  for (uint16_t q = 0; q < rx_queues_; q++) receive(q, tsc, now);
  // What will not come back.
  for (size_t k = 0; k < inflight_.size();) {
    if (tsc < inflight_[k].deadline) {
      k++;
      continue;
    }
    chooser_->on_timeout(inflight_[k].collector, now);
    inflight_.erase(inflight_.begin() + long(k));
  }
  // MACs: ask once a second while unknown, refresh after a minute.
  for (size_t c = 0; c < peers_.size(); c++) {
    Peer& p = peers_[c];
    const bool stale = !p.mac_known || tsc - p.mac_at > 60 * hz_;
    if (!stale || (p.arp_sent_at && tsc - p.arp_sent_at < hz_)) continue;
    if (rte_mbuf* m = rte_pktmbuf_alloc(pool_)) {
      if (mirror::build_arp_request(m, our_mac_, base_.src_ip, cfg_.collectors[c].ip))
        send(m);
      else
        rte_pktmbuf_free(m);
    }
    p.arp_sent_at = tsc;
  }
  // Probes the plan wants now. One without a MAC cannot leave: it simply
  // goes unanswered and times out like a lost one.
  for (size_t c : chooser_->plan(now)) {
    chooser_->on_sent(c, now);
    const uint16_t seq = ++seq_;
    inflight_.push_back({c, seq, tsc + uint64_t(cfg_.probe.timeout_ms) * hz_ / 1000});
    if (!peers_[c].mac_known) continue;
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (!m) continue;
    const mirror::ProbeAddrs a{our_mac_, peers_[c].mac, base_.src_ip, cfg_.collectors[c].ip};
    const uint64_t t = rte_get_tsc_cycles();
    const bool ok = cfg_.probe.udp ? mirror::build_udp_echo(m, a, kProbePort, cfg_.probe.udp_port, id_, seq, t)
                                   : mirror::build_icmp_echo(m, a, id_, seq, t);
    if (ok)
      send(m);
    else
      rte_pktmbuf_free(m);
  }
  chooser_->evaluate(now);
  publish();
}

/* Offers the current choice to the workers when it, or its MAC, changed. */
void Prober::publish() {
  const size_t c = chooser_->current();
  if (!peers_[c].mac_known) return;  // keep sending where we were (or nowhere yet)
  if (offered_ && offered_->index == c &&
      std::memcmp(offered_->tmpl.bytes, &peers_[c].mac, RTE_ETHER_ADDR_LEN) == 0)
    return;
  mirror::EncapConfig ec = base_;
  ec.dst_ip = cfg_.collectors[c].ip;
  ec.dst_mac = peers_[c].mac;
  inspect::CollectorTarget t;
  t.tmpl = mirror::make_template(ec);
  t.index = uint16_t(c);
  targets_.push_back(t);
  offered_ = &targets_.back();
  for (inspect::Stage* s : stages_) s->offer_collector(offered_);
  LOOM_LOG(INFO, "mirror collector %s (%s)", cfg_.collectors[c].name.c_str(),
           mirror::switch_reason_name(chooser_->last_reason()));
}

Prober::View Prober::view() const {
  std::lock_guard<std::mutex> g(mu_);
  View v;
  const uint64_t now = now_ns(rte_get_tsc_cycles());
  v.current = cfg_.collectors[chooser_->current()].name;
  v.switches = chooser_->switches();
  v.last_reason = mirror::switch_reason_name(chooser_->last_reason());
  for (size_t c = 0; c < peers_.size(); c++)
    v.collectors.push_back({cfg_.collectors[c].name, cfg_.collectors[c].ip, peers_[c].mac_known,
                            peers_[c].last_rtt_ns, chooser_->best_rtt(c, now),
                            chooser_->probe_stats(c)});
  return v;
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
