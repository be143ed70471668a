#include "core/telemetry.h"

#include <cstdlib>
#include <mutex>
#include <utility>

#include <rte_cycles.h>

#include "core/log.h"

namespace core::tel {

namespace {

WorkersSource g_src;

std::mutex g_explain_mu;
std::vector<std::pair<std::string, const char*>>& explained() {
  static std::vector<std::pair<std::string, const char*>> v;
  return v;
}

std::string drop_key(size_t i) { return std::string("drop_") + kDropNames[i]; }

void worker_dict(rte_tel_data* d, const WorkerCtx& w) {
  add_u64(d, "id", w.id);
  add_u64(d, "lcore", w.lcore);
  add_u64(d, "rx_queues", w.rxq.size());
  w.stats.visit([&](const char* name, CounterKind, const char*, const Counter& c) {
    add_u64(d, name, c.get());
  });
  for (size_t i = 0; i < kNumDrops; i++) add_u64(d, drop_key(i), w.stats.drops[i].get());
}

int cmd_workers(const char*, const char* params, rte_tel_data* d) {
  if (!is_ready(g_src.ready)) return starting(d);
  const auto& ws = *g_src.workers;
  size_t i;
  switch (pick(params, ws.size(), &i)) {
    case Pick::kBad:
      return -EINVAL;
    case Pick::kOne:
      rte_tel_data_start_dict(d);
      worker_dict(d, *ws[i]);
      if (g_src.detail) g_src.detail(d, i);
      return 0;
    case Pick::kAll:
      break;
  }
  // All workers: totals plus a short dict per worker (~500 bytes each, so
  // 24 workers stay far below the 16 KB reply limit); detail per worker id.
  uint64_t rx = 0, tx = 0, backpressure = 0, pool_empty = 0, drops[kNumDrops] = {};
  for (const auto& w : ws) {
    rx += w->stats.rx_packets.get();
    tx += w->stats.tx_packets.get();
    backpressure += w->stats.rx_backpressure.get();
    pool_empty += w->stats.rx_pool_empty.get();
    for (size_t k = 0; k < kNumDrops; k++) drops[k] += w->stats.drops[k].get();
  }
  uint64_t rx_bytes = 0, tx_bytes = 0;
  if (g_src.port_bytes) g_src.port_bytes(&rx_bytes, &tx_bytes);
  rte_tel_data_start_dict(d);
  add_u64(d, "workers", ws.size());
  add_u64(d, "rx_packets", rx);
  add_u64(d, "tx_packets", tx);
  add_u64(d, "rx_bytes", rx_bytes);
  add_u64(d, "tx_bytes", tx_bytes);
  add_u64(d, "rx_backpressure", backpressure);
  add_u64(d, "rx_pool_empty", pool_empty);
  for (size_t k = 0; k < kNumDrops; k++) add_u64(d, drop_key(k), drops[k]);
  for (size_t w = 0; w < ws.size() && w < 24; w++) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    worker_dict(c, *ws[w]);
    rte_tel_data_add_dict_container(d, ("worker" + std::to_string(w)).c_str(), c, 0);
  }
  return 0;
}

int cmd_latency(const char*, const char* params, rte_tel_data* d) {
  if (!is_ready(g_src.ready)) return starting(d);
  rte_tel_data_start_dict(d);
  if (!g_src.latency || !*g_src.latency) {
    rte_tel_data_add_dict_string(d, "status", "off: set worker.latency = true");
    return 0;
  }
  std::vector<const LatencyHist*> h, p;
  for (const auto& w : *g_src.workers)
    if (!params || !*params || w->id == std::strtoul(params, nullptr, 10)) {
      h.push_back(&w->hold);
      p.push_back(&w->pre_tx);
    }
  auto add = [d](const std::string& prefix, const std::vector<const LatencyHist*>& v) {
    const LatencySummary s = summarize(v.data(), v.size(), rte_get_tsc_hz());
    add_u64(d, prefix + "samples", s.samples);
    add_u64(d, prefix + "p50_ns", s.p50_ns);
    add_u64(d, prefix + "p99_ns", s.p99_ns);
    add_u64(d, prefix + "p999_ns", s.p999_ns);
    add_u64(d, prefix + "max_ns", s.max_ns);
  };
  add("", h);
  add("pre_tx_", p);  // RX to the rte_eth_tx_burst call: without the PMD's transmit
  return 0;
}

/* Answers before start-up is done too: it reads only static tables. */
int cmd_drops(const char*, const char*, rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  for (size_t i = 0; i < kNumDrops; i++) rte_tel_data_add_dict_string(d, drop_key(i).c_str(), kDropHelp[i]);
  std::lock_guard<std::mutex> lock(g_explain_mu);
  for (const auto& [key, help] : explained()) rte_tel_data_add_dict_string(d, key.c_str(), help);
  return 0;
}

}  // namespace

void add_cmds(std::span<const Cmd> cmds) {
  for (const Cmd& c : cmds)
    if (int rc = rte_telemetry_register_cmd(c.name, c.fn, c.help); rc != 0)
      LOOM_LOG(WARNING, "telemetry command %s not registered (%d)", c.name, rc);
}

int starting(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "status", "starting");
  return 0;
}

Pick pick(const char* params, size_t n, size_t* index) {
  if (!params || !*params) return Pick::kAll;
  char* end;
  const unsigned long i = std::strtoul(params, &end, 10);
  if (*end || i >= n) return Pick::kBad;
  *index = i;
  return Pick::kOne;
}

void explain(const std::string& key, const char* help) {
  std::lock_guard<std::mutex> lock(g_explain_mu);
  explained().emplace_back(key, help);
}

void register_telemetry(WorkersSource src) {
  g_src = std::move(src);
  static constexpr Cmd cmds[] = {
      {"/loom/workers", cmd_workers, "Worker rx/tx, drops, polls, parsing. Param: worker id."},
      {"/loom/drops", cmd_drops, "Every listed counter (drops, flows, TCP, reasm), its meaning."},
      {"/loom/latency", cmd_latency, "Relay hold RX to TX: p50/p99/p99.9. Param: worker id."},
  };
  add_cmds(cmds);
}

}  // namespace core::tel
