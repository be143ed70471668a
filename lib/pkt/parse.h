/* pkt: L2-L4 header parsing on one frame, for the fast path.
 *
 * parse() reads Ethernet, up to two 802.1Q/802.1ad tags, IPv4 or IPv6
 * (hop-by-hop, routing, destination-options and fragment extension headers
 * skipped), then TCP or UDP, and fills a Parsed with offsets, ports, TCP
 * sequence numbers and flags. It reads only the first mbuf segment
 * (headers must be there) and never writes the packet. Trailing Ethernet
 * padding is cut off by trusting the IP length fields, which are checked
 * against the frame first.
 *
 * Thread: any; pure function plus per-worker counters in Stats (one
 * writer). Allocates nothing.
 */
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "core/counter.h"

namespace pkt {

enum class Malformed : uint8_t {
#define LOOM_MALFORMED(name, help) name,
#include "pkt/malformed.def"
#undef LOOM_MALFORMED
  kCount
};
constexpr size_t kNumMalformed = static_cast<size_t>(Malformed::kCount);
extern const char* const kMalformedNames[kNumMalformed];
extern const char* const kMalformedHelp[kNumMalformed];

enum class Kind : uint8_t { kTcp, kUdp, kOtherIp, kIpFragment, kNonIp, kMalformed };

/* No default member initialisers: the inspection stage keeps 32 of these
 * on the stack per burst, and parse() sets every field a caller may read
 * for the Kind it returns (ip_version and n_vlan always). */
struct Parsed {
  uint8_t ip_version;  // 4, 6 or 0
  uint8_t l4_proto;
  uint8_t n_vlan;
  uint8_t tcp_flags;
  uint16_t vlan_id;    // outermost tag's VID (valid if n_vlan)
  uint16_t l3_off;
  uint16_t l4_off;
  uint16_t payload_off;
  uint32_t payload_len;  // L4 payload, padding excluded
  uint16_t sport, dport;  // host order
  uint32_t seq, ack;      // host order
  uint16_t window;
  uint8_t src[16], dst[16];  // IPv4 uses the first 4 bytes
};

/* Parses a frame of frame_len bytes whose first seg_len bytes are
 * contiguous at `frame` (seg_len == frame_len for a flat buffer). Headers
 * must lie within seg_len; lengths are checked against frame_len. On
 * Kind::kMalformed, *why says which check failed. */
Kind parse(const uint8_t* frame, uint32_t seg_len, uint32_t frame_len,
           Parsed& out, Malformed* why) noexcept;

/* parse() on an mbuf chain's first segment. */
Kind parse_mbuf(const rte_mbuf* m, Parsed& out, Malformed* why) noexcept;

struct Stats {
  core::Counter ipv4, ipv6, non_ip, vlan_tagged;
  core::Counter tcp, udp, other_l4, ip_fragments;
  core::Counter malformed[kNumMalformed];
};

/* Per-burst tally of parse results, committed to Stats once per burst
 * (the counters share cache lines with the telemetry reader). */
struct Tally {
  uint64_t ipv4 = 0, ipv6 = 0, non_ip = 0, vlan = 0, tcp = 0, udp = 0, other = 0, frag = 0;
  uint32_t bad[kNumMalformed] = {};
  bool any_bad = false;

  void add(Kind k, const Parsed& p, Malformed why) noexcept {
    vlan += p.n_vlan != 0;
    ipv4 += p.ip_version == 4;
    ipv6 += p.ip_version == 6;
    switch (k) {
      case Kind::kTcp: tcp++; break;
      case Kind::kUdp: udp++; break;
      case Kind::kOtherIp: other++; break;
      case Kind::kIpFragment: frag++; break;
      case Kind::kNonIp: non_ip++; break;
      case Kind::kMalformed: bad[size_t(why)]++; any_bad = true; break;
    }
  }
  void commit(Stats& s) const noexcept;
};

}  // namespace pkt
