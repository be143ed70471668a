#include "mirror/prober.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include "core/log.h"
#include "mirror/arp.h"

namespace mirror {

namespace {

constexpr uint16_t kProbePort = 47474;  // our UDP source port for echo probes

std::unique_ptr<Chooser> make_chooser(const ProberConfig& c) {
  if (c.collectors.size() > kMaxCollectors)
    throw std::invalid_argument("at most " + std::to_string(kMaxCollectors) + " collectors");
  if (c.timeout_ns == 0) throw std::invalid_argument("the probe timeout must be > 0");
  return std::make_unique<Chooser>(c.collectors, c.choice);
}

}  // namespace

Prober::Prober(ProberConfig cfg, ProberPort port, Offer offer)
    : cfg_(std::move(cfg)), port_(port), offer_(std::move(offer)) {
  chooser_ = make_chooser(cfg_);
  if (!port_.pool) throw std::invalid_argument("the prober needs a mempool");
  peers_.resize(cfg_.collectors.size());
  rte_eth_macaddr_get(port_.port, &our_mac_);
  id_ = uint16_t(getpid());
  hz_ = rte_get_tsc_hz();
  t0_ = rte_get_tsc_cycles();
  timeout_tsc_ = uint64_t(double(cfg_.timeout_ns) * double(hz_) / 1e9);
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
  if (rte_eth_tx_burst(port_.port, port_.txq, &m, 1) != 1) rte_pktmbuf_free(m);
}

void Prober::receive(uint16_t q, uint64_t tsc, uint64_t now) {
  rte_mbuf* rx[32];
  const uint16_t n = rte_eth_rx_burst(port_.port, q, rx, 32);
  for (uint16_t i = 0; i < n; i++) {
    const uint8_t* d = rte_pktmbuf_mtod(rx[i], const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(rx[i]);
    Neighbour nb;
    ProbeReply rep;
    bool asked = false;
    const bool arp = len >= 14 && d[12] == 0x08 && d[13] == 0x06;
    if (rte_mbuf* m = arp ? rte_pktmbuf_alloc(port_.pool) : nullptr) {
      asked = answer_arp_request(d, len, our_mac_, port_.base.src_ip, m, nb);
      if (asked)
        send(m);
      else
        rte_pktmbuf_free(m);
    }
    if (asked || parse_arp_reply(d, len, nb)) {
      // A request for us tells the asker's address as well as a reply does.
      for (size_t c = 0; c < peers_.size(); c++)
        if (cfg_.collectors[c].ip == nb.ip) {
          peers_[c].mac = nb.mac;
          peers_[c].mac_known = true;
          peers_[c].mac_at = tsc;
        }
    } else if (cfg_.udp ? parse_udp_echo_reply(d, len, kProbePort, cfg_.udp_port, id_, rep)
                        : parse_icmp_echo_reply(d, len, id_, rep)) {
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

/* MACs: asked once a second while unknown, refreshed after a minute. */
void Prober::ask_macs(uint64_t tsc) {
  for (size_t c = 0; c < peers_.size(); c++) {
    Peer& p = peers_[c];
    const bool stale = !p.mac_known || tsc - p.mac_at > 60 * hz_;
    if (!stale || (p.arp_sent_at && tsc - p.arp_sent_at < hz_)) continue;
    if (rte_mbuf* m = rte_pktmbuf_alloc(port_.pool)) {
      if (build_arp_request(m, our_mac_, port_.base.src_ip, cfg_.collectors[c].ip))
        send(m);
      else
        rte_pktmbuf_free(m);
    }
    p.arp_sent_at = tsc;
  }
}

/* The probes the plan wants now. One without a MAC cannot leave: it
 * simply goes unanswered and times out like a lost one. */
void Prober::send_probes(uint64_t tsc, uint64_t now) {
  for (size_t c : chooser_->plan(now)) {
    chooser_->on_sent(c, now);
    const uint16_t seq = ++seq_;
    inflight_.push_back({c, seq, tsc + timeout_tsc_});
    if (!peers_[c].mac_known) continue;
    rte_mbuf* m = rte_pktmbuf_alloc(port_.pool);
    if (!m) continue;
    const ProbeAddrs a{our_mac_, peers_[c].mac, port_.base.src_ip, cfg_.collectors[c].ip};
    const uint64_t t = rte_get_tsc_cycles();
    const bool ok = cfg_.udp ? build_udp_echo(m, a, kProbePort, cfg_.udp_port, id_, seq, t)
                             : build_icmp_echo(m, a, id_, seq, t);
    if (ok)
      send(m);
    else
      rte_pktmbuf_free(m);
  }
}

void Prober::poll(uint64_t tsc) {
  const CollectorTarget* chosen = nullptr;
  {
    std::lock_guard<std::mutex> g(mu_);
    chosen = step(tsc);
  }
  // Outside the lock: the callback (and whoever it tells) may read view().
  if (!chosen) return;
  if (offer_) offer_(chosen);
  LOOM_LOG(INFO, "mirror collector %s (%s)", cfg_.collectors[chosen->index].name.c_str(),
           switch_reason_name(last_reason_));
}

const CollectorTarget* Prober::step(uint64_t tsc) {
  const uint64_t now = now_ns(tsc);
  // What came back.
  for (uint16_t q = 0; q < port_.rx_queues; q++) receive(q, tsc, now);
  // What will not come back.
  for (size_t k = 0; k < inflight_.size();) {
    if (tsc < inflight_[k].deadline) {
      k++;
      continue;
    }
    chooser_->on_timeout(inflight_[k].collector, now);
    inflight_.erase(inflight_.begin() + long(k));
  }
  ask_macs(tsc);
  send_probes(tsc, now);
  chooser_->evaluate(now);
  return publish();
}

/* The current choice when it, or its MAC, changed: a new target to
 * offer; nullptr otherwise. */
const CollectorTarget* Prober::publish() {
  const size_t c = chooser_->current();
  if (!peers_[c].mac_known) return nullptr;  // keep sending where we were (or nowhere yet)
  if (offered_ && offered_->index == c &&
      std::memcmp(offered_->tmpl.bytes, &peers_[c].mac, RTE_ETHER_ADDR_LEN) == 0)
    return nullptr;
  EncapConfig ec = port_.base;
  ec.dst_ip = cfg_.collectors[c].ip;
  ec.dst_mac = peers_[c].mac;
  CollectorTarget t;
  t.tmpl = make_template(ec);
  t.index = uint16_t(c);
  targets_.push_back(t);
  offered_ = &targets_.back();
  last_reason_ = chooser_->last_reason();
  return offered_;
}

Prober::View Prober::view() const {
  std::lock_guard<std::mutex> g(mu_);
  View v;
  const uint64_t now = now_ns(rte_get_tsc_cycles());
  v.current = cfg_.collectors[chooser_->current()].name;
  v.switches = chooser_->switches();
  v.last_reason = switch_reason_name(chooser_->last_reason());
  for (size_t c = 0; c < peers_.size(); c++)
    v.collectors.push_back({cfg_.collectors[c].name, cfg_.collectors[c].ip, peers_[c].mac_known,
                            peers_[c].last_rtt_ns, chooser_->best_rtt(c, now), chooser_->probe_stats(c)});
  return v;
}

}  // namespace mirror
