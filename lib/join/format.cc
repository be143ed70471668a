#include "join/format.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "core/json.h"
#include "tcp/track.h"

namespace join {

// The message formats read the record's flags and verdicts by name.
using namespace http;

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

std::string message_gor(const http::Message& m) {
  // Interim (1xx) responses are not separate exchanges to a replayer: the
  // final response carries the id. No raw bytes, no record.
  if (!m.raw || (m.flags & kInterim)) return {};
  static const char* x = "0123456789abcdef";
  char meta[96];
  char id[25];
  for (int i = 0; i < 12; i++) {
    id[2 * i] = x[m.id[i] >> 4];
    id[2 * i + 1] = x[m.id[i] & 15];
  }
  id[24] = 0;
  const uint64_t span = m.ts_last_ns >= m.ts_first_ns ? m.ts_last_ns - m.ts_first_ns : 0;
  std::snprintf(meta, sizeof meta, "%c %s %" PRIu64 " %" PRIu64 "\n", m.request ? '1' : '2', id,
                m.ts_first_ns, span);
  std::string o = meta;
  o.append(reinterpret_cast<const char*>(m.raw), m.raw_len);
  o += kGorSeparator;
  return o;
}

namespace {

/* The fields only a request or only a response has, each with its comma. */
void json_start_line(std::string& o, const http::Message& m) {
  namespace j = core::json;
  if (m.request) {
    j::lit(o, "\"method\":");
    j::str(o, m.method, std::strlen(m.method));
    j::lit(o, ",\"uri\":");
    j::str(o, m.uri, m.uri_len);
    j::lit(o, ",\"host\":");
    j::str(o, m.host, m.host_len);
    o += ',';
  } else {
    j::lit(o, "\"status\":");
    j::num(o, uint64_t(m.status));
    j::lit(o, ",\"interim\":");
    j::boolean(o, m.flags & kInterim);
    o += ',';
  }
}

/* The fields written only when they have a value (latency, the rule's
 * verdict, a tag, a tunnel's outer message), so that records without
 * them keep their keys. */
void json_optional(std::string& o, const http::Message& m) {
  namespace j = core::json;
  if (!m.request && m.latency_ns >= 0) {
    j::lit(o, "\"latency_ns\":");
    j::num(o, int64_t(m.latency_ns));
    o += ',';
  }
  if (m.rule[0]) {
    j::lit(o, "\"rule\":");
    j::str(o, m.rule, std::strlen(m.rule));
    j::lit(o, ",\"action\":\"");
    o += verdict_name(Verdict(m.verdict));
    j::lit(o, "\",");
  }
  if (m.tag[0]) {
    j::lit(o, "\"tag\":");
    j::str(o, m.tag, std::strlen(m.tag));
    o += ',';
  }
  if (m.flags & kInner) {
    j::lit(o, "\"outer\":\"");
    j::hex(o, m.outer, 12);
    j::lit(o, "\",");
  }
}

/* The flags by name, in bit order (Flag). */
void json_flags(std::string& o, uint32_t flags) {
  namespace j = core::json;
  static const char* names[] = {"incomplete", "after_gap", "ambiguous_framing", "uri_truncated",
                                "host_truncated", "parse_error", "interim", "unpaired", "upgrade",
                                "raw_truncated", "no_raw", "oversize_headers", "bare_lf", "http09",
                                "odd_version", "junk_skipped", "after_close", "inner",
                                "headers_truncated"};
  j::lit(o, ",\"flags\":[");
  bool first = true;
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
    if (!(flags & (1u << i))) continue;
    if (!first) o += ',';
    first = false;
    o += '"';
    o += names[i];
    o += '"';
  }
  j::lit(o, "]");
}

}  // namespace

std::string message_json(const http::Message& m) {
  namespace j = core::json;
  std::string o;
  o.reserve(512);
  char ep[64];
  j::lit(o, "{\"id\":\"");
  j::hex(o, m.id, 12);
  j::lit(o, "\",\"kind\":\"");
  o += m.request ? "request" : "response";
  j::lit(o, "\",\"client\":\"");
  o.append(ep, flow::endpoint_str(m.key, m.client_side, ep, sizeof ep));
  j::lit(o, "\",\"server\":\"");
  o.append(ep, flow::endpoint_str(m.key, 1 - m.client_side, ep, sizeof ep));
  j::lit(o, "\",\"index\":");
  j::num(o, uint64_t(m.index));
  o += ',';
  json_start_line(o, m);
  j::lit(o, "\"body_len\":");
  j::num(o, uint64_t(m.body_len));
  j::lit(o, ",\"chunked\":");
  j::boolean(o, m.chunked);
  j::lit(o, ",\"complete\":");
  j::boolean(o, !(m.flags & kIncomplete));
  j::lit(o, ",\"ts_first_ns\":");
  j::num(o, uint64_t(m.ts_first_ns));
  j::lit(o, ",\"ts_last_ns\":");
  j::num(o, uint64_t(m.ts_last_ns));
  o += ',';
  json_optional(o, m);
  j::lit(o, "\"after_gap\":");
  j::boolean(o, m.flags & kAfterGap);
  j::lit(o, ",\"paired\":");
  j::boolean(o, !(m.flags & kUnpaired));
  j::lit(o, ",\"connection\":");
  j::num(o, uint64_t(m.generation));
  j::lit(o, ",\"vlan\":");
  j::num(o, uint64_t(m.key.vlan));
  json_flags(o, m.flags);
  flow::encap_json(o, m.key);
  j::lit(o, "}\n");
  return o;
}

}  // namespace join
