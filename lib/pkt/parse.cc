#include "pkt/parse.h"

#include <cstring>

#include <rte_byteorder.h>

namespace pkt {

#define LOOM_PKT(block, name, help) LOOM_PKT_##block(name, help)
#define LOOM_PKT_pkt(name, help)
#define LOOM_PKT_encap(name, help)
const char* const kMalformedNames[kNumMalformed] = {
#define LOOM_PKT_malformed(name, help) #name,
#include "pkt/counters.def"
#undef LOOM_PKT_malformed
};
const char* const kMalformedHelp[kNumMalformed] = {
#define LOOM_PKT_malformed(name, help) help,
#include "pkt/counters.def"
#undef LOOM_PKT_malformed
};
#undef LOOM_PKT_encap
#define LOOM_PKT_malformed(name, help)
const char* const kEncapNames[kNumEncap + 1] = {
    "none",
#define LOOM_PKT_encap(name, help) #name,
#include "pkt/counters.def"
#undef LOOM_PKT_encap
};
const char* const kEncapHelp[kNumEncap + 1] = {
    "",
#define LOOM_PKT_encap(name, help) help,
#include "pkt/counters.def"
#undef LOOM_PKT_encap
};
#undef LOOM_PKT_pkt
#define LOOM_PKT_encap(name, help)
const char* const kPktNames[kNumPktCounters] = {
#define LOOM_PKT_pkt(name, help) #name,
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
};
const char* const kPktHelp[kNumPktCounters] = {
#define LOOM_PKT_pkt(name, help) help,
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
};

const core::Counter& pkt_counter(const Stats& s, size_t i) noexcept {
  static constexpr const core::Counter Stats::*kFields[kNumPktCounters] = {
#define LOOM_PKT_pkt(name, help) &Stats::name,
#include "pkt/counters.def"
#undef LOOM_PKT_pkt
  };
  return s.*kFields[i];
}
#undef LOOM_PKT_encap
#undef LOOM_PKT_malformed
#undef LOOM_PKT

bool link_supported(uint32_t lt) noexcept { return link_name(lt) != nullptr; }

const char* link_name(uint32_t lt) noexcept {
  switch (lt) {
    case kLinkNull: return "null";
    case kLinkEthernet: return "ethernet";
    case kLinkPpp: return "ppp";
    case kLinkRaw12:
    case kLinkRaw14:
    case kLinkRaw: return "raw";
    case kLinkPppHdlc: return "ppp-hdlc";
    case kLinkCiscoHdlc: return "c-hdlc";
    case kLinkLoop: return "loop";
    case kLinkSll: return "linux-sll";
    case kLinkIpv4: return "ipv4";
    case kLinkIpv6: return "ipv6";
    case kLinkSll2: return "linux-sll2";
    default: return nullptr;
  }
}

namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88A8;
constexpr uint16_t kEthQinQOld = 0x9100;  // pre-802.1ad S-tag, still seen on carrier gear
constexpr uint16_t kEthMpls = 0x8847;
constexpr uint16_t kEthMplsMc = 0x8848;
constexpr uint16_t kEthPppoe = 0x8864;
constexpr uint16_t kEthTeb = 0x6558;      // Transparent Ethernet Bridging
constexpr uint16_t kEthErspan2 = 0x88BE;  // type I without, type II with a GRE sequence number
constexpr uint16_t kEthErspan3 = 0x22EB;
constexpr uint8_t kProtoIpip = 4;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint8_t kProtoIpv6 = 41;
constexpr uint8_t kProtoGre = 47;
constexpr int kMaxTags = 2;     // per Ethernet header: S-tag + C-tag
constexpr int kMaxLabels = 8;   // MPLS stacks beyond a few labels are pathological

inline uint16_t rd16(const uint8_t* p) noexcept { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) noexcept {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

/* One parse: the frame, its first segment's length, what to decode, the
 * result. Offsets are from the frame's start; `end` arguments bound the
 * layer being read (the frame, or the datagram a tunnel lies in). */
struct Cx {
  const uint8_t* f;
  uint32_t seg;
  uint32_t frame_len;
  const Decap& d;
  Parsed& o;
  Malformed* why;
};

/* An IP length `missing` bytes past `end`: a record the capture cut short
 * when the datagram ran to the frame's end (only the outermost IP can)
 * and the record may be cut: exactly the capture's snap length, or in a
 * file that has cut records (editcap -s keeps the declared snap length). */
inline bool snapped(Cx& c, uint32_t end, uint32_t missing) noexcept {
  const bool may_be_cut = c.d.cut_records || (c.d.snaplen && c.frame_len == c.d.snaplen);
  if (!may_be_cut || end != c.frame_len || c.o.missing) return false;
  c.o.missing = missing;
  return true;
}

inline Kind bad(Cx& c, Malformed m) noexcept {
  if (c.why) *c.why = m;
  return Kind::kMalformed;
}

inline void mark(Parsed& o, Encap e) noexcept {
  o.encaps = uint16_t(o.encaps | 1u << unsigned(e));
  if (!o.encap) o.encap = uint8_t(e);
}

/* Crossing into a tunnel: one more layer, within the configured depth;
 * the outermost tunnel names the connection's tenant. */
[[gnu::cold]] bool enter(Cx& c, Encap e, uint32_t id) noexcept {
  if (++c.o.depth > c.d.max_depth) return false;
  mark(c.o, e);
  if (c.o.depth == 1) c.o.tunnel_id = id;
  return true;
}

inline Kind non_ip(Cx& c, uint32_t off) noexcept {
  c.o.l3_off = uint16_t(off);
  return Kind::kNonIp;
}

Kind ipv4(Cx& c, uint32_t off, uint32_t end) noexcept;
Kind ipv6(Cx& c, uint32_t off, uint32_t end) noexcept;
Kind l2_type(Cx& c, uint16_t type, uint32_t off, uint32_t end) noexcept;

/* An Ethernet header at off (a frame, or one a tunnel carries). */
inline Kind ether(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end < off + 14) return bad(c, Malformed::truncated_l2);
  if (c.seg < off + 14) return bad(c, Malformed::headers_not_contiguous);
  return l2_type(c, rd16(c.f + off + 12), off + 14, end);
}

/* IP by its version nibble: raw-IP links, MPLS payloads, ERSPAN III. */
Kind ip_by_version(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end <= off) return bad(c, Malformed::truncated_l2);
  if (c.seg <= off) return bad(c, Malformed::headers_not_contiguous);  // found by pkt_parse_fuzz
  const uint8_t v = c.f[off] >> 4;
  if (v == 4) return ipv4(c, off, end);
  if (v == 6) return ipv6(c, off, end);
  return non_ip(c, off);
}

