/* pkt: header parsing on one frame, for the fast path, down to the
 * innermost TCP connection.
 *
 * parse() reads the port's link layer (Ethernet; offline also the
 * capture's: raw IP, NULL/loopback, Linux SLL/SLL2, PPP, Cisco HDLC), up
 * to two 802.1Q/802.1ad tags per Ethernet header, MPLS label stacks,
 * PPPoE sessions, then IPv4 or IPv6 (hop-by-hop, routing,
 * destination-options and fragment extension headers skipped), then TCP
 * or UDP; tunnels (VXLAN, GENEVE, GRE, ERSPAN I/II/III, IP in IP in both
 * versions, Ethernet over MPLS) are entered up to Decap::max_depth layers.
 * Parsed holds the INNERMOST IP and TCP/UDP headers' offsets, addresses,
 * ports, sequence numbers and flags, and the encapsulation around them:
 * every kind crossed (a bit mask), the outermost one, the outermost
 * tunnel's identity (VNI, GRE key, ERSPAN session) and the first two VLAN
 * IDs. It reads only the first mbuf segment (headers must be there) and
 * never writes the packet. Trailing padding is cut off by trusting the IP
 * length fields, which are checked against the frame (inside a tunnel:
 * against the outer datagram) first.
 *
 * Cost: an untunnelled Ethernet/IPv4/TCP frame without IP options,
 * whole in its first segment, is read by one function with no calls
 * (plain_tcp4, ~40 instructions); every other frame takes the layered
 * path, whose tunnel checks sit on the UDP, non-TCP protocol and
 * unknown-ethertype branches. Both give the same Parsed
 * (tests/pkt/fast_path_test.cc).
 *
 * Thread: any; pure function plus per-worker counters in Stats (one
 * writer). Allocates nothing. Counters and reasons: pkt/counters.def.
 */
#pragma once

#include <cstdint>

#include <rte_mbuf.h>

#include "core/counter.h"

