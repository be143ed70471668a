#include "port/steer.h"

#include <cstdio>

#include <rte_byteorder.h>
#include <rte_ethdev.h>
#include <rte_flow.h>

namespace port {

std::vector<std::pair<uint16_t, uint16_t>> range_blocks(uint16_t lo, uint16_t hi) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  uint32_t v = lo;
  while (v <= hi) {
    // The largest power-of-two block starting at v (aligned) that ends by hi.
    uint32_t size = 1;
    while (size < 65536 && (v & (2 * size - 1)) == 0 && v + 2 * size - 1 <= hi) size *= 2;
    out.emplace_back(uint16_t(v), uint16_t(~(size - 1)));
    v += size;
  }
  return out;
}

std::vector<FlowRule> steer_rules(const SteerSpec& s) {
  std::vector<FlowRule> out;
  if (s.service_ports.empty()) return out;  // nothing to single out
  for (uint8_t ipver : {4, 6})
    for (const PortRange& r : s.service_ports)
      for (auto [value, mask] : range_blocks(r.lo, r.hi))
        for (bool src : {false, true}) {
          FlowRule f;
          f.ipver = ipver;
          f.src = src;
          f.port = value;
          f.mask = mask;
          out.push_back(f);
        }
  if (s.rest == Rest::kDrop)
    for (uint8_t ipver : {4, 6}) {
      FlowRule f;
      f.priority = 1;
      f.ipver = ipver;
      f.tcp = false;
      f.drop = true;
      out.push_back(f);
    }
  return out;
}

std::string FlowRule::describe(uint16_t rx_queues) const {
  char buf[160];
  int n = std::snprintf(buf, sizeof buf, "prio %u: eth / ipv%u", priority, unsigned(ipver));
  if (tcp)
    n += std::snprintf(buf + n, sizeof buf - size_t(n), " / tcp %s %u/0x%04x", src ? "src" : "dst",
                       unsigned(port), unsigned(mask));
  if (drop)
    std::snprintf(buf + n, sizeof buf - size_t(n), " -> drop");
  else if (rx_queues > 1)
    std::snprintf(buf + n, sizeof buf - size_t(n), " -> rss queues 0-%u", unsigned(rx_queues - 1));
  else
    std::snprintf(buf + n, sizeof buf - size_t(n), " -> rss queue 0");
  return buf;
}

namespace {

/* rte_flow's view of one rule; the structs it points into live here. */
struct Built {
  rte_flow_attr attr{};
  rte_flow_item pattern[4]{};
  rte_flow_item_tcp tcp_spec{}, tcp_mask{};
  rte_flow_action actions[2]{};
  rte_flow_action_rss rss{};
};

void build(Built& b, const FlowRule& r, const std::vector<uint16_t>& queues, uint64_t rss_hf,
           const std::vector<uint8_t>& key) {
  b.attr.ingress = 1;
  b.attr.priority = r.priority;
  b.pattern[0].type = RTE_FLOW_ITEM_TYPE_ETH;
  b.pattern[1].type = r.ipver == 6 ? RTE_FLOW_ITEM_TYPE_IPV6 : RTE_FLOW_ITEM_TYPE_IPV4;
  int n = 2;
  if (r.tcp) {
    (r.src ? b.tcp_spec.hdr.src_port : b.tcp_spec.hdr.dst_port) = rte_cpu_to_be_16(r.port);
    (r.src ? b.tcp_mask.hdr.src_port : b.tcp_mask.hdr.dst_port) = rte_cpu_to_be_16(r.mask);
    b.pattern[n].type = RTE_FLOW_ITEM_TYPE_TCP;
    b.pattern[n].spec = &b.tcp_spec;
    b.pattern[n].mask = &b.tcp_mask;
    n++;
  }
  b.pattern[n].type = RTE_FLOW_ITEM_TYPE_END;
  if (r.drop) {
    b.actions[0].type = RTE_FLOW_ACTION_TYPE_DROP;
  } else {
    b.rss.func = RTE_ETH_HASH_FUNCTION_DEFAULT;
    b.rss.types = rss_hf;
    b.rss.key = key.empty() ? nullptr : key.data();
    b.rss.key_len = uint32_t(key.size());
    b.rss.queue = queues.data();
    b.rss.queue_num = uint32_t(queues.size());
    b.actions[0].type = RTE_FLOW_ACTION_TYPE_RSS;
    b.actions[0].conf = &b.rss;
  }
  b.actions[1].type = RTE_FLOW_ACTION_TYPE_END;
}

std::string reason(const rte_flow_error& e, int rc) {
  const std::string code = rte_strerror(-rc);
  if (!e.message || code == e.message) return code;
  return std::string(e.message) + " (" + code + ")";
}

}  // namespace

InstallReport install(uint16_t port_id, const std::vector<FlowRule>& rules, uint16_t rx_queues,
                      uint64_t rss_hf, const std::vector<uint8_t>& rss_key, bool validate_only) {
  InstallReport rep;
  std::vector<uint16_t> queues(rx_queues);
  for (uint16_t q = 0; q < rx_queues; q++) queues[q] = q;
  bool all_ok = !rules.empty();
  for (const FlowRule& r : rules) {
    Built b;
    build(b, r, queues, rss_hf, rss_key);
    rte_flow_error err{};
    const int rc = rte_flow_validate(port_id, &b.attr, b.pattern, b.actions, &err);
    RuleResult res{r, rc == 0, rc == 0 ? "" : reason(err, rc)};
    all_ok &= res.ok;
    rep.rules.push_back(std::move(res));
  }
  if (!all_ok || validate_only) return rep;
  for (RuleResult& res : rep.rules) {
    Built b;
    build(b, res.rule, queues, rss_hf, rss_key);
    rte_flow_error err{};
    rte_flow* f = rte_flow_create(port_id, &b.attr, b.pattern, b.actions, &err);
    if (!f) {
      // Validated but not created (out of NIC resources): all or nothing.
      res.ok = false;
      res.reason = reason(err, -rte_errno);
      uninstall(port_id, rep);
      return rep;
    }
    rep.handles.push_back(f);
  }
  rep.hardware = true;
  return rep;
}

void uninstall(uint16_t port_id, InstallReport& r) noexcept {
  for (rte_flow* f : r.handles) {
    rte_flow_error err{};
    rte_flow_destroy(port_id, f, &err);
  }
  r.handles.clear();
  r.hardware = false;
}

Steer::Steer(const SteerSpec& s) : active_(!s.service_ports.empty()), rest_(s.rest) {
  for (const PortRange& r : s.service_ports)
    for (uint32_t p = r.lo; p <= r.hi; p++) bits_[p >> 6] |= 1ull << (p & 63);
}

}  // namespace port
