#include "metrics/metrics.h"

#include <map>
#include <sstream>
#include <stdexcept>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/text_serializer.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "core/counters.h"
#include "ctl/stats_json.h"
#include "port/link.h"

namespace metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

/* Families by name, in the order they were first added. */
class Builder {
 public:
  void counter(const std::string& name, const std::string& help, const Labels& l, double v) {
    ClientMetric m;
    m.label = l;
    m.counter.value = v;
    family(name + "_total", help, MetricType::Counter).metric.push_back(std::move(m));
  }
  void gauge(const std::string& name, const std::string& help, const Labels& l, double v) {
    ClientMetric m;
    m.label = l;
    m.gauge.value = v;
    family(name, help, MetricType::Gauge).metric.push_back(std::move(m));
  }
  void add(core::CounterKind k, const std::string& name, const std::string& help, const Labels& l,
           double v) {
    if (k == core::CounterKind::gauge)
      gauge(name, help, l, v);
    else
      counter(name, help, l, v);
  }
  std::vector<MetricFamily> take() { return std::move(out_); }

 private:
  MetricFamily& family(const std::string& name, const std::string& help, MetricType t) {
    auto [it, fresh] = index_.emplace(name, out_.size());
    if (fresh) {
      MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = t;
      out_.push_back(std::move(f));
    }
    return out_[it->second];
  }
  std::vector<MetricFamily> out_;
  std::map<std::string, size_t> index_;
};

Labels worker_label(size_t w) { return {{"worker", std::to_string(w)}}; }

template <class S>
void walk_def(Builder& b, const char* lib, const S& stats, const Labels& l) {
  stats.visit([&](const char* name, core::CounterKind k, const char* help, const core::Counter& c) {
    b.add(k, std::string("loom_") + lib + "_" + name, help, l, double(c.get()));
  });
}

void workers(Builder& b, const ctl::Runtime& rt) {
  for (size_t i = 0; i < rt.workers.size(); i++) {
    const core::WorkerCtx& w = *rt.workers[i];
    const Labels l = worker_label(i);
    walk_def(b, "core", w.stats, l);
    for (size_t d = 0; d < core::kNumDrops; d++) {
      Labels ld = l;
      ld.push_back({"reason", core::kDropNames[d]});
      b.counter("loom_core_drops",
                "Frames a worker dropped, by reason (lib/core/drops.def; /loom/drops explains each).",
                ld, double(w.stats.drops[d].get()));
    }
  }
  if (!rt.cfg.latency) return;
  const uint64_t hz = rte_get_tsc_hz();
  for (size_t i = 0; i < rt.workers.size(); i++) {
    const core::WorkerCtx& w = *rt.workers[i];
    auto emit = [&](const char* name, const char* help, const core::LatencyHist& h) {
      const core::LatencyHist* one = &h;
      const core::LatencySummary s = core::summarize(&one, 1, hz);
      const std::pair<const char*, uint64_t> q[] = {
          {"0.5", s.p50_ns}, {"0.99", s.p99_ns}, {"0.999", s.p999_ns}, {"1", s.max_ns}};
      for (const auto& [quantile, ns] : q) {
        Labels l = worker_label(i);
        l.push_back({"quantile", quantile});
        b.gauge(std::string(name) + "_seconds", help, l, double(ns) * 1e-9);
      }
      b.counter(std::string(name) + "_samples",
                "Frames measured by the relay latency histogram (worker.latency).", worker_label(i),
                double(s.samples));
    };
    emit("loom_core_relay_latency",
         "Time the relay held a frame, RX to TX taken by the PMD, since start (upper bound of "
         "the histogram bucket; quantile 1 is the maximum).",
         w.hold);
    emit("loom_core_relay_pre_tx_latency",
         "Time from RX to the rte_eth_tx_burst call, without the PMD's transmit, since start.",
         w.pre_tx);
  }
}

