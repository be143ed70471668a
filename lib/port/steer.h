/* port/steer: which traffic the workers inspect, in hardware where the NIC
 * can (rte_flow) and in software where it cannot, with the same result.
 *
 * The operator names the service ports (TCP, either side of a connection)
 * and what happens to the rest of the IP traffic: `pass` (relayed inline,
 * never tracked) or `drop`. From that, steer_rules() derives one list of
 * rules per port, as data, so it can be printed (`loom --check-flows`),
 * unit-tested and then turned into rte_flow calls:
 *   - priority 0: eth / ipv4|ipv6 / tcp (src|dst port in a block) -> RSS
 *     over the port's RX queues with its symmetric key, so both directions
 *     still meet on one worker;
 *   - priority 1 (only with rest = drop): eth / ipv4|ipv6 -> DROP. Non-IP
 *     frames (ARP, LLDP) are never dropped: an inline Loom must not cut
 *     the hosts it sits between off from their neighbours.
 * A port range becomes the fewest value/mask blocks that cover it exactly
 * (rte_flow's `last` ranges are rarely supported by PMDs, masks are).
 *
 * install() validates every rule before it creates any; if the PMD refuses
 * one, it creates none and reports each rule's result with the PMD's
 * reason, and the caller falls back to software for that port. The
 * software check (Steer::inspect) runs in the worker for every frame
 * either way — two bit tests — so a partial hardware set-up can never
 * change what Loom does, only how much the NIC spares the workers.
 *
 * Control path (install, describe) on the main lcore; Steer is read-only
 * once built and shared by the workers.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct rte_flow;

namespace port {

struct PortRange {
  uint16_t lo = 0, hi = 0;
};

enum class Rest : uint8_t { kPass, kDrop };

struct SteerSpec {
  std::vector<PortRange> service_ports;  // empty: every TCP port is inspected
  Rest rest = Rest::kPass;
  bool hardware = true;                  // try rte_flow first
};

/* One rte_flow rule, as data. */
struct FlowRule {
  uint32_t priority = 0;
  uint8_t ipver = 4;           // 4 or 6
  bool tcp = true;             // false: any IP (the drop-the-rest rule)
  bool src = false;            // match the TCP source port, else the destination
  uint16_t port = 0, mask = 0;
  bool drop = false;           // else RSS over the port's queues
  std::string describe(uint16_t rx_queues) const;  // "prio 0: eth / ipv4 / tcp dst 80/0xffff -> rss 0-3"
};

/* The aligned value/mask blocks that cover [lo, hi] exactly. */
std::vector<std::pair<uint16_t, uint16_t>> range_blocks(uint16_t lo, uint16_t hi);

/* The rules for one port; empty when everything is inspected and passed. */
std::vector<FlowRule> steer_rules(const SteerSpec& s);

struct RuleResult {
  FlowRule rule;
  bool ok = false;
  std::string reason;  // the PMD's message when refused
};

struct InstallReport {
  bool hardware = false;  // every rule created in the NIC
  std::vector<RuleResult> rules;
  std::vector<rte_flow*> handles;
};

/* Validates every rule on the port, then (unless validate_only) creates
 * them all, or none if any is refused. RSS actions use the port's queues,
 * hash types and key as programmed. */
InstallReport install(uint16_t port_id, const std::vector<FlowRule>& rules, uint16_t rx_queues,
                      uint64_t rss_hf, const std::vector<uint8_t>& rss_key, bool validate_only);
void uninstall(uint16_t port_id, InstallReport& r) noexcept;

/* The software side: one bit per TCP port. */
class Steer {
 public:
  Steer() = default;
  explicit Steer(const SteerSpec& s);
  /* Whether steering applies at all (service ports were named). */
  bool active() const noexcept { return active_; }
  bool rest_dropped() const noexcept { return rest_ == Rest::kDrop; }
  bool service(uint16_t sport, uint16_t dport) const noexcept {
    return !active_ || bit(sport) || bit(dport);
  }

 private:
  bool bit(uint16_t p) const noexcept { return (bits_[p >> 6] >> (p & 63)) & 1; }
  bool active_ = false;
  Rest rest_ = Rest::kPass;
  uint64_t bits_[1024] = {};
};

}  // namespace port
