#include "join/format.h"

#include "core/json.h"
#include "tcp/track.h"

namespace join {

std::string stream_json(const inspect::StreamRecord& r) {
  namespace j = core::json;
  std::string o;
  o.reserve(384);
  char ep[64];
  j::lit(o, "{\"src\":\"");
  o.append(ep, flow::endpoint_str(r.key, r.src_side, ep, sizeof ep));
  j::lit(o, "\",\"dst\":\"");
  o.append(ep, flow::endpoint_str(r.key, 1 - r.src_side, ep, sizeof ep));
  j::lit(o, "\",\"dir\":\"");
  o += r.c2s ? "c2s" : "s2c";
  j::lit(o, "\",\"bytes\":");
  j::num(o, uint64_t(r.bytes));
  j::lit(o, ",\"sha256\":\"");
  j::hex(o, r.sha256, 32);
  j::lit(o, "\",\"gaps\":");
  j::num(o, uint64_t(r.gaps));
  j::lit(o, ",\"gap_bytes\":");
  j::num(o, uint64_t(r.gap_bytes));
  j::lit(o, ",\"capture_loss\":");
  j::num(o, uint64_t(r.capture_loss));
  j::lit(o, ",\"first_ts_ns\":");
  j::num(o, uint64_t(r.first_ts_ns));
  j::lit(o, ",\"last_ts_ns\":");
  j::num(o, uint64_t(r.last_ts_ns));
  j::lit(o, ",\"packets\":");
  j::num(o, uint64_t(r.packets));
  j::lit(o, ",\"end\":\"");
  o += flow::end_name(flow::End(r.end));
  j::lit(o, "\",\"client_inferred\":");
  j::boolean(o, r.client_inferred);
  j::lit(o, ",\"connection\":");
  j::num(o, uint64_t(r.generation));
  j::lit(o, ",\"vlan\":");
  j::num(o, uint64_t(r.key.vlan));
  flow::encap_json(o, r.key);
  tcp::anomalies_json(o, r.tcp_anomalies);
  j::lit(o, "}\n");
  return o;
}

std::string pcap_file_header(uint32_t snaplen) {
  // libpcap's nanosecond-resolution magic; version 2.4; link type Ethernet.
  const uint32_t h[6] = {0xa1b23c4d, 2u | (4u << 16), 0, 0, snaplen, 1};
  return std::string(reinterpret_cast<const char*>(h), sizeof h);
}

std::string pcap_record(const inspect::PacketRecord& r) {
  const uint32_t h[4] = {uint32_t(r.ts_ns / 1000000000ull), uint32_t(r.ts_ns % 1000000000ull),
                         r.caplen, r.wirelen};
  std::string out(reinterpret_cast<const char*>(h), sizeof h);
  out.append(reinterpret_cast<const char*>(r.data()), r.caplen);
  return out;
}

}  // namespace join
