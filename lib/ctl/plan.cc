#include "ctl/plan.h"

#include <algorithm>
#include <cstdio>

#include "flow/flow.h"
#include "port/port.h"
#include "http/http.h"
#include "reasm/reasm.h"

namespace ctl {

inspect::Config stage_config(const Config& c, bool have_out_dir) {
  inspect::Config ic;
  ic.table.max_flows = c.flow.max_flows_per_worker;
  ic.table.timeouts.new_ns = uint64_t(c.flow.timeout_new_s) * 1000000000ull;
  ic.table.timeouts.established_ns = uint64_t(c.flow.timeout_established_s) * 1000000000ull;
  ic.table.timeouts.closed_ns = uint64_t(c.flow.timeout_closed_s) * 1000000000ull;
  ic.table.evict_when_full = c.flow.evict_when_full;
  ic.table.sweep_per_insert = c.flow.sweep_per_insert;
  ic.table.sweep_per_idle = c.flow.sweep_per_idle_poll;
  ic.limits.max_ofo_segments = c.reasm.max_ofo_segments;
  ic.limits.max_ofo_bytes = c.reasm.max_ofo_bytes;
  ic.limits.memcap_bytes = uint64_t(c.reasm.memcap_mb) << 20;
  ic.limits.gap_timeout_ns = uint64_t(c.reasm.gap_timeout_ms) * 1000000ull;
  ic.limits.ack_gap_timeout_ns = uint64_t(c.reasm.ack_gap_timeout_ms) * 1000000ull;
  // One node per held mbuf; the memcap counts whole mbuf buffers.
  // Enough nodes that the memcap, not the node pool, is what binds.
  ic.ofo_nodes = uint32_t(ic.limits.memcap_bytes / c.mbuf_data_room) + 1024;
  // No output directory, no streams.jsonl: skip the fingerprints too.
  const bool kafka_streams = c.outputs.kafka.enabled && !c.outputs.kafka.streams_topic.empty();
  ic.streams = c.outputs.streams && (have_out_dir || kafka_streams);
  ic.empty_sample = c.outputs.empty_all ? UINT32_MAX : c.outputs.empty_sample;
  ic.http = c.http.enabled;
  // Must match the outputs run() opens: records nobody drains would fill
  // the ring and, offline, stop the worker for good.
  ic.message_files = (have_out_dir && (c.outputs.messages || (c.outputs.gor && c.http.capture_bytes))) ||
                     c.outputs.kafka.enabled;
  ic.pcap = have_out_dir && c.outputs.pcap;
  ic.pcap_snaplen = c.outputs.pcap_snaplen;
  ic.pcap_lookback = c.outputs.pcap_lookback;
  ic.pcap_ring = std::min<uint32_t>(c.outputs.record_ring, 4096);
  // Records are made whenever messages are framed: the rules judge them
  // (now or after a reload), pcap selects by them, the files write them.
  ic.http_records = c.http.enabled;
  ic.max_header_bytes = c.http.max_header_bytes;
  ic.carry_headers = c.http.headers;
  ic.carry_bytes = c.http.headers_bytes;
  ic.http_conns = c.http.max_connections_per_worker;
  // Raw bytes: for http.gor, and for rules on headers and body.
  if ((have_out_dir && c.outputs.gor) || !c.rules.rules.empty()) {
    ic.raw_bytes = c.http.capture_bytes;
    ic.raw_buffers = c.http.capture_buffers;
  }
  ic.record_ring = c.outputs.record_ring;
  // Offline: never drop, and sweep only on inserts, which happen in
  // capture order, so the output does not depend on the machine's timing.
  ic.lossless = c.mode == Mode::kOffline;
  ic.idle_sweep = c.mode != Mode::kOffline;
  ic.steering = c.steering;
  ic.decap.max_depth = uint8_t(c.decap.max_depth);
  ic.decap.n_vxlan = uint8_t(std::min<size_t>(c.decap.vxlan_ports.size(), pkt::Decap::kMaxPorts));
  ic.decap.n_geneve = uint8_t(std::min<size_t>(c.decap.geneve_ports.size(), pkt::Decap::kMaxPorts));
  std::copy_n(c.decap.vxlan_ports.begin(), ic.decap.n_vxlan, ic.decap.vxlan_ports);
  std::copy_n(c.decap.geneve_ports.begin(), ic.decap.n_geneve, ic.decap.geneve_ports);
  return ic;
}

namespace {

constexpr uint64_t kMbufOverhead = 128 + 64;  // rte_mbuf header, mempool object header

std::string size_str(uint64_t b) {
  char s[32];
  if (b >= (1ull << 30)) std::snprintf(s, sizeof s, "%.1f GiB", double(b) / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(s, sizeof s, "%.0f MiB", double(b) / double(1ull << 20));
  else std::snprintf(s, sizeof s, "%.0f KiB", double(b) / 1024.0);
  return s;
}

}  // namespace

bool raw_buffers(const Config& c) { return c.outputs.gor || !c.rules.rules.empty(); }

bool http_pool_per_slot(const Config& c) {
  return !c.http.max_connections_per_worker ||
         c.http.max_connections_per_worker >= c.flow.max_flows_per_worker;
}

uint64_t http_conns(const Config& c) {
  return http_pool_per_slot(c) ? c.flow.max_flows_per_worker : c.http.max_connections_per_worker;
}

UnitCosts unit_costs(const Config& c) {
  UnitCosts u;
  u.flow = inspect::Stage::bytes_per_flow(c.outputs.streams);
  u.http_conn = c.http.enabled ? inspect::Stage::bytes_per_http() : 0;
  // The memcap counts whole mbuf buffers; each also has its header.
  u.held_byte_x1000 = 1000 * (c.mbuf_data_room + kMbufOverhead) / c.mbuf_data_room;
  u.ofo_node = reasm::Reassembler::bytes_per_node();
  // Channel pools: a power of two at least record_ring, plus 1023, plus
  // the ring slot; 64 bytes of mempool header each.
  u.stream_record = sizeof(inspect::StreamRecord) + 64 + 8;
  u.message_record = sizeof(http::Message) + 64 + 8;
  return u;
}

std::vector<MemoryUse> worker_memory(const Config& c) {
  const UnitCosts u = unit_costs(c);
  std::vector<MemoryUse> v;
  if (!c.inspect) return v;
  const uint64_t flows = c.flow.max_flows_per_worker;
  const bool per_slot = http_pool_per_slot(c);
  v.push_back({"flow table and per-flow state", "flow.max_flows_per_worker",
               flows * (u.flow + (per_slot ? u.http_conn : 0))});
  if (c.http.enabled && !per_slot)
    v.push_back({"HTTP connection states", "http.max_connections_per_worker", http_conns(c) * u.http_conn});
  const uint64_t memcap = uint64_t(c.reasm.memcap_mb) << 20;
  const uint64_t nodes = memcap / c.mbuf_data_room + 1024;  // as stage_config sizes them
  v.push_back({"held out-of-order data (memcap)", "reassembly.memcap_mb",
               memcap * u.held_byte_x1000 / 1000 + nodes * u.ofo_node});
  uint32_t ring = 1;
  while (ring < c.outputs.record_ring) ring <<= 1;
  const uint64_t in_flight = uint64_t(ring) + 1023;
  uint64_t records = c.outputs.streams ? in_flight * u.stream_record : 0;
  if (c.http.enabled) records += in_flight * u.message_record;
  v.push_back({"records in flight", "outputs.record_ring", records});
  if (c.http.enabled && raw_buffers(c) && c.http.capture_bytes)
    v.push_back({"raw capture buffers", "http.capture_buffers",
                 uint64_t(c.http.capture_buffers) * (c.http.capture_bytes + 64)});
  if (c.outputs.pcap)
    v.push_back({"packets.pcap lookback and records", "outputs.pcap_lookback",
                 (uint64_t(c.outputs.pcap_snaplen) + 64) * (c.outputs.pcap_lookback + 8192)});
  if (c.mirror.enabled)
    v.push_back({"mirror mbufs", "mirror.mbufs_per_worker",
                 uint64_t(c.mirror.mbufs_per_worker) * (2048 + 128 + kMbufOverhead)});
  std::stable_sort(v.begin(), v.end(), [](const MemoryUse& a, const MemoryUse& b) { return a.bytes > b.bytes; });
  return v;
}

uint64_t total(const std::vector<MemoryUse>& uses) {
  uint64_t t = 0;
  for (const MemoryUse& u : uses) t += u.bytes;
  return t;
}

std::string largest(const std::vector<MemoryUse>& uses, size_t n) {
  std::string s;
  for (size_t i = 0; i < uses.size() && i < n; i++) {
    if (!s.empty()) s += ", ";
    s += uses[i].what + " " + size_str(uses[i].bytes) + " (" + uses[i].key + ")";
  }
  return s;
}

std::string apply_memory_budget(Config& c) {
  if (!c.worker_memory_mb || !c.inspect) return {};
  const uint64_t budget = uint64_t(c.worker_memory_mb) << 20;
  const UnitCosts u = unit_costs(c);
  // A flow slot costs its HTTP state too unless the pool is sized on its
  // own (http.max_connections_per_worker, fixed below); a derived table
  // smaller than that pool makes it one per slot again, costed here.
  const uint64_t per_flow = u.flow +
                            (!c.http.max_connections_per_worker ? u.http_conn : 0);
  // The memcap's cost as worker_memory() counts it (its spare nodes are
  // in `fixed`), and per MiB rounded up, so a derived memcap never
  // overshoots.
  auto memcap_cost = [&](uint64_t mb) {
    return (mb << 20) * u.held_byte_x1000 / 1000 + ((mb << 20) / c.mbuf_data_room) * u.ofo_node;
  };
  const uint64_t per_memcap_mb = memcap_cost(1) + u.ofo_node + 1;
  uint64_t fixed = 0;
  for (const MemoryUse& m : worker_memory(c))
    if (m.key != "flow.max_flows_per_worker" && m.key != "reassembly.memcap_mb" &&
        m.key != "http.max_connections_per_worker")
      fixed += m.bytes;
  if (c.http.max_connections_per_worker) fixed += uint64_t(c.http.max_connections_per_worker) * u.http_conn;
  fixed += 1024 * u.ofo_node;  // the memcap's spare nodes
  const uint64_t left = budget > fixed ? budget - fixed : 0;
  if (!c.max_flows_given && !c.memcap_given) {
    c.reasm.memcap_mb = uint32_t(std::max<uint64_t>(1, left / 2 / per_memcap_mb));
    const uint64_t mem = memcap_cost(c.reasm.memcap_mb);
    c.flow.max_flows_per_worker =
        uint32_t(std::clamp<uint64_t>(left > mem ? (left - mem) / per_flow : 0, 64, 1u << 24));
  } else if (!c.max_flows_given) {
    const uint64_t mem = memcap_cost(c.reasm.memcap_mb);
    c.flow.max_flows_per_worker =
        uint32_t(std::clamp<uint64_t>(left > mem ? (left - mem) / per_flow : 0, 64, 1u << 24));
  } else if (!c.memcap_given) {
    const uint64_t fl = uint64_t(c.flow.max_flows_per_worker) * per_flow;
    c.reasm.memcap_mb = uint32_t(std::max<uint64_t>(1, left > fl ? (left - fl) / per_memcap_mb : 0));
  }
  const std::vector<MemoryUse> uses = worker_memory(c);
  const uint64_t need = total(uses);
  if (need <= budget) return {};
  return "worker.memory_mb = " + std::to_string(c.worker_memory_mb) + " does not hold the plan: a worker needs " +
         size_str(need) + "; the largest: " + largest(uses) +
         ". Raise worker.memory_mb or lower those keys";
}

std::string check_machine(const Config& c, uint32_t mbufs, uint64_t machine_bytes) {
  std::vector<MemoryUse> all;
  const size_t workers = std::max<size_t>(1, c.workers.size());
  for (MemoryUse m : worker_memory(c)) {
    if (m.key == "mirror.mbufs_per_worker") {
      m.bytes *= c.mirror.collectors.empty() ? workers : workers + 1;  // one pool, a share per TX queue
    } else {
      m.bytes *= workers;
      m.what += " x " + std::to_string(workers) + " worker(s)";
    }
    all.push_back(m);
  }
  uint64_t pool = uint64_t(mbufs) * (c.mbuf_data_room + kMbufOverhead);
  // The automatic pool includes every worker's memcap, counted above.
  if (!c.mbufs && c.inspect)
    pool -= std::min(pool, workers * ((uint64_t(c.reasm.memcap_mb) << 20) / c.mbuf_data_room) *
                               (c.mbuf_data_room + kMbufOverhead));
  all.push_back({"the mbuf pool", "mempool.mbufs", pool});
  std::stable_sort(all.begin(), all.end(), [](const MemoryUse& a, const MemoryUse& b) { return a.bytes > b.bytes; });
  const uint64_t need = total(all);
  if (machine_bytes == 0 || need <= machine_bytes) return {};
  return (c.file.empty() ? std::string("the run") : c.file) + " needs " + size_str(need) +
         " but the machine has " + size_str(machine_bytes) +
         " free (RAM and hugepages); the largest: " + largest(all) +
         ". Lower those keys, or set worker.memory_mb to size them";
}

std::vector<WorkerPlan> plan_workers(const Config& c) {
  std::vector<WorkerPlan> out;
  std::vector<uint16_t> next_txq(c.ports.size(), 0);
  for (const WorkerSpec& ws : c.workers) {
    WorkerPlan w;
    w.lcore = ws.lcore;
    for (const QueueRef& qr : ws.queues) {
      RxPlan r{qr.port, qr.queue, core::kNoTx};
      const int peer = c.ports[qr.port].peer;
      if (peer >= 0 && c.mode == Mode::kInline) {
        size_t slot = 0;
        while (slot < w.tx.size() && w.tx[slot].port != uint16_t(peer)) slot++;
        if (slot == w.tx.size()) w.tx.push_back({uint16_t(peer), next_txq[size_t(peer)]++});
        r.tx_slot = uint16_t(slot);
      }
      w.rx.push_back(r);
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<int16_t> queue_owners(const Config& c, size_t port) {
  std::vector<int16_t> owner(c.ports[port].spec.rx_queues, -1);
  for (size_t w = 0; w < c.workers.size(); w++)
    for (const QueueRef& q : c.workers[w].queues)
      if (q.port == port && q.queue < owner.size()) owner[q.queue] = int16_t(w);
  return owner;
}

PoolPlan plan_pool(const Config& c, uint64_t most_records) {
  PoolPlan out;
  std::vector<port::PortSpec> specs;
  for (const auto& p : c.ports) specs.push_back(p.spec);
  const unsigned workers = unsigned(c.workers.size());
  // The memcap counts mbuf buffers (buf_len == the data room).
  uint64_t memcap_mbufs = c.inspect ? (uint64_t(c.reasm.memcap_mb) << 20) / c.mbuf_data_room : 0;
  // A pcap record takes 16 bytes at least.
  memcap_mbufs = std::min<uint64_t>(memcap_mbufs, most_records);
  out.mbufs = c.mbufs ? c.mbufs
                      : port::auto_pool_size(specs, workers, c.mempool_cache, memcap_mbufs * workers);
  if (c.inspect && c.mbufs && c.mode != Mode::kOffline) {
    const uint64_t fixed = port::auto_pool_size(specs, workers, c.mempool_cache, 0) - 4096;
    const uint64_t spare = out.mbufs > fixed ? out.mbufs - fixed : 0;
    out.held_per_worker = spare / 2 / std::max<size_t>(1, c.workers.size());
    out.memcap_limit = out.held_per_worker * c.mbuf_data_room;
    out.memcap_cut = out.memcap_limit < (uint64_t(c.reasm.memcap_mb) << 20);
  }
  return out;
}

}  // namespace ctl