void stages(Builder& b, const ctl::Runtime& rt) {
  for (size_t i = 0; i < rt.stages.size(); i++) {
    const inspect::Stage& s = *rt.stages[i];
    const Labels l = worker_label(i);
    for (size_t k = 0; k < pkt::kNumPktCounters; k++)
      b.counter(std::string("loom_pkt_") + pkt::kPktNames[k], pkt::kPktHelp[k], l,
                double(pkt::pkt_counter(s.pkt_stats, k).get()));
    for (size_t e = 1; e <= pkt::kNumEncap; e++)
      b.counter(std::string("loom_pkt_encap_") + pkt::kEncapNames[e], pkt::kEncapHelp[e], l,
                double(s.pkt_stats.encap[e].get()));
    for (size_t m = 0; m < pkt::kNumMalformed; m++) {
      Labels lm = l;
      lm.push_back({"reason", pkt::kMalformedNames[m]});
      b.counter("loom_pkt_malformed",
                "Frames whose headers could not be decoded, by reason (lib/pkt/counters.def); "
                "still relayed inline.",
                lm, double(s.pkt_stats.malformed[m].get()));
    }
    walk_def(b, "flow", s.flow_stats, l);
    b.gauge("loom_flow_capacity", "Connections the worker's flow table holds at most.", l,
            double(s.table().capacity()));
    walk_def(b, "tcp", s.tcp_stats, l);
    walk_def(b, "reasm", s.reasm_stats, l);
    for (size_t k = 0; k < http::kNumCounters; k++) {
      const http::CounterInfo& c = http::kCounters[k];
      const std::string name = c.name;
      const bool gauge = name.size() > 7 && name.compare(name.size() - 7, 7, "_in_use") == 0;
      b.add(gauge ? core::CounterKind::gauge : core::CounterKind::counter, "loom_http_" + name,
            std::string(c.help) + ".", l, double((s.http_stats.*c.field).get()));
    }
    for (size_t v = 0; v < http::kNumVerdicts; v++) {
      Labels lv = l;
      lv.push_back({"reason", http::verdict_name(http::Verdict(v))});
      b.counter("loom_http_verdicts", "Messages by the rules' verdict (record, skip, tag, mirror, drop).",
                lv, double(s.http_stats.verdicts[v].get()));
    }
    for (size_t e = 1; e < http::kNumErrors; e++) {
      if (!*http::error_name(e)) continue;
      Labels le = l;
      le.push_back({"reason", http::error_name(e)});
      b.counter("loom_http_errors", "Framing errors by reason (lib/http/errors.def, llhttp's names).",
                le, double(s.http_stats.errors[e].get()));
    }
    walk_def(b, "inspect", s.stats, l);
    for (size_t e = 0; e < inspect::kNumEnds; e++) {
      Labels le = l;
      le.push_back({"reason", inspect::empty_end_name(e)});
      b.counter("loom_inspect_streams_empty",
                "Connections that never carried payload, by how they ended (stats.json's streams_empty).",
                le, double(s.stats.empty_by_end[e].get()));
    }
    if (rt.cfg.mirror.enabled) {
      b.counter("loom_mirror_copies", "Mirror frames built.", l, double(s.mirror_stats.copies.get()));
      b.counter("loom_mirror_truncated", "Mirror frames cut to fit the mirror MTU.", l,
                double(s.mirror_stats.truncated.get()));
      b.counter("loom_mirror_no_mbuf", "Frames not mirrored: the mirror pool was empty.", l,
                double(s.mirror_stats.no_mbuf.get()));
      b.counter("loom_mirror_tx_full", "Mirror copies the mirror port's TX queue refused.", l,
                double(s.stats.mirror_tx_full.get()));
      b.counter("loom_mirror_no_collector", "Copies not made: no collector reachable yet (no MAC).",
                l, double(s.stats.mirror_no_collector.get()));
    }
  }
}