Kind ppp_proto(Cx& c, uint16_t proto, uint32_t off, uint32_t end) noexcept {
  if (proto == 0x0021) return ipv4(c, off, end);
  if (proto == 0x0057) return ipv6(c, off, end);
  return non_ip(c, off);  // LCP, IPCP, CHAP...: control traffic
}

[[gnu::cold]] Kind mpls(Cx& c, uint32_t off, uint32_t end) noexcept {
  mark(c.o, Encap::mpls);
  for (int n = 0;; n++) {
    if (n == kMaxLabels) return bad(c, Malformed::too_many_mpls_labels);
    if (end < off + 4) return bad(c, Malformed::truncated_mpls);
    if (c.seg < off + 4) return bad(c, Malformed::headers_not_contiguous);
    const bool bottom = c.f[off + 2] & 1;
    off += 4;
    if (bottom) break;
  }
  if (end <= off) return bad(c, Malformed::truncated_mpls);
  // The version nibble below is a header byte too (found by pkt_parse_fuzz).
  if (c.seg <= off) return bad(c, Malformed::headers_not_contiguous);
  // No payload type in MPLS: the label's meaning is the routers' secret.
  // IP by its version nibble; else an Ethernet pseudo-wire, whose control
  // word (RFC 4385) starts with a 0 nibble -- as do many MAC addresses,
  // so the control word is assumed only when the ethertype lands right
  // with it and not without.
  const uint8_t v = c.f[off] >> 4;
  if (v == 4) return ipv4(c, off, end);
  if (v == 6) return ipv6(c, off, end);
  auto known = [&](uint32_t at) {
    if (end < at + 2 || c.seg < at + 2) return false;
    const uint16_t t = rd16(c.f + at);
    return t == kEthIpv4 || t == kEthIpv6 || t == kEthVlan || t == kEthQinQ || t == kEthMpls;
  };
  if (v == 0 && !known(off + 12) && known(off + 16)) off += 4;
  if (!enter(c, Encap::mpls_pw, 0)) return bad(c, Malformed::tunnel_too_deep);
  return ether(c, off, end);
}

