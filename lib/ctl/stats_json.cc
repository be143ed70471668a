#include "ctl/stats_json.h"

#include <rte_cycles.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <type_traits>
#include <vector>

#include <rte_ethdev.h>

#include "port/telemetry.h"

namespace ctl {

RecordDrops record_drops(const Runtime& rt) {
  RecordDrops d;
  for (const auto& s : rt.stages) {
    d.streams += s->stats.records_dropped.get();
    d.messages += s->http_stats.records_dropped.get();
    d.packets += s->stats.pcap_dropped.get();
  }
  return d;
}

CollectorCopies collector_copies(const Runtime& rt, size_t i) {
  CollectorCopies c;
  for (const auto& s : rt.stages) {
    c.mirrored += s->stats.mirrored_to[i].get();
    c.dropped += s->stats.mirror_lost_to[i].get();
  }
  return c;
}

uint64_t copies_without_collector(const Runtime& rt) {
  uint64_t n = 0;
  for (const auto& s : rt.stages) n += s->stats.mirror_no_collector.get();
  return n;
}

Totals totals(const Runtime& rt) {
  Totals t;
  for (const auto& w : rt.workers) {
    t.rx_packets += w->stats.rx_packets.get();
    t.tx_packets += w->stats.tx_packets.get();
    t.rx_backpressure += w->stats.rx_backpressure.get();
    t.rx_pool_empty += w->stats.rx_pool_empty.get();
    for (size_t d = 0; d < core::kNumDrops; d++) t.drops[d] += w->stats.drops[d].get();
    t.polls_busy += w->stats.polls_busy.get();
    t.polls_idle += w->stats.polls_idle.get();
  }
  port::byte_totals(rt.ports, &t.rx_bytes, &t.tx_bytes);
  return t;
}

void write_inspect_stats(JsonWriter& j, const std::vector<const inspect::Stage*>& st) {
  // Blocks come out flat, in the order for_each_inspect_counter visits
  // them: pkt, malformed, encap, flows, reasm, streams.
  struct Ctx {
    JsonWriter* j;
    const char* block;
  } c{&j, nullptr};
  for_each_inspect_counter(
      st,
      [](void* p, const char* block, const char* name, uint64_t v) {
        Ctx& c = *static_cast<Ctx*>(p);
        if (!c.block || std::strcmp(c.block, block) != 0) {
          if (c.block) c.j->end_object();
          c.j->begin_object(block);
          c.block = block;
        }
        c.j->kv(name, v);
      },
      &c);
  if (c.block) j.end_object();
}

static void write_latency(JsonWriter& j, const std::vector<const core::LatencyHist*>& hold,
                          const std::vector<const core::LatencyHist*>& pre_tx) {
  auto add = [&j](const std::string& prefix, const std::vector<const core::LatencyHist*>& v) {
    const core::LatencySummary s = core::summarize(v.data(), v.size(), rte_get_tsc_hz());
    j.kv(prefix + "samples", s.samples);
    j.kv(prefix + "p50_ns", s.p50_ns);
    j.kv(prefix + "p99_ns", s.p99_ns);
    j.kv(prefix + "p999_ns", s.p999_ns);
    j.kv(prefix + "max_ns", s.max_ns);
  };
  j.begin_object("latency");  // RX to TX, relayed frames (worker.latency)
  add("", hold);
  add("pre_tx_", pre_tx);  // RX to the rte_eth_tx_burst call: without the PMD's transmit
  j.end_object();
}

static void write_drops(JsonWriter& j, const uint64_t* d) {
  j.begin_object("drops");
  for (size_t i = 0; i < core::kNumDrops; i++) j.kv(core::kDropNames[i], d[i]);
  j.end_object();
}

std::string stats_json(const Runtime& rt) {
  JsonWriter j;
  j.begin_object();
  j.kv("loom_version", rt.version);
  j.kv("mode", mode_name(rt.cfg.mode));
  if (rt.cfg.mode == Mode::kOffline) {
    j.begin_object("input");
    j.kv("pcap", rt.cfg.pcap);
    if (rt.capture_count_known) j.kv("packets_in_capture", rt.capture_packets);
    j.kv("end", rt.end_reason);
    j.end_object();
  }
  const Totals t = totals(rt);
  std::vector<const inspect::Stage*> all;
  for (const auto& s : rt.stages) all.push_back(s.get());
  j.begin_object("totals");
  j.kv("rx_packets", t.rx_packets);
  j.kv("rx_bytes", t.rx_bytes);
  j.kv("tx_packets", t.tx_packets);
  j.kv("tx_bytes", t.tx_bytes);
  if (rt.cfg.mode != Mode::kOffline) j.kv("rx_pool_empty", t.rx_pool_empty);
  write_drops(j, t.drops);
  write_inspect_stats(j, all);
  if (rt.cfg.latency) {
    std::vector<const core::LatencyHist*> h, p;
    for (const auto& w : rt.workers) {
      h.push_back(&w->hold);
      p.push_back(&w->pre_tx);
    }
    write_latency(j, h, p);
  }
  j.end_object();

  j.begin_array("ports");
  for (const auto& p : rt.ports) {
    rte_eth_stats s{};
    rte_eth_stats_get(p.port_id, &s);
    j.begin_object();
    j.kv("name", p.spec.name);
    j.kv("driver", p.driver);
    j.kv("rx_queues", p.spec.rx_queues);
    j.kv("tx_queues", p.spec.tx_queues);
    j.kv("rx_packets", s.ipackets);
    j.kv("rx_bytes", s.ibytes);
    j.kv("tx_packets", s.opackets);
    j.kv("tx_bytes", s.obytes);
    j.kv("imissed", s.imissed);
    j.kv("ierrors", s.ierrors);
    j.kv("oerrors", s.oerrors);
    j.kv("rx_nombuf", s.rx_nombuf);
    if (rt.cfg.mode != Mode::kOffline) {
      const port::LinkWatch::View l = rt.links.view(p.port_id);
      j.kv("link_up", uint64_t(l.up));
      j.kv("link_downs", l.downs);
      j.kv("link_down_ms", l.down_ms);
    }
    j.end_object();
  }
  j.end_array();

  if (const RuleEngine::View v = rt.rules.view(); v.generation) {
    j.begin_object("rules");
    j.kv("generation", v.generation);
    j.kv("reloads", v.reloads);
    j.kv("reload_errors", v.reload_errors);
    j.kv("scan_errors", v.scan_errors);
    j.begin_object("actions");
    for (size_t a = 0; a < match::kNumActions; a++) j.kv(match::action_name(match::Action(a)), v.actions[a]);
    j.end_object();
    j.begin_object("hits");  // since the last reload
    for (const auto& r : v.rules) j.kv(r.name, r.hits);
    j.end_object();
    j.end_object();
  }

  if (rt.prober) {
    const mirror::Prober::View v = rt.prober->view();
    j.begin_object("collectors");
    j.kv("current", v.current);
    j.kv("switches", v.switches);
    j.kv("last_reason", v.last_reason);
    j.kv("mirror_no_collector", copies_without_collector(rt));
    j.begin_array("list");  // file order, as /loom/collectors' c0, c1, ...
    for (size_t i = 0; i < v.collectors.size(); i++) {
      const mirror::Prober::CollectorView& c = v.collectors[i];
      const CollectorCopies copies = collector_copies(rt, i);
      j.begin_object();
      j.kv("name", c.name);
      j.kv("mac_known", uint64_t(c.mac_known));
      if (c.last_rtt_ns) j.kv("last_rtt_us", *c.last_rtt_ns / 1000);
      if (c.best_rtt_ns) j.kv("best_rtt_us", *c.best_rtt_ns / 1000);
      j.kv("probes_sent", c.probes.sent);
      j.kv("probes_answered", c.probes.answered);
      j.kv("probes_timed_out", c.probes.timeouts);
      j.kv("mirrored", copies.mirrored);
      j.kv("mirror_dropped", copies.dropped);
      j.end_object();
    }
    j.end_array();
    j.end_object();
  }

  // At exit written after the sinks stopped (every record is in its
  // file); live, a snapshot of the running counters.
  j.begin_object("outputs");
  for (const auto& o : rt.sinks.outputs()) {
    j.begin_object(o.name);
    j.kv("written", o.stats->lines.load());
    j.kv("bytes", o.stats->bytes.load());
    j.kv("parts", o.stats->parts.load());
    j.kv("reopens", o.stats->reopens.load());
    j.kv("write_errors", o.stats->write_errors.load());
    j.kv("lost", o.stats->lost.load());
    // Outputs that are not files (Kafka) add their own counters.def list.
    if (o.writer)
      o.writer->visit([&](const char* name, core::CounterKind, const char*, uint64_t v) { j.kv(name, v); });
    j.end_object();
  }
  j.end_object();

  j.begin_array("workers");
  for (size_t i = 0; i < rt.workers.size(); i++) {
    const auto& w = *rt.workers[i];
    j.begin_object();
    j.kv("id", w.id);
    j.kv("lcore", w.lcore);
    j.kv("rx_packets", w.stats.rx_packets.get());
    j.kv("tx_packets", w.stats.tx_packets.get());
    uint64_t d[core::kNumDrops];
    for (size_t k = 0; k < core::kNumDrops; k++) d[k] = w.stats.drops[k].get();
    write_drops(j, d);
    if (rt.cfg.latency) {
      write_latency(j, {&w.hold}, {&w.pre_tx});
    }
    if (i < rt.stages.size()) write_inspect_stats(j, {rt.stages[i].get()});
    j.end_object();
  }
  j.end_array();
  j.end_object();
  return j.str();
}

std::string run_json(const Runtime& rt, double wall) {
  const Totals t = totals(rt);
  JsonWriter j;
  j.begin_object();
  j.kv("loom_version", rt.version);
  j.kv("mode", mode_name(rt.cfg.mode));
  j.kv_double("wall_seconds", wall);
  j.kv_double("rx_packets_per_second", wall > 0 ? double(t.rx_packets) / wall : 0);
  j.kv("polls_busy", t.polls_busy);
  j.kv("polls_idle", t.polls_idle);
  j.kv("rx_backpressure", t.rx_backpressure);
  j.kv("end", rt.end_reason);
  j.end_object();
  return j.str();
}

bool write_file_durable(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    off += size_t(n);
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace ctl