void ports(Builder& b, const ctl::Runtime& rt) {
  for (const port::PortState& p : rt.ports) {
    const Labels l = {{"port", p.spec.name}};
    rte_eth_stats s{};
    rte_eth_stats_get(p.port_id, &s);
    b.counter("loom_port_rx_packets", "Frames the port received (ethdev ipackets).", l, double(s.ipackets));
    b.counter("loom_port_rx_bytes", "Bytes the port received (ethdev ibytes; net_ring counts none).", l,
              double(s.ibytes));
    b.counter("loom_port_tx_packets", "Frames the port sent (ethdev opackets).", l, double(s.opackets));
    b.counter("loom_port_tx_bytes", "Bytes the port sent (ethdev obytes).", l, double(s.obytes));
    b.counter("loom_port_imissed", "Frames the NIC dropped because its RX queues were full.", l,
              double(s.imissed));
    b.counter("loom_port_ierrors", "Erroneous frames received.", l, double(s.ierrors));
    b.counter("loom_port_oerrors", "Frames the port failed to send.", l, double(s.oerrors));
    b.counter("loom_port_rx_nombuf", "RX mbuf allocation failures: the pool was empty.", l,
              double(s.rx_nombuf));
    rte_eth_link link{};
    const bool have_link = rte_eth_link_get_nowait(p.port_id, &link) == 0;
    // The PMD's view and the kernel interface's (af_packet never updates
    // its own): port/link.h.
    b.gauge("loom_port_link_up", "1 when the port's link is up (polled, not cached).", l,
            port::link_up_now(p.port_id) ? 1 : 0);
    b.gauge("loom_port_link_speed_mbps", "Link speed in Mbit/s as the PMD reports it (0 unknown).", l,
            have_link && link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN ? double(link.link_speed) : 0);
    const unsigned nq = RTE_ETHDEV_QUEUE_STAT_CNTRS;
    for (unsigned q = 0; q < p.spec.rx_queues; q++) {
      Labels lq = l;
      lq.push_back({"queue", std::to_string(q)});
      if (q < nq) {
        b.counter("loom_port_queue_rx_packets", "Frames received on this RX queue.", lq,
                  double(s.q_ipackets[q]));
        b.counter("loom_port_queue_rx_bytes", "Bytes received on this RX queue.", lq,
                  double(s.q_ibytes[q]));
      }
      // The descriptors filled and not yet polled: how close the queue is
      // to imissed. Only PMDs that implement it (ixgbe, i40e, ice, mlx5,
      // virtio...) answer; the others (net_null, net_ring, af_packet)
      // return -ENOTSUP and the series is left out rather than faked.
      const int fill = rte_eth_rx_queue_count(p.port_id, uint16_t(q));
      if (fill >= 0)
        b.gauge("loom_port_rx_queue_fill", "RX descriptors filled by the NIC and not yet polled.", lq,
                double(fill));
      rte_eth_rxq_info qi{};
      if (rte_eth_rx_queue_info_get(p.port_id, uint16_t(q), &qi) == 0)
        b.gauge("loom_port_rx_queue_size", "RX descriptors of this queue (the fill level's limit).", lq,
                double(qi.nb_desc));
    }
    for (unsigned q = 0; q < p.spec.tx_queues && q < nq; q++) {
      Labels lq = l;
      lq.push_back({"queue", std::to_string(q)});
      b.counter("loom_port_queue_tx_packets", "Frames sent on this TX queue.", lq, double(s.q_opackets[q]));
      b.counter("loom_port_queue_tx_bytes", "Bytes sent on this TX queue.", lq, double(s.q_obytes[q]));
    }
  }
  for (const char* name : {"loom_mbufs", "loom_mirror"}) {
    const rte_mempool* mp = rte_mempool_lookup(name);
    if (!mp) continue;
    const Labels l = {{"pool", name}};
    b.gauge("loom_port_mempool_available", "Mbufs free in the pool (caches included).", l,
            double(rte_mempool_avail_count(mp)));
    b.gauge("loom_port_mempool_in_use", "Mbufs taken from the pool: in RX rings, held by reassembly, in flight.",
            l, double(rte_mempool_in_use_count(mp)));
  }
}

void sinks(Builder& b, const ctl::Runtime& rt) {
  const ctl::RecordDrops dropped = ctl::record_drops(rt);
  for (const auto& o : rt.sinks.outputs()) {
    const Labels l = {{"output", o.name}};
    b.counter("loom_sink_written", "Records written to the output file.", l,
              double(o.stats->lines.load(std::memory_order_relaxed)));
    b.counter("loom_sink_bytes", "Bytes written to the output file.", l,
              double(o.stats->bytes.load(std::memory_order_relaxed)));
    b.counter("loom_sink_write_errors", "Writes that failed (disk full, I/O error).", l,
              double(o.stats->write_errors.load(std::memory_order_relaxed)));
    b.counter("loom_sink_parts", "Files opened for this output (1 without rotation).", l,
              double(o.stats->parts.load(std::memory_order_relaxed)));
    b.gauge("loom_sink_ring_depth", "Records waiting in the workers' rings for this output's sink.", l,
            double(o.depth));
    b.counter("loom_sink_dropped",
              "Records the workers could not hand to this output (no record free, ring full).", l,
              double(dropped.of_output(o.name)));
  }
}

void rules(Builder& b, const ctl::Runtime& rt) {
  const ctl::RuleEngine::View v = rt.rules.view();
  if (!v.generation) return;
  b.gauge("loom_match_generation", "Rule set generation: 1 at start, +1 per accepted reload.", {},
          double(v.generation));
  b.counter("loom_match_reloads", "Rule reloads accepted.", {}, double(v.reloads));
  b.counter("loom_match_reload_errors", "Rule reloads refused (the running rules stayed).", {},
            double(v.reload_errors));
  b.counter("loom_match_scan_errors", "Hyperscan scans that failed.", {}, double(v.scan_errors));
  for (size_t a = 0; a < match::kNumActions; a++)
    b.counter("loom_match_actions", "Messages by the action applied.",
              {{"reason", match::action_name(match::Action(a))}}, double(v.actions[a]));
  for (const auto& r : v.rules)
    b.counter("loom_match_rule_hits", "Messages a rule matched since the last reload.", {{"rule", r.name}},
              double(r.hits));
}