namespace pkt {

#define LOOM_PKT(block, name, help) LOOM_PKT_##block(name, help)

enum class Malformed : uint8_t {
#define LOOM_PKT_pkt(name, help)
#define LOOM_PKT_encap(name, help)
#define LOOM_PKT_malformed(name, help) name,
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
#undef LOOM_PKT_encap
#undef LOOM_PKT_malformed
  kCount
};
constexpr size_t kNumMalformed = static_cast<size_t>(Malformed::kCount);
extern const char* const kMalformedNames[kNumMalformed];
extern const char* const kMalformedHelp[kNumMalformed];

/* Encapsulation kinds. kNone is 0 so that flow::Key's 4-bit field reads
 * "none" when zeroed; at most 15 kinds fit there. */
enum class Encap : uint8_t {
  kNone,
#define LOOM_PKT_pkt(name, help)
#define LOOM_PKT_encap(name, help) name,
#define LOOM_PKT_malformed(name, help)
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
#undef LOOM_PKT_encap
#undef LOOM_PKT_malformed
  kCount
};
constexpr size_t kNumEncap = static_cast<size_t>(Encap::kCount) - 1;  // without kNone
static_assert(size_t(Encap::kCount) <= 16, "flow::Key keeps the kind in 4 bits");
extern const char* const kEncapNames[kNumEncap + 1];  // [0] "none"
extern const char* const kEncapHelp[kNumEncap + 1];
inline const char* encap_name(uint8_t e) noexcept {
  return e <= kNumEncap ? kEncapNames[e] : "?";
}

/* Link types (pcap LINKTYPE_* numbers) parse() decodes. Live ports are
 * Ethernet; offline ports take the capture file's. */
enum LinkType : uint16_t {
  kLinkNull = 0,        // BSD loopback: 4-byte AF in the capturing host's order
  kLinkEthernet = 1,
  kLinkPpp = 9,
  kLinkRaw12 = 12,      // DLT_RAW on OpenBSD (and what some writers put for raw)
  kLinkRaw14 = 14,      // DLT_RAW on BSD/OS
  kLinkPppHdlc = 50,
  kLinkRaw = 101,
  kLinkCiscoHdlc = 104,
  kLinkLoop = 108,      // OpenBSD loopback: AF in network order
  kLinkSll = 113,
  kLinkIpv4 = 228,
  kLinkIpv6 = 229,
  kLinkSll2 = 276,
};
/* Whether parse() decodes link type `lt`, and its name ("ethernet", ...;
 * nullptr for one it does not). */
bool link_supported(uint32_t lt) noexcept;
const char* link_name(uint32_t lt) noexcept;

/* What parse() decodes besides the link layer: fixed at start-up from
 * [decap] (ctl/config.h), one per port (its link type). */
struct Decap {
  static constexpr unsigned kMaxPorts = 8;
  uint16_t link = kLinkEthernet;
  uint8_t max_depth = 4;             // tunnel layers entered; deeper: tunnel_too_deep
  uint8_t n_vxlan = 1, n_geneve = 1;
  uint16_t vxlan_ports[kMaxPorts] = {4789};
  uint16_t geneve_ports[kMaxPorts] = {6081};
  // A capture file's snap length (0: live, or none): a record exactly
  // that long may have been cut, so an IP length past its end means bytes
  // not captured, not a malformed packet. A NIC delivers whole frames.
  uint32_t snaplen = 0;
  bool cut_records = false;  // ... and the file has records cut shorter than the wire's
};

enum class Kind : uint8_t { kTcp, kUdp, kOtherIp, kIpFragment, kNonIp, kMalformed };

/* No default member initialisers: the inspection stage keeps 32 of these
 * on the stack per burst, and parse() sets every field a caller may read
 * for the Kind it returns (ip_version, n_vlan and the encapsulation
 * fields always). */
struct Parsed {
  uint8_t ip_version;  // innermost IP: 4, 6 or 0
  uint8_t l4_proto;
  uint8_t n_vlan;      // tags crossed, all Ethernet headers together
  uint8_t tcp_flags;
  uint16_t vlan_id;    // first tag's VID (valid if n_vlan)
  uint16_t vlan_inner; // second tag's VID, 0 if fewer than two
  uint16_t l3_off;     // innermost IP header
  uint16_t l4_off;
  uint16_t payload_off;
  uint16_t encaps;     // bit 1 << Encap for every kind crossed
  uint8_t encap;       // Encap: the outermost one (VLAN tags aside)
  uint8_t depth;       // tunnel layers entered
  uint32_t tunnel_id;  // outermost tunnel's VNI / GRE key / ERSPAN session; 0 none
  uint32_t payload_len;  // L4 payload, padding excluded (captured bytes only)
  uint32_t missing;      // bytes of the datagram the capture did not keep (Decap::snapped)
  uint16_t sport, dport;  // host order
  uint32_t seq, ack;      // host order
  uint16_t window;
  uint8_t src[16], dst[16];  // IPv4 uses the first 4 bytes
};

/* Parses a frame of frame_len bytes whose first seg_len bytes are
 * contiguous at `frame` (seg_len == frame_len for a flat buffer). Headers
 * must lie within seg_len; lengths are checked against frame_len. On
 * Kind::kMalformed, *why says which check failed. Without `d`: an
 * Ethernet port with the default tunnel ports and depth. */
Kind parse(const uint8_t* frame, uint32_t seg_len, uint32_t frame_len, Parsed& out,
           Malformed* why, const Decap& d) noexcept;
Kind parse(const uint8_t* frame, uint32_t seg_len, uint32_t frame_len,
           Parsed& out, Malformed* why) noexcept;

/* parse() on an mbuf chain's first segment. */
extern const Decap kEthernetDefaults;
inline Kind parse_mbuf(const rte_mbuf* m, Parsed& out, Malformed* why, const Decap& d) noexcept {
  return parse(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, out, why, d);
}
inline Kind parse_mbuf(const rte_mbuf* m, Parsed& out, Malformed* why) noexcept {
  return parse_mbuf(m, out, why, kEthernetDefaults);
}

struct Stats {
#define LOOM_PKT_pkt(name, help) core::Counter name;
#define LOOM_PKT_encap(name, help)
#define LOOM_PKT_malformed(name, help)
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
#undef LOOM_PKT_encap
#undef LOOM_PKT_malformed
  core::Counter encap[kNumEncap + 1];  // by Encap; [0] unused
  core::Counter malformed[kNumMalformed];
};

/* The "pkt" block's names and help, in Stats' field order, and a getter
 * by index, for the stats writers. */
constexpr size_t kNumPktCounters = 0
#define LOOM_PKT_pkt(name, help) +1
#define LOOM_PKT_encap(name, help)
#define LOOM_PKT_malformed(name, help)
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
#undef LOOM_PKT_encap
#undef LOOM_PKT_malformed
    ;
extern const char* const kPktNames[kNumPktCounters];
extern const char* const kPktHelp[kNumPktCounters];
const core::Counter& pkt_counter(const Stats& s, size_t i) noexcept;

/* Per-burst tally of parse results, committed to Stats once per burst
 * (the counters share cache lines with the telemetry reader). */
struct Tally {
  uint64_t ipv4 = 0, ipv6 = 0, non_ip = 0, vlan = 0, tcp = 0, udp = 0, other = 0, frag = 0;
  uint64_t tunnelled = 0, snapped = 0;
  uint32_t bad[kNumMalformed] = {};
  uint32_t enc[kNumEncap + 1] = {};
  bool any_bad = false, any_encap = false;

  void add(Kind k, const Parsed& p, Malformed why) noexcept {
    vlan += p.n_vlan != 0;
    ipv4 += p.ip_version == 4;
    ipv6 += p.ip_version == 6;
    if (p.encaps) [[unlikely]] add_encap(p);
    snapped += p.missing != 0;
    switch (k) {
      case Kind::kTcp: tcp++; break;
      case Kind::kUdp: udp++; break;
      case Kind::kOtherIp: other++; break;
      case Kind::kIpFragment: frag++; break;
      case Kind::kNonIp: non_ip++; break;
      case Kind::kMalformed: bad[size_t(why)]++; any_bad = true; break;
    }
  }
  void add_encap(const Parsed& p) noexcept {
    any_encap = true;
    tunnelled += p.depth != 0;
    for (size_t e = 1; e <= kNumEncap; e++) enc[e] += (p.encaps >> e) & 1;
  }
  void commit(Stats& s) const noexcept;
};

#undef LOOM_PKT

}  // namespace pkt