[[gnu::cold]] Kind pppoe(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end < off + 8) return bad(c, Malformed::bad_pppoe);
  if (c.seg < off + 8) return bad(c, Malformed::headers_not_contiguous);
  const uint8_t* h = c.f + off;
  const uint32_t len = rd16(h + 4);  // PPP protocol + payload
  if (h[0] != 0x11 || h[1] != 0 || len < 2 || off + 6 + len > end)
    return bad(c, Malformed::bad_pppoe);
  mark(c.o, Encap::pppoe);
  return ppp_proto(c, rd16(h + 6), off + 8, off + 6 + len);
}

/* What follows an ethertype at off: VLAN tags, then IP (the fast path),
 * MPLS or PPPoE. */
Kind l2_type(Cx& c, uint16_t type, uint32_t off, uint32_t end) noexcept {
  int tags = 0;
  while (type == kEthVlan || type == kEthQinQ) [[unlikely]] {
    if (tags == kMaxTags) return bad(c, Malformed::too_many_vlan_tags);
    if (end < off + 4) return bad(c, Malformed::truncated_l2);
    if (c.seg < off + 4) return bad(c, Malformed::headers_not_contiguous);
    const uint16_t vid = rd16(c.f + off) & 0x0FFF;
    if (c.o.n_vlan == 0) c.o.vlan_id = vid;
    else if (c.o.n_vlan == 1) c.o.vlan_inner = vid;
    c.o.n_vlan++;
    // Tags are not an encapsulation kind of the key (their IDs are in
    // it): only the counter's bit.
    if (++tags == 2) c.o.encaps = uint16_t(c.o.encaps | 1u << unsigned(Encap::qinq));
    type = rd16(c.f + off + 2);
    off += 4;
    if (type == kEthQinQOld) type = kEthQinQ;
  }
  if (type == kEthIpv4) [[likely]] return ipv4(c, off, end);
  if (type == kEthIpv6) return ipv6(c, off, end);
  if (type == kEthQinQOld) return l2_type(c, kEthQinQ, off, end);
  if (type == kEthMpls || type == kEthMplsMc) return mpls(c, off, end);
  if (type == kEthPppoe) return pppoe(c, off, end);
  return non_ip(c, off);
}

[[gnu::cold]] Kind vxlan(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end < off + 8) return bad(c, Malformed::truncated_tunnel);
  if (c.seg < off + 8) return bad(c, Malformed::headers_not_contiguous);
  if (!(c.f[off] & 0x08)) return bad(c, Malformed::bad_vxlan);  // RFC 7348: I flag
  if (!enter(c, Encap::vxlan, rd32(c.f + off + 4) >> 8)) return bad(c, Malformed::tunnel_too_deep);
  return ether(c, off + 8, end);
}

[[gnu::cold]] Kind geneve(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end < off + 8) return bad(c, Malformed::truncated_tunnel);
  if (c.seg < off + 8) return bad(c, Malformed::headers_not_contiguous);
  const uint8_t* h = c.f + off;
  const uint32_t opt = uint32_t(h[0] & 0x3F) * 4;
  if ((h[0] >> 6) != 0 || off + 8 + opt > end) return bad(c, Malformed::bad_geneve);
  if (!enter(c, Encap::geneve, rd32(h + 4) >> 8)) return bad(c, Malformed::tunnel_too_deep);
  const uint16_t proto = rd16(h + 2);
  off += 8 + opt;
  return proto == kEthTeb ? ether(c, off, end) : l2_type(c, proto, off, end);
}