void collectors(Builder& b, const ctl::Runtime& rt) {
  if (!rt.prober) return;
  const mirror::Prober::View v = rt.prober->view();
  b.counter("loom_mirror_collector_switches", "Times the chosen collector changed.", {}, double(v.switches));
  for (size_t i = 0; i < v.collectors.size(); i++) {
    const mirror::Prober::CollectorView& c = v.collectors[i];
    const Labels l = {{"collector", c.name}};
    b.gauge("loom_mirror_collector_chosen", "1 for the collector mirror copies go to now.", l,
            c.name == v.current ? 1 : 0);
    if (c.last_rtt_ns)
      b.gauge("loom_mirror_collector_rtt_seconds", "Last probe round-trip time.", l, double(*c.last_rtt_ns) * 1e-9);
    if (c.best_rtt_ns)
      b.gauge("loom_mirror_collector_best_rtt_seconds", "Best round-trip time within probe.window_ms.", l,
              double(*c.best_rtt_ns) * 1e-9);
    b.counter("loom_mirror_collector_probes_sent", "Probes sent.", l, double(c.probes.sent));
    b.counter("loom_mirror_collector_probes_answered", "Probes answered.", l, double(c.probes.answered));
    b.counter("loom_mirror_collector_probes_timed_out", "Probes unanswered within probe.timeout_ms.", l,
              double(c.probes.timeouts));
    const ctl::CollectorCopies copies = ctl::collector_copies(rt, i);
    b.counter("loom_mirror_collector_mirrored", "Copies the mirror port took for this collector.", l,
              double(copies.mirrored));
    b.counter("loom_mirror_collector_dropped", "Copies for this collector the TX queue refused.", l,
              double(copies.dropped));
  }
}

class Collector : public prometheus::Collectable {
 public:
  explicit Collector(const ctl::Runtime* rt) : rt_(rt) {}
  std::vector<MetricFamily> Collect() const override { return collect(*rt_); }

 private:
  const ctl::Runtime* rt_;
};

}  // namespace

std::vector<MetricFamily> collect(const ctl::Runtime& rt) {
  Builder b;
  b.gauge("loom_ctl_build_info", "Always 1; the labels say which Loom this is.",
          {{"version", rt.version}, {"mode", ctl::mode_name(rt.cfg.mode)}}, 1);
  const bool ready = rt.ready.load(std::memory_order_acquire);
  b.gauge("loom_ctl_ready", "1 once ports, workers and outputs run; until then nothing else is reported.",
          {}, ready ? 1 : 0);
  if (!ready) return b.take();
  if (rt.start_tsc)
    b.gauge("loom_ctl_uptime_seconds", "Seconds since EAL started.", {},
            double(rte_get_tsc_cycles() - rt.start_tsc) / double(rte_get_tsc_hz()));
  workers(b, rt);
  stages(b, rt);
  ports(b, rt);
  sinks(b, rt);
  rules(b, rt);
  collectors(b, rt);
  return b.take();
}

std::string text(const ctl::Runtime& rt) {
  std::ostringstream os;
  prometheus::TextSerializer().Serialize(os, collect(rt));
  return os.str();
}

struct Server::Impl {
  std::unique_ptr<prometheus::Exposer> exposer;
  std::shared_ptr<Collector> collector;
};

Server::Server(const ctl::Runtime* rt, const std::string& host, uint16_t port) : impl_(new Impl) {
  const std::string addr =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  try {
    // One thread: scrapes come every few seconds, and each thread is a
    // thread on the main lcore's CPU.
    impl_->exposer = std::make_unique<prometheus::Exposer>(addr, 1);
  } catch (const std::exception& e) {
    throw std::runtime_error("metrics.listen " + addr + ": cannot listen (" + e.what() +
                             "); is the port in use or the address not this host's?");
  }
  impl_->collector = std::make_shared<Collector>(rt);
  impl_->exposer->RegisterCollectable(impl_->collector, "/metrics");
}

Server::~Server() {
  // The Exposer's destructor stops civetweb and joins its threads.
  impl_->exposer.reset();
}

uint16_t Server::port() const {
  const auto p = impl_->exposer->GetListeningPorts();
  return p.empty() ? 0 : uint16_t(p[0]);
}

}  // namespace metrics
