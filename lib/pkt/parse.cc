#include "pkt/parse.h"

#include <cstring>

#include <rte_byteorder.h>

namespace pkt {

const char* const kMalformedNames[kNumMalformed] = {
#define LOOM_MALFORMED(name, help) #name,
#include "pkt/malformed.def"
#undef LOOM_MALFORMED
};
const char* const kMalformedHelp[kNumMalformed] = {
#define LOOM_MALFORMED(name, help) help,
#include "pkt/malformed.def"
#undef LOOM_MALFORMED
};

namespace {

constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthIpv6 = 0x86DD;
constexpr uint16_t kEthVlan = 0x8100;
constexpr uint16_t kEthQinQ = 0x88A8;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;

inline uint16_t rd16(const uint8_t* p) noexcept { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) noexcept {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

inline Kind bad(Malformed* why, Malformed m) noexcept {
  if (why) *why = m;
  return Kind::kMalformed;
}

/* L4 starts at `off`; the IP datagram ends at `ip_end` (<= frame_len). */
Kind parse_l4(const uint8_t* f, uint32_t seg_len, uint32_t off, uint32_t ip_end,
              uint8_t proto, Parsed& o, Malformed* why) noexcept {
  o.l4_proto = proto;
  o.l4_off = uint16_t(off);
  const uint32_t avail = ip_end - off;
  if (proto == kProtoTcp) {
    if (avail < 20) return bad(why, Malformed::truncated_tcp);
    if (off + 20 > seg_len) return bad(why, Malformed::headers_not_contiguous);
    const uint8_t* t = f + off;
    const uint32_t doff = uint32_t(t[12] >> 4) * 4;
    if (doff < 20 || doff > avail) return bad(why, Malformed::bad_tcp_doff);
    if (off + doff > seg_len) return bad(why, Malformed::headers_not_contiguous);
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
    if (avail < 8) return bad(why, Malformed::truncated_udp);
    if (off + 8 > seg_len) return bad(why, Malformed::headers_not_contiguous);
    o.sport = rd16(f + off);
    o.dport = rd16(f + off + 2);
    o.payload_off = uint16_t(off + 8);
    o.payload_len = avail - 8;
    return Kind::kUdp;
  }
  o.payload_off = uint16_t(off);
  o.payload_len = avail;
  return Kind::kOtherIp;
}

Kind parse_ipv4(const uint8_t* f, uint32_t seg_len, uint32_t frame_len,
                uint32_t off, Parsed& o, Malformed* why) noexcept {
  if (frame_len < off + 20) return bad(why, Malformed::truncated_ipv4);
  if (seg_len < off + 20) return bad(why, Malformed::headers_not_contiguous);
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 4) return bad(why, Malformed::bad_ipv4_version);
  const uint32_t ihl = uint32_t(ip[0] & 0xF) * 4;
  if (ihl < 20 || off + ihl > frame_len) return bad(why, Malformed::bad_ipv4_ihl);
  if (off + ihl > seg_len) return bad(why, Malformed::headers_not_contiguous);
  const uint32_t total = rd16(ip + 2);
  if (total < ihl || off + total > frame_len)
    return bad(why, Malformed::bad_ipv4_total_len);
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
  return parse_l4(f, seg_len, off + ihl, off + total, ip[9], o, why);
}

Kind parse_ipv6(const uint8_t* f, uint32_t seg_len, uint32_t frame_len,
                uint32_t off, Parsed& o, Malformed* why) noexcept {
  if (frame_len < off + 40) return bad(why, Malformed::truncated_ipv6);
  if (seg_len < off + 40) return bad(why, Malformed::headers_not_contiguous);
  const uint8_t* ip = f + off;
  if ((ip[0] >> 4) != 6) return bad(why, Malformed::bad_ipv6_version);
  const uint32_t plen = rd16(ip + 4);
  // A zero payload length means a jumbogram (RFC 2675); Ethernet cannot
  // carry one, so treat it like any other length that overruns the frame.
  if (off + 40 + plen > frame_len || plen == 0)
    return bad(why, Malformed::bad_ipv6_payload_len);
  o.ip_version = 6;
  o.l3_off = uint16_t(off);
  std::memcpy(o.src, ip + 8, 16);
  std::memcpy(o.dst, ip + 24, 16);
  const uint32_t end = off + 40 + plen;
  uint8_t next = ip[6];
  uint32_t p = off + 40;
  // Skip the extension headers a TCP segment may legitimately carry; at
  // most a few, and each length is checked against the datagram.
  for (int hops = 0; hops < 8; hops++) {
    if (next == 0 || next == 43 || next == 60) {
      if (p + 8 > end) return bad(why, Malformed::truncated_ipv6);
      if (p + 8 > seg_len) return bad(why, Malformed::headers_not_contiguous);
      const uint32_t len = (uint32_t(f[p + 1]) + 1) * 8;
      if (p + len > end) return bad(why, Malformed::truncated_ipv6);
      next = f[p];
      p += len;
    } else if (next == 44) {
      if (p + 8 > end) return bad(why, Malformed::truncated_ipv6);
      if (p + 8 > seg_len) return bad(why, Malformed::headers_not_contiguous);
      const uint16_t frag = rd16(f + p + 2);
      o.l4_proto = f[p];
      if ((frag & 0xFFF9) != 0) return Kind::kIpFragment;  // offset or M flag
      next = f[p];
      p += 8;  // atomic fragment: the whole datagram follows
    } else {
      break;
    }
  }
  return parse_l4(f, seg_len, p, end, next, o, why);
}

}  // namespace

Kind parse(const uint8_t* f, uint32_t seg_len, uint32_t frame_len, Parsed& o,
           Malformed* why) noexcept {
  if (seg_len > frame_len) seg_len = frame_len;
  o.ip_version = 0;
  o.n_vlan = 0;
  o.l4_proto = 0;
  o.tcp_flags = 0;
  o.payload_len = 0;
  if (frame_len < 14) return bad(why, Malformed::truncated_l2);
  uint32_t off = 12;
  uint16_t type = rd16(f + off);
  while (type == kEthVlan || type == kEthQinQ) {
    if (o.n_vlan == 2 || frame_len < off + 6) return bad(why, Malformed::truncated_l2);
    if (seg_len < off + 6) return bad(why, Malformed::headers_not_contiguous);
    if (o.n_vlan == 0) o.vlan_id = rd16(f + off + 2) & 0x0FFF;
    o.n_vlan++;
    off += 4;
    type = rd16(f + off);
  }
  off += 2;
  if (type == kEthIpv4) return parse_ipv4(f, seg_len, frame_len, off, o, why);
  if (type == kEthIpv6) return parse_ipv6(f, seg_len, frame_len, off, o, why);
  o.l3_off = uint16_t(off);
  return Kind::kNonIp;
}

Kind parse_mbuf(const rte_mbuf* m, Parsed& o, Malformed* why) noexcept {
  return parse(rte_pktmbuf_mtod(m, const uint8_t*), m->data_len, m->pkt_len, o,
               why);
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
  if (any_bad)
    for (size_t i = 0; i < kNumMalformed; i++)
      if (bad[i]) s.malformed[i].add(bad[i]);
}

}  // namespace pkt
