#include "port/steer_setup.h"

#include <algorithm>
#include <cstdio>

#include "core/log.h"

namespace port {

std::vector<InstallReport> steer_ports(const std::vector<PortState>& ports, const SteerSpec& spec,
                                       bool check_only) {
  std::vector<InstallReport> out;
  const std::vector<FlowRule> rules = steer_rules(spec);
  for (const PortState& p : ports) {
    InstallReport rep;
    if (!rules.empty() && (spec.hardware || check_only))
      rep = install(p.port_id, rules, p.spec.rx_queues, p.rss_hf, p.rss_key, check_only);
    const char* name = p.spec.name.c_str();
    if (check_only) {
      std::printf("port %s (%s): %zu rule(s)%s\n", name, p.driver.c_str(), rules.size(),
                  rules.empty() ? ": every TCP port inspected, nothing to steer" : "");
      for (const RuleResult& r : rep.rules)
        std::printf("  %s: %s%s\n", r.rule.describe(p.spec.rx_queues).c_str(),
                    r.ok ? "accepted" : "refused: ", r.reason.c_str());
      if (!rules.empty())
        std::printf("  => %s\n", std::all_of(rep.rules.begin(), rep.rules.end(),
                                             [](const RuleResult& r) { return r.ok; })
                                     ? "hardware (rte_flow)"
                                     : "software (the workers apply the same selection)");
    } else if (!rules.empty()) {
      for (const RuleResult& r : rep.rules) {
        if (r.ok)
          LOOM_LOG(INFO, "port %s rte_flow %s: ok", name, r.rule.describe(p.spec.rx_queues).c_str());
        else
          LOOM_LOG(WARNING, "port %s rte_flow %s: refused: %s", name,
                   r.rule.describe(p.spec.rx_queues).c_str(), r.reason.c_str());
      }
      if (rep.hardware)
        LOOM_LOG(INFO, "port %s: %zu steering rules in hardware", name, rep.handles.size());
      else
        LOOM_LOG(WARNING, "port %s: steering in software (%s)", name,
                 spec.hardware ? "the PMD refused a rule" : "steering.hardware = false");
    }
    out.push_back(std::move(rep));
  }
  return out;
}

}  // namespace port