[[gnu::cold]] Kind gre(Cx& c, uint32_t off, uint32_t end) noexcept {
  if (end < off + 4) return bad(c, Malformed::truncated_tunnel);
  if (c.seg < off + 4) return bad(c, Malformed::headers_not_contiguous);
  const uint8_t* h = c.f + off;
  // Version 1 is PPTP's enhanced GRE; the routing bit, RFC 1701's source
  // routes (obsoleted by RFC 2784): neither is what taps deliver.
  if ((h[1] & 7) != 0 || (h[0] & 0x40)) return bad(c, Malformed::bad_gre);
  const bool csum = h[0] & 0x80, key = h[0] & 0x20, seq = h[0] & 0x10;
  const uint32_t hl = 4 + 4 * (csum + key + seq);
  if (end < off + hl) return bad(c, Malformed::truncated_tunnel);
  if (c.seg < off + hl) return bad(c, Malformed::headers_not_contiguous);
  const uint16_t proto = rd16(h + 2);
  const uint32_t id = key ? rd32(h + 4 + 4 * csum) : 0;
  off += hl;
  if (proto == kEthErspan2 || proto == kEthErspan3) {
    const bool type3 = proto == kEthErspan3;
    if (proto == kEthErspan2 && !seq) {  // type I: the mirrored frame right away
      if (!enter(c, Encap::erspan1, 0)) return bad(c, Malformed::tunnel_too_deep);
      return ether(c, off, end);
    }
    const uint32_t eh = type3 ? 12 : 8;
    if (end < off + eh) return bad(c, Malformed::truncated_tunnel);
    if (c.seg < off + eh) return bad(c, Malformed::headers_not_contiguous);
    const uint8_t* e = c.f + off;
    if ((e[0] >> 4) != (type3 ? 2 : 1)) return bad(c, Malformed::bad_erspan);
    const uint32_t session = rd16(e + 2) & 0x3FF;
    if (!enter(c, type3 ? Encap::erspan3 : Encap::erspan2, session))
      return bad(c, Malformed::tunnel_too_deep);
    if (!type3) return ether(c, off + 8, end);
    // Type III: an 8-byte platform subheader when O is set; the frame
    // type says Ethernet (0) or IP (2).
    const uint16_t w = rd16(e + 10);
    off += 12 + ((w & 1) ? 8 : 0);
    const unsigned ft = (w >> 10) & 0x1F;
    if (ft == 0) return ether(c, off, end);
    if (ft == 2) return ip_by_version(c, off, end);
    return non_ip(c, off);
  }
  if (proto != kEthTeb && proto != kEthIpv4 && proto != kEthIpv6 && proto != kEthMpls &&
      proto != kEthMplsMc)
    return Kind::kOtherIp;  // keepalives, PPP (0x880B), WCCP...: the outer GRE is what it is
  if (!enter(c, Encap::gre, id)) return bad(c, Malformed::tunnel_too_deep);
  return proto == kEthTeb ? ether(c, off, end) : l2_type(c, proto, off, end);
}

inline bool listed(const uint16_t* ports, unsigned n, uint16_t p) noexcept {
  for (unsigned i = 0; i < n; i++)
    if (ports[i] == p) return true;
  return false;
}

/* L4 starts at `off`; the IP datagram ends at `ip_end` (<= the bound of
 * the layer it is in). */
