#include "ctl/stats_json.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include <rte_ethdev.h>

namespace ctl {

Totals totals(const Runtime& rt) {
  Totals t;
  for (const auto& w : rt.workers) {
    t.rx_packets += w->stats.rx_packets.get();
    t.rx_bytes += w->stats.rx_bytes.get();
    t.tx_packets += w->stats.tx_packets.get();
    t.tx_bytes += w->stats.tx_bytes.get();
    for (size_t d = 0; d < core::kNumDrops; d++) t.drops[d] += w->stats.drops[d].get();
    t.polls_busy += w->stats.polls_busy.get();
    t.polls_idle += w->stats.polls_idle.get();
  }
  return t;
}

void write_pkt_stats(JsonWriter& j, const pkt::Stats* const* s, size_t n) {
  auto sum = [&](auto field) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v += (s[i]->*field).get();
    return v;
  };
  j.begin_object("pkt");
  j.kv("ipv4", sum(&pkt::Stats::ipv4));
  j.kv("ipv6", sum(&pkt::Stats::ipv6));
  j.kv("non_ip", sum(&pkt::Stats::non_ip));
  j.kv("vlan_tagged", sum(&pkt::Stats::vlan_tagged));
  j.kv("tcp", sum(&pkt::Stats::tcp));
  j.kv("udp", sum(&pkt::Stats::udp));
  j.kv("other_l4", sum(&pkt::Stats::other_l4));
  j.kv("ip_fragments", sum(&pkt::Stats::ip_fragments));
  j.begin_object("malformed");
  for (size_t m = 0; m < pkt::kNumMalformed; m++) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v += s[i]->malformed[m].get();
    j.kv(pkt::kMalformedNames[m], v);
  }
  j.end_object();
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
  std::vector<const pkt::Stats*> ps;
  for (const auto& p : rt.pkt_stats) ps.push_back(p.get());
  j.begin_object("totals");
  j.kv("rx_packets", t.rx_packets);
  j.kv("rx_bytes", t.rx_bytes);
  j.kv("tx_packets", t.tx_packets);
  j.kv("tx_bytes", t.tx_bytes);
  write_drops(j, t.drops);
  write_pkt_stats(j, ps.data(), ps.size());
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
    j.end_object();
  }
  j.end_array();

  j.begin_array("workers");
  for (size_t i = 0; i < rt.workers.size(); i++) {
    const auto& w = *rt.workers[i];
    j.begin_object();
    j.kv("id", w.id);
    j.kv("lcore", w.lcore);
    j.kv("rx_packets", w.stats.rx_packets.get());
    j.kv("rx_bytes", w.stats.rx_bytes.get());
    j.kv("tx_packets", w.stats.tx_packets.get());
    j.kv("tx_bytes", w.stats.tx_bytes.get());
    uint64_t d[core::kNumDrops];
    for (size_t k = 0; k < core::kNumDrops; k++) d[k] = w.stats.drops[k].get();
    write_drops(j, d);
    const pkt::Stats* one = rt.pkt_stats[i].get();
    write_pkt_stats(j, &one, 1);
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
