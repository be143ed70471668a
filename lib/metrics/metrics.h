/* metrics: Loom's counters as Prometheus metrics, served over HTTP.
 *
 * collect() walks what stats.json and telemetry walk (the counters.def
 * lists and the ports, sinks, rules and collectors of a Runtime) and names
 * each metric loom_<lib>_<name>: counters end in _total, gauges do not;
 * labels are worker, port, queue, reason, output, rule, collector and
 * quantile where they apply; the help text is the counters list's. It
 * only reads: core::Counter values without locks, ethdev stats and
 * rte_eth_rx_queue_count (the RX fill level, where the PMD reports it),
 * so a scrape never blocks a worker.
 *
 * Server runs prometheus-cpp's Exposer (civetweb): its threads are
 * created on the control thread after EAL start-up, so they share the
 * main lcore's CPU set and never run on a worker's CPU. A scrape answers
 * `loom_ctl_ready 0` and little else until the Runtime is ready. Control
 * path: allocates per scrape, throws on set-up errors.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "ctl/runtime.h"

namespace prometheus {
class Exposer;
}

namespace metrics {

/* Every metric of `rt`, in a stable order. Any thread. */
std::vector<prometheus::MetricFamily> collect(const ctl::Runtime& rt);

/* prometheus text exposition (format 0.0.4) of collect(). */
std::string text(const ctl::Runtime& rt);

class Server {
 public:
  /* Listens on host:port (numeric; IPv6 without brackets), path /metrics.
   * Throws std::runtime_error naming the address when it cannot. `rt`
   * must outlive the Server. */
  Server(const ctl::Runtime* rt, const std::string& host, uint16_t port);
  ~Server();  // stops the threads: no scrape runs after it returns
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;  // the bound port (useful with port 0)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace metrics