Kind l4(Cx& c, uint32_t off, uint32_t ip_end, uint8_t proto) noexcept {
  Parsed& o = c.o;
  // Cx's fields in locals: built with -fno-strict-aliasing, every store
  // into Parsed would otherwise reload them (measured: 0.5 ns a frame).
  const uint8_t* const cf = c.f;
  const uint32_t cseg = c.seg;
  o.l4_proto = proto;
  o.l4_off = uint16_t(off);
  const uint32_t avail = ip_end - off;
  if (proto == kProtoTcp) [[likely]] {
    if (avail < 20) return bad(c, Malformed::truncated_tcp);
    if (off + 20 > cseg) return bad(c, Malformed::headers_not_contiguous);
    const uint8_t* t = cf + off;
    const uint32_t doff = uint32_t(t[12] >> 4) * 4;
    if (doff < 20 || doff > avail) return bad(c, Malformed::bad_tcp_doff);
    if (off + doff > cseg) return bad(c, Malformed::headers_not_contiguous);
    o.sport = rd16(t);
    o.dport = rd16(t + 2);
    o.seq = rd32(t + 4);
    o.ack = rd32(t + 8);
    o.tcp_flags = t[13];
    o.window = rd16(t + 14);
    o.payload_off = uint16_t(off + doff);
    o.payload_len = avail - doff;
    return Kind::kTcp;
  }
  if (proto == kProtoUdp) {
    if (avail < 8) return bad(c, Malformed::truncated_udp);
    if (off + 8 > cseg) return bad(c, Malformed::headers_not_contiguous);
    o.sport = rd16(cf + off);
    o.dport = rd16(cf + off + 2);
    o.payload_off = uint16_t(off + 8);
    o.payload_len = avail - 8;
    if (listed(c.d.vxlan_ports, c.d.n_vxlan, o.dport)) return vxlan(c, off + 8, ip_end);
    if (listed(c.d.geneve_ports, c.d.n_geneve, o.dport)) return geneve(c, off + 8, ip_end);
    return Kind::kUdp;
  }
  o.payload_off = uint16_t(off);
  o.payload_len = avail;
  if (proto == kProtoIpip || proto == kProtoIpv6) {
    const bool outer4 = o.ip_version == 4;
    const Encap e = proto == kProtoIpip ? (outer4 ? Encap::ipip : Encap::ip4in6)
                                        : (outer4 ? Encap::ip6in4 : Encap::ip6in6);
    if (!enter(c, e, 0)) return bad(c, Malformed::tunnel_too_deep);
    return proto == kProtoIpip ? ipv4(c, off, ip_end) : ipv6(c, off, ip_end);
  }
  if (proto == kProtoGre) return gre(c, off, ip_end);
  return Kind::kOtherIp;
}

Kind ipv4(Cx& c, uint32_t off, uint32_t end) noexcept {
  const uint8_t* const cf = c.f;
  const uint32_t cseg = c.seg;
  if (end < off + 20) return bad(c, Malformed::truncated_ipv4);
  if (cseg < off + 20) return bad(c, Malformed::headers_not_contiguous);
  const uint8_t* ip = cf + off;
  if ((ip[0] >> 4) != 4) return bad(c, Malformed::bad_ipv4_version);
  const uint32_t ihl = uint32_t(ip[0] & 0xF) * 4;
  if (ihl < 20 || off + ihl > end) return bad(c, Malformed::bad_ipv4_ihl);
  if (off + ihl > cseg) return bad(c, Malformed::headers_not_contiguous);
  uint32_t total = rd16(ip + 2);
  if (total < ihl) return bad(c, Malformed::bad_ipv4_total_len);
  if (off + total > end && !snapped(c, end, total - (end - off)))
    return bad(c, Malformed::bad_ipv4_total_len);
  if (off + total > end) total = end - off;
  Parsed& o = c.o;
  o.l3_off = uint16_t(off);
  std::memcpy(o.src, ip + 12, 4);
  std::memcpy(o.dst, ip + 16, 4);
  const uint16_t frag = rd16(ip + 6);
  o.ip_version = 4;
  // More-fragments set or a non-zero offset: the L4 header is absent or
  // incomplete. IP reassembly is not Loom's job (RFC 8900: TCP peers use
  // PMTUD); the fragment is counted and relayed untouched.
  if (frag & 0x3FFF) {
    o.l4_proto = ip[9];
    return Kind::kIpFragment;
  }
  return l4(c, off + ihl, off + total, ip[9]);
}

