#include "ctl/plan.h"

#include <algorithm>

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
  ic.streams = c.outputs.streams && have_out_dir;
  ic.http = c.http.enabled;
  // Must match the outputs run() opens: records nobody drains would fill
  // the ring and, offline, stop the worker for good.
  ic.message_files = have_out_dir && (c.outputs.messages || (c.outputs.gor && c.http.capture_bytes));
  ic.pcap = have_out_dir && c.outputs.pcap;
  ic.pcap_snaplen = c.outputs.pcap_snaplen;
  ic.pcap_lookback = c.outputs.pcap_lookback;
  ic.pcap_ring = std::min<uint32_t>(c.outputs.record_ring, 4096);
  // Records are made whenever messages are framed: the rules judge them
  // (now or after a reload), pcap selects by them, the files write them.
  ic.http_records = c.http.enabled;
  ic.max_header_bytes = c.http.max_header_bytes;
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

}  // namespace ctl