Kind ipv6(Cx& c, uint32_t off, uint32_t end_bound) noexcept {
  if (end_bound < off + 40) return bad(c, Malformed::truncated_ipv6);
  if (c.seg < off + 40) return bad(c, Malformed::headers_not_contiguous);
  const uint8_t* ip = c.f + off;
  if ((ip[0] >> 4) != 6) return bad(c, Malformed::bad_ipv6_version);
  uint32_t plen = rd16(ip + 4);
  // A zero payload length means a jumbogram (RFC 2675); Ethernet cannot
  // carry one, so treat it like any other length that overruns the frame.
  if (plen == 0) return bad(c, Malformed::bad_ipv6_payload_len);
  if (off + 40 + plen > end_bound) {
    if (!snapped(c, end_bound, off + 40 + plen - end_bound))
      return bad(c, Malformed::bad_ipv6_payload_len);
    plen = end_bound - off - 40;
  }
  Parsed& o = c.o;
  o.ip_version = 6;
  o.l3_off = uint16_t(off);
  std::memcpy(o.src, ip + 8, 16);
  std::memcpy(o.dst, ip + 24, 16);
  const uint32_t end = off + 40 + plen;
  uint8_t next = ip[6];
  uint32_t p = off + 40;
  const uint8_t* f = c.f;
  // Skip the extension headers a TCP segment may legitimately carry; at
  // most a few, and each length is checked against the datagram.
  for (int hops = 0; hops < 8; hops++) {
    if (next == 0 || next == 43 || next == 60) {
      if (p + 8 > end) return bad(c, Malformed::truncated_ipv6);
      if (p + 8 > c.seg) return bad(c, Malformed::headers_not_contiguous);
      const uint32_t len = (uint32_t(f[p + 1]) + 1) * 8;
      if (p + len > end) return bad(c, Malformed::truncated_ipv6);
      next = f[p];
      p += len;
    } else if (next == 44) {
      if (p + 8 > end) return bad(c, Malformed::truncated_ipv6);
      if (p + 8 > c.seg) return bad(c, Malformed::headers_not_contiguous);
      const uint16_t frag = rd16(f + p + 2);
      o.l4_proto = f[p];
      if ((frag & 0xFFF9) != 0) return Kind::kIpFragment;  // offset or M flag
      next = f[p];
      p += 8;  // atomic fragment: the whole datagram follows
    } else {
      break;
    }
  }
  return l4(c, p, end, next);
}

/* Link layers other than Ethernet: offline captures only. */
[[gnu::cold]] Kind link_slow(Cx& c, uint32_t len) noexcept {
  const uint8_t* f = c.f;
  auto need = [&](uint32_t n) { return len >= n && c.seg >= n; };
  switch (c.d.link) {
    case kLinkRaw:
    case kLinkRaw12:
    case kLinkRaw14: return ip_by_version(c, 0, len);
    case kLinkIpv4: return ipv4(c, 0, len);
    case kLinkIpv6: return ipv6(c, 0, len);
    case kLinkNull:
    case kLinkLoop: {
      // The address family in whichever order the capturing host wrote
      // it (NULL: its own, LOOP: network): AF_INET is 2 everywhere,
      // AF_INET6 24 (NetBSD, OpenBSD), 28 (FreeBSD) or 30 (macOS).
      if (!need(4)) return bad(c, Malformed::truncated_l2);
      const uint32_t be = rd32(f), le = uint32_t(f[3]) << 24 | f[2] << 16 | f[1] << 8 | f[0];
      auto v6 = [](uint32_t af) { return af == 24 || af == 28 || af == 30; };
      if (be == 2 || le == 2) return ipv4(c, 4, len);
      if (v6(be) || v6(le)) return ipv6(c, 4, len);
      return non_ip(c, 4);
    }
    case kLinkSll:
      if (!need(16)) return bad(c, Malformed::truncated_l2);
      return l2_type(c, rd16(f + 14), 16, len);
    case kLinkSll2:
      if (!need(20)) return bad(c, Malformed::truncated_l2);
      return l2_type(c, rd16(f), 20, len);
    case kLinkPpp:
    case kLinkPppHdlc: {
      // Address and control (0xFF 0x03) may be there or not; the protocol
      // is one byte when compressed (RFC 1661 PFC: odd first byte).
      uint32_t off = need(2) && f[0] == 0xFF && f[1] == 0x03 ? 2 : 0;
      if (!need(off + 1)) return bad(c, Malformed::truncated_l2);
      if (f[off] & 1) return ppp_proto(c, f[off], off + 1, len);
      if (!need(off + 2)) return bad(c, Malformed::truncated_l2);
      return ppp_proto(c, rd16(f + off), off + 2, len);
    }
    case kLinkCiscoHdlc:
      if (!need(4)) return bad(c, Malformed::truncated_l2);
      return l2_type(c, rd16(f + 2), 4, len);
    default: return non_ip(c, 0);  // refused at start-up (link_supported)
  }
}

}  // namespace

const Decap kEthernetDefaults{};

namespace {

/* Untunnelled Ethernet / IPv4 without options / TCP, unfragmented and
 * whole in the first segment: nearly every frame on a service port, read
 * in one function with no calls. Every check here is one the layered
 * path makes; any frame it does not take (a tag, a tunnel, a short or
 * cut record, IP options, a fragment, UDP) goes the layered way, so both
 * give the same Parsed. */
[[gnu::always_inline]] inline bool plain_tcp4(const uint8_t* f, uint32_t seg_len,
                                              uint32_t frame_len, Parsed& o) noexcept {
  if (seg_len < 14 + 20 + 20 || rd16(f + 12) != kEthIpv4 || f[14] != 0x45) return false;
  const uint8_t* ip = f + 14;
  const uint32_t total = rd16(ip + 2);
  if (ip[9] != kProtoTcp || (rd16(ip + 6) & 0x3FFF) || total < 40 || 14 + total > frame_len)
    return false;
  const uint8_t* t = ip + 20;
  const uint32_t doff = uint32_t(t[12] >> 4) * 4;
  if (doff < 20 || doff > total - 20 || 34 + doff > seg_len) return false;
  o.ip_version = 4;
  o.l4_proto = kProtoTcp;
  o.n_vlan = 0;
  o.tcp_flags = t[13];
  o.vlan_inner = 0;
  o.l3_off = 14;
  o.l4_off = 34;
  o.payload_off = uint16_t(34 + doff);
  o.encaps = 0;
  o.encap = 0;
  o.depth = 0;
  o.tunnel_id = 0;
  o.payload_len = total - 20 - doff;
  o.missing = 0;
  o.sport = rd16(t);
  o.dport = rd16(t + 2);
  o.seq = rd32(t + 4);
  o.ack = rd32(t + 8);
  o.window = rd16(t + 14);
  std::memcpy(o.src, ip + 12, 4);
  std::memcpy(o.dst, ip + 16, 4);
  return true;
}

}  // namespace

Kind parse(const uint8_t* f, uint32_t seg_len, uint32_t frame_len, Parsed& o, Malformed* why,
           const Decap& d) noexcept {
  if (seg_len > frame_len) seg_len = frame_len;
  if (d.link == kLinkEthernet && plain_tcp4(f, seg_len, frame_len, o)) [[likely]]
    return Kind::kTcp;
  o.ip_version = 0;
  o.n_vlan = 0;
  o.l4_proto = 0;
  o.tcp_flags = 0;
  o.payload_len = 0;
  o.vlan_inner = 0;
  o.encaps = 0;
  o.encap = 0;
  o.depth = 0;
  o.tunnel_id = 0;
  o.missing = 0;
  Cx c{f, seg_len, frame_len, d, o, why};
  if (d.link == kLinkEthernet) [[likely]] return ether(c, 0, frame_len);
  return link_slow(c, frame_len);
}

Kind parse(const uint8_t* f, uint32_t seg_len, uint32_t frame_len, Parsed& o,
           Malformed* why) noexcept {
  return parse(f, seg_len, frame_len, o, why, kEthernetDefaults);
}


void Tally::commit(Stats& s) const noexcept {
  s.ipv4.add(ipv4);
  s.ipv6.add(ipv6);
  s.non_ip.add(non_ip);
  s.vlan_tagged.add(vlan);
  s.tcp.add(tcp);
  s.udp.add(udp);
  s.other_l4.add(other);
  s.ip_fragments.add(frag);
  if (snapped) [[unlikely]] s.snapped.add(snapped);
  if (any_bad)
    for (size_t i = 0; i < kNumMalformed; i++)
      if (bad[i]) s.malformed[i].add(bad[i]);
  if (any_encap) {
    s.tunnelled.add(tunnelled);
    for (size_t i = 1; i <= kNumEncap; i++)
      if (enc[i]) s.encap[i].add(enc[i]);
  }
}

}  // namespace pkt
