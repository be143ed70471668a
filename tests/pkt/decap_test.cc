// Decapsulation: every link type and encapsulation parse() decodes, down
// to the innermost TCP segment, the depth limit, each reason a layer is
// not decoded, and the flow key's tunnel identity. Frames built in code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "flow/flow.h"
#include "pkt/parse.h"

namespace {

using pkt::Encap;
using pkt::Kind;
using pkt::Malformed;
using Bytes = std::vector<uint8_t>;

void append(Bytes& a, const Bytes& b) {
  for (uint8_t x : b) a.push_back(x);
}
Bytes operator+(Bytes a, const Bytes& b) {
  append(a, b);
  return a;
}
Bytes be16(uint16_t v) { return {uint8_t(v >> 8), uint8_t(v)}; }
Bytes be32(uint32_t v) { return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}; }
void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}

constexpr size_t kPayload = 11;

Bytes tcp(uint16_t sport = 40000, uint16_t dport = 80) {
  Bytes t(20 + kPayload, 'p');
  std::fill(t.begin(), t.begin() + 20, uint8_t(0));
  put16(t, 0, sport);
  put16(t, 2, dport);
  t[7] = 1;
  t[12] = 0x50;
  t[13] = 0x18;
  return t;
}
Bytes udp(uint16_t dport, const Bytes& payload, uint16_t sport = 5555) {
  Bytes u = be16(sport) + be16(dport) + be16(uint16_t(8 + payload.size())) + be16(0);
  return u + payload;
}
Bytes ipv4(const Bytes& l4, uint8_t proto = 6, uint8_t last = 1) {
  Bytes ip(20, 0);
  ip[0] = 0x45;
  put16(ip, 2, uint16_t(20 + l4.size()));
  ip[8] = 64;
  ip[9] = proto;
  ip[12] = 10, ip[15] = last;
  ip[16] = 10, ip[19] = 2;
  return ip + l4;
}
Bytes ipv6(const Bytes& l4, uint8_t next = 6) {
  Bytes ip(40, 0);
  ip[0] = 0x60;
  put16(ip, 4, uint16_t(l4.size()));
  ip[6] = next;
  ip[7] = 64;
  ip[8] = 0x20, ip[9] = 0x01, ip[23] = 1;
  ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
  return ip + l4;
}
Bytes macs() { return Bytes{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}; }
Bytes eth(uint16_t type, const Bytes& body) { return macs() + be16(type) + body; }
Bytes tag(uint16_t tpid, uint16_t vid) { return be16(tpid) + be16(vid); }
Bytes vxlan(uint32_t vni, const Bytes& inner) { return Bytes{0x08, 0, 0, 0} + be32(vni << 8) + inner; }
Bytes gre(uint16_t proto, const Bytes& inner, bool csum = false, int key = -1, bool seq = false) {
  Bytes g{uint8_t((csum ? 0x80 : 0) | (key >= 0 ? 0x20 : 0) | (seq ? 0x10 : 0)), 0};
  g = g + be16(proto);
  if (csum) g = g + be32(0);
  if (key >= 0) g = g + be32(uint32_t(key));
  if (seq) g = g + be32(7);
  return g + inner;
}
Bytes inner_eth4() { return eth(0x0800, ipv4(tcp())); }

struct Res {
  Kind k;
  pkt::Parsed p;
  Malformed why;
};
Res run(const Bytes& f, const pkt::Decap& d = pkt::Decap{}) {
  // Exact-size heap copy so ASan catches any read past the frame.
  std::unique_ptr<uint8_t[]> exact(new uint8_t[f.size() ? f.size() : 1]);
  if (!f.empty()) std::memcpy(exact.get(), f.data(), f.size());
  Res r{};
  r.why = Malformed::kCount;
  r.k = pkt::parse(exact.get(), uint32_t(f.size()), uint32_t(f.size()), r.p, &r.why, d);
  return r;
}
pkt::Decap link(uint16_t lt) {
  pkt::Decap d;
  d.link = lt;
  return d;
}

// The innermost segment is found: ports, payload where it is, length.
void expect_inner(const Res& r, const Bytes& f, uint8_t ipver = 4) {
  ASSERT_EQ(r.k, Kind::kTcp) << pkt::kMalformedNames[size_t(r.why) % pkt::kNumMalformed];
  EXPECT_EQ(r.p.ip_version, ipver);
  EXPECT_EQ(r.p.sport, 40000);
  EXPECT_EQ(r.p.dport, 80);
  EXPECT_EQ(r.p.payload_len, kPayload);
  EXPECT_EQ(size_t(r.p.payload_off) + kPayload, f.size());
  EXPECT_EQ(r.p.l4_off + 20, r.p.payload_off);
}

TEST(Link, EthernetUntouched) {
  const Bytes f = eth(0x0800, ipv4(tcp()));
  const Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encaps, 0);
  EXPECT_EQ(r.p.encap, 0);
  EXPECT_EQ(r.p.depth, 0);
  EXPECT_EQ(r.p.tunnel_id, 0u);
}

TEST(Link, NullAndLoopEitherOrder) {
  for (uint16_t lt : {pkt::kLinkNull, pkt::kLinkLoop}) {
    for (uint32_t af : {2u, 24u, 28u, 30u}) {
      const bool v6 = af != 2;
      const Bytes ip = v6 ? ipv6(tcp()) : ipv4(tcp());
      const Bytes host = {uint8_t(af), 0, 0, 0};
      SCOPED_TRACE(std::to_string(lt) + " af " + std::to_string(af));
      Bytes f = host + ip;
      expect_inner(run(f, link(lt)), f, v6 ? 6 : 4);
      f = be32(af) + ip;
      expect_inner(run(f, link(lt)), f, v6 ? 6 : 4);
    }
  }
  EXPECT_EQ(run(be32(7) + ipv4(tcp()), link(pkt::kLinkNull)).k, Kind::kNonIp);
  EXPECT_EQ(run(Bytes{2, 0}, link(pkt::kLinkNull)).why, Malformed::truncated_l2);
}

TEST(Link, RawIp) {
  for (uint16_t lt : {pkt::kLinkRaw, pkt::kLinkRaw12, pkt::kLinkRaw14}) {
    Bytes f = ipv4(tcp());
    expect_inner(run(f, link(lt)), f, 4);
    f = ipv6(tcp());
    expect_inner(run(f, link(lt)), f, 6);
  }
  Bytes f = ipv4(tcp());
  expect_inner(run(f, link(pkt::kLinkIpv4)), f, 4);
  EXPECT_EQ(run(f, link(pkt::kLinkIpv6)).why, Malformed::bad_ipv6_version);
  f = ipv6(tcp());
  expect_inner(run(f, link(pkt::kLinkIpv6)), f, 6);
}

TEST(Link, LinuxCooked) {
  Bytes sll = be16(0) + be16(1) + be16(6) + Bytes(8, 0x02);  // 14 bytes, then the protocol
  Bytes f = sll + be16(0x0800) + ipv4(tcp());
  expect_inner(run(f, link(pkt::kLinkSll)), f);
  f = sll + be16(0x86DD) + ipv6(tcp());
  expect_inner(run(f, link(pkt::kLinkSll)), f, 6);
  Bytes sll2 = be16(0x86DD) + be16(0) + be32(3) + be16(1) + Bytes{0, 6} + Bytes(8, 0x02);
  ASSERT_EQ(sll2.size(), 20u);
  f = sll2 + ipv6(tcp());
  expect_inner(run(f, link(pkt::kLinkSll2)), f, 6);
  EXPECT_EQ(run(Bytes(10, 0), link(pkt::kLinkSll2)).why, Malformed::truncated_l2);
}

TEST(Link, PppAndHdlc) {
  for (uint16_t lt : {pkt::kLinkPpp, pkt::kLinkPppHdlc}) {
    Bytes f = Bytes{0xFF, 0x03} + be16(0x0021) + ipv4(tcp());
    expect_inner(run(f, link(lt)), f);
    f = be16(0x0057) + ipv6(tcp());
    expect_inner(run(f, link(lt)), f, 6);
    f = Bytes{0x21} + ipv4(tcp());  // protocol field compressed
    expect_inner(run(f, link(lt)), f);
    EXPECT_EQ(run(Bytes{0xFF, 0x03, 0xC0, 0x21, 1, 2, 3, 4}, link(lt)).k, Kind::kNonIp);  // LCP
  }
  Bytes f = Bytes{0x0F, 0x00} + be16(0x0800) + ipv4(tcp());
  expect_inner(run(f, link(pkt::kLinkCiscoHdlc)), f);
  f = Bytes{0x0F, 0x00} + be16(0x86DD) + ipv6(tcp());
  expect_inner(run(f, link(pkt::kLinkCiscoHdlc)), f, 6);
}

TEST(Link, SupportedAndNamed) {
  for (uint32_t lt : {0u, 1u, 9u, 12u, 14u, 50u, 101u, 104u, 108u, 113u, 228u, 229u, 276u})
    EXPECT_TRUE(pkt::link_supported(lt)) << lt;
  for (uint32_t lt : {105u, 127u, 147u, 192u}) EXPECT_FALSE(pkt::link_supported(lt)) << lt;
  EXPECT_STREQ(pkt::link_name(276), "linux-sll2");
}

TEST(Decap, QinQ) {
  const Bytes f = macs() + tag(0x88A8, 0x0123) + tag(0x8100, 0x2456) + be16(0x0800) + ipv4(tcp());
  const Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.n_vlan, 2);
  EXPECT_EQ(r.p.vlan_id, 0x123);
  EXPECT_EQ(r.p.vlan_inner, 0x456);  // PCP bits are not the ID
  EXPECT_EQ(r.p.encaps, 1u << unsigned(Encap::qinq));
  EXPECT_EQ(r.p.encap, 0);  // tags are in the key as VIDs, not as a kind
  const Bytes old = macs() + tag(0x9100, 5) + tag(0x8100, 6) + be16(0x0800) + ipv4(tcp());
  const Res o = run(old);
  expect_inner(o, old);
  EXPECT_EQ(o.p.vlan_inner, 6);
  const Bytes three = macs() + tag(0x88A8, 1) + tag(0x8100, 2) + tag(0x8100, 3) + be16(0x0800) + ipv4(tcp());
  EXPECT_EQ(run(three).why, Malformed::too_many_vlan_tags);
}

Bytes label(uint32_t l, bool bottom) { return be32(l << 12 | (bottom ? 0x100 : 0) | 64); }

TEST(Decap, Mpls) {
  Bytes f = eth(0x8847, label(100, false) + label(200, true) + ipv4(tcp()));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::mpls));
  EXPECT_EQ(r.p.depth, 0);
  f = eth(0x8848, label(1, true) + ipv6(tcp()));
  expect_inner(run(f), f, 6);
  // Ethernet pseudo-wire, with the control word and without.
  f = eth(0x8847, label(16, true) + be32(0) + inner_eth4());
  r = run(f);
  expect_inner(r, f);
  EXPECT_TRUE(r.p.encaps & (1u << unsigned(Encap::mpls_pw)));
  EXPECT_EQ(r.p.depth, 1);
  f = eth(0x8847, label(16, true) + inner_eth4());  // dst MAC 02:...: nibble 0
  expect_inner(run(f), f);
  Bytes stack;
  for (int i = 0; i < 9; i++) stack = stack + label(uint32_t(i), false);
  EXPECT_EQ(run(eth(0x8847, stack + ipv4(tcp()))).why, Malformed::too_many_mpls_labels);
  EXPECT_EQ(run(eth(0x8847, label(1, false) + Bytes{0, 0})).why, Malformed::truncated_mpls);
  EXPECT_EQ(run(eth(0x8847, label(1, true))).why, Malformed::truncated_mpls);
  {
    // The first segment ends right after the bottom label: the payload's
    // version nibble is not in it (pkt_parse_fuzz read past it).
    const Bytes f = eth(0x8847, label(1, true) + ipv4(tcp()));
    pkt::Parsed p;
    Malformed why = Malformed::kCount;
    EXPECT_EQ(pkt::parse(f.data(), 14 + 4, uint32_t(f.size()), p, &why), Kind::kMalformed);
    EXPECT_EQ(why, Malformed::headers_not_contiguous);
    // Raw IP whose first segment is empty: the version nibble is not there.
    pkt::Decap raw;
    raw.link = 101;
    const Bytes ip = ipv4(tcp());
    why = Malformed::kCount;
    EXPECT_EQ(pkt::parse(ip.data(), 0, uint32_t(ip.size()), p, &why, raw), Kind::kMalformed);
    EXPECT_EQ(why, Malformed::headers_not_contiguous);
  }
}

Bytes pppoe(uint16_t proto, const Bytes& body, int len = -1) {
  return Bytes{0x11, 0} + be16(0x1234) + be16(uint16_t(len >= 0 ? len : int(body.size()) + 2)) +
         be16(proto) + body;
}

TEST(Decap, Pppoe) {
  Bytes f = eth(0x8864, pppoe(0x0021, ipv4(tcp())));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::pppoe));
  f = macs() + tag(0x8100, 7) + be16(0x8864) + pppoe(0x0057, ipv6(tcp()));
  r = run(f);
  expect_inner(r, f, 6);
  EXPECT_EQ(r.p.vlan_id, 7);
  EXPECT_EQ(run(eth(0x8864, pppoe(0xC021, Bytes(8, 0)))).k, Kind::kNonIp);
  Bytes bad = pppoe(0x0021, ipv4(tcp()));
  bad[0] = 0x12;
  EXPECT_EQ(run(eth(0x8864, bad)).why, Malformed::bad_pppoe);
  EXPECT_EQ(run(eth(0x8864, pppoe(0x0021, ipv4(tcp()), 900))).why, Malformed::bad_pppoe);
}

TEST(Decap, Vxlan) {
  const Bytes f = eth(0x0800, ipv4(udp(4789, vxlan(0xABCDE, inner_eth4())), 17, 9));
  const Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::vxlan));
  EXPECT_EQ(r.p.tunnel_id, 0xABCDEu);
  EXPECT_EQ(r.p.depth, 1);
  EXPECT_EQ(r.p.src[3], 1);  // the inner source, not the outer (10.0.0.9)
  EXPECT_EQ(r.p.l3_off, 14 + 20 + 8 + 8 + 14);
  Bytes nof = f;
  nof[14 + 20 + 8] = 0;  // I flag clear
  EXPECT_EQ(run(nof).why, Malformed::bad_vxlan);
  EXPECT_EQ(run(eth(0x0800, ipv4(udp(4789, Bytes{8, 0, 0}), 17))).why, Malformed::truncated_tunnel);
  // Over IPv6, and on a port of the operator's choosing.
  const Bytes v6 = eth(0x86DD, ipv6(udp(8472, vxlan(3, eth(0x86DD, ipv6(tcp())))), 17));
  EXPECT_EQ(run(v6).k, Kind::kUdp);
  pkt::Decap d;
  d.vxlan_ports[0] = 8472;
  expect_inner(run(v6, d), v6, 6);
}

Bytes geneve(uint32_t vni, uint16_t proto, const Bytes& opts, const Bytes& inner) {
  return Bytes{uint8_t(opts.size() / 4), 0} + be16(proto) + be32(vni << 8) + opts + inner;
}

TEST(Decap, Geneve) {
  const Bytes opts = be16(0x0102) + Bytes{3, 1} + be32(0xDEADBEEF);  // one 4-byte option
  Bytes f = eth(0x0800, ipv4(udp(6081, geneve(77, 0x6558, opts, inner_eth4())), 17));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::geneve));
  EXPECT_EQ(r.p.tunnel_id, 77u);
  f = eth(0x0800, ipv4(udp(6081, geneve(78, 0x0800, {}, ipv4(tcp()))), 17));
  expect_inner(run(f), f);
  Bytes bad = geneve(1, 0x6558, {}, inner_eth4());
  bad[0] = 0x40;  // version 1
  EXPECT_EQ(run(eth(0x0800, ipv4(udp(6081, bad), 17))).why, Malformed::bad_geneve);
  bad[0] = 0x3F;  // 252 bytes of options
  EXPECT_EQ(run(eth(0x0800, ipv4(udp(6081, bad), 17))).why, Malformed::bad_geneve);
}

TEST(Decap, Gre) {
  Bytes f = eth(0x0800, ipv4(gre(0x0800, ipv4(tcp())), 47));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::gre));
  EXPECT_EQ(r.p.tunnel_id, 0u);
  f = eth(0x0800, ipv4(gre(0x6558, inner_eth4(), true, 0x01020304, true), 47));
  r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.tunnel_id, 0x01020304u);
  f = eth(0x86DD, ipv6(gre(0x86DD, ipv6(tcp()), false, 9), 47));
  r = run(f);
  expect_inner(r, f, 6);
  EXPECT_EQ(r.p.tunnel_id, 9u);
  f = eth(0x0800, ipv4(gre(0x8847, label(5, true) + ipv4(tcp())), 47));
  expect_inner(run(f), f);
  EXPECT_EQ(run(eth(0x0800, ipv4(gre(0x880B, Bytes(8, 0)), 47))).k, Kind::kOtherIp);
  Bytes v1 = gre(0x0800, ipv4(tcp()));
  v1[1] = 1;
  EXPECT_EQ(run(eth(0x0800, ipv4(v1, 47))).why, Malformed::bad_gre);
  EXPECT_EQ(run(eth(0x0800, ipv4(Bytes{0x20, 0, 8, 0, 1}, 47))).why, Malformed::truncated_tunnel);
}

Bytes erspan2(uint16_t session, const Bytes& inner) {
  return be16(0x1000 | 10) + be16(session) + be32(0) + inner;  // ver 1, VLAN 10
}
Bytes erspan3(uint16_t session, bool sub, uint8_t ft, const Bytes& inner) {
  Bytes h = be16(0x2000) + be16(session) + be32(123456) + be16(0) +
            be16(uint16_t(ft << 10 | (sub ? 1 : 0)));
  if (sub) h = h + Bytes(8, 0xEE);
  return h + inner;
}

TEST(Decap, Erspan) {
  Bytes f = eth(0x0800, ipv4(gre(0x88BE, inner_eth4()), 47));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::erspan1));
  f = eth(0x0800, ipv4(gre(0x88BE, erspan2(0x3FF, inner_eth4()), false, -1, true), 47));
  r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::erspan2));
  EXPECT_EQ(r.p.tunnel_id, 0x3FFu);
  for (bool sub : {false, true}) {
    f = eth(0x0800, ipv4(gre(0x22EB, erspan3(0x1000 | 42, sub, 0, inner_eth4()), false, -1, true), 47));
    r = run(f);
    expect_inner(r, f);
    EXPECT_EQ(r.p.encap, uint8_t(Encap::erspan3));
    EXPECT_EQ(r.p.tunnel_id, 42u);  // COS/T bits are not the session
  }
  f = eth(0x0800, ipv4(gre(0x22EB, erspan3(1, false, 2, ipv6(tcp())), false, -1, true), 47));
  expect_inner(run(f), f, 6);
  Bytes bad = erspan2(1, inner_eth4());
  bad[0] = 0x20;  // version 2 in a type II header
  EXPECT_EQ(run(eth(0x0800, ipv4(gre(0x88BE, bad, false, -1, true), 47))).why, Malformed::bad_erspan);
}

TEST(Decap, IpInIp) {
  struct Case {
    Bytes f;
    Encap e;
    uint8_t inner;
  };
  const Case cases[] = {
      {eth(0x0800, ipv4(ipv4(tcp()), 4, 9)), Encap::ipip, 4},
      {eth(0x0800, ipv4(ipv6(tcp()), 41)), Encap::ip6in4, 6},
      {eth(0x86DD, ipv6(ipv4(tcp()), 4)), Encap::ip4in6, 4},
      {eth(0x86DD, ipv6(ipv6(tcp()), 41)), Encap::ip6in6, 6},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(pkt::encap_name(uint8_t(c.e)));
    const Res r = run(c.f);
    expect_inner(r, c.f, c.inner);
    EXPECT_EQ(r.p.encap, uint8_t(c.e));
    EXPECT_EQ(r.p.depth, 1);
  }
  // The inner datagram is bounded by the outer one, not by the frame.
  Bytes f = eth(0x0800, ipv4(ipv4(tcp()), 4));
  put16(f, 14 + 20 + 2, uint16_t(20 + 20 + kPayload + 1));
  EXPECT_EQ(run(f).why, Malformed::bad_ipv4_total_len);
}

TEST(Decap, NestedAndDepthLimit) {
  // VXLAN inside GRE with a key: two layers, the outermost names the tunnel.
  const Bytes vx = ipv4(udp(4789, vxlan(5, inner_eth4())), 17);
  const Bytes f = eth(0x0800, ipv4(gre(0x0800, vx, false, 1000), 47));
  Res r = run(f);
  expect_inner(r, f);
  EXPECT_EQ(r.p.depth, 2);
  EXPECT_EQ(r.p.encap, uint8_t(Encap::gre));
  EXPECT_EQ(r.p.tunnel_id, 1000u);
  EXPECT_EQ(r.p.encaps, (1u << unsigned(Encap::gre)) | (1u << unsigned(Encap::vxlan)));
  pkt::Decap d;
  d.max_depth = 1;
  EXPECT_EQ(run(f, d).why, Malformed::tunnel_too_deep);
  d.max_depth = 0;
  EXPECT_EQ(run(eth(0x0800, ipv4(ipv4(tcp()), 4))).k, Kind::kTcp);
  EXPECT_EQ(run(eth(0x0800, ipv4(ipv4(tcp()), 4)), d).why, Malformed::tunnel_too_deep);
  // Deep chains stop at the default limit, never recurse unbounded.
  Bytes chain = ipv4(tcp());
  for (int i = 0; i < 20; i++) chain = ipv4(chain, 4);
  EXPECT_EQ(run(eth(0x0800, chain)).why, Malformed::tunnel_too_deep);
}

TEST(Decap, TallyCountsEveryKind) {
  pkt::Tally t;
  const Bytes f = eth(0x0800, ipv4(gre(0x0800, ipv4(udp(4789, vxlan(5, inner_eth4())), 17), false, 1), 47));
  const Res r = run(f);
  t.add(r.k, r.p, r.why);
  pkt::Stats s;
  t.commit(s);
  EXPECT_EQ(s.encap[size_t(Encap::gre)].get(), 1u);
  EXPECT_EQ(s.encap[size_t(Encap::vxlan)].get(), 1u);
  EXPECT_EQ(s.tunnelled.get(), 1u);
  EXPECT_EQ(s.tcp.get(), 1u);
  EXPECT_EQ(s.udp.get(), 0u);  // the outer UDP is the tunnel's
}

TEST(Decap, EveryNewReasonHasACase) {
  // The reasons tests/pkt/parse_test.cc does not reach; this file's cases
  // cover each (listed so a new reason without a test fails here).
  const Malformed mine[] = {Malformed::too_many_vlan_tags, Malformed::truncated_mpls,
                            Malformed::too_many_mpls_labels, Malformed::bad_pppoe,
                            Malformed::truncated_tunnel, Malformed::bad_vxlan, Malformed::bad_geneve,
                            Malformed::bad_gre, Malformed::bad_erspan, Malformed::tunnel_too_deep};
  EXPECT_EQ(size_t(Malformed::headers_not_contiguous) + 1 + std::size(mine), pkt::kNumMalformed);
}

flow::Key key_of(const Bytes& f, int* dir = nullptr) {
  const Res r = run(f);
  EXPECT_EQ(r.k, Kind::kTcp);
  flow::Key k;
  const int d = flow::make_key(r.p, k);
  if (dir) *dir = d;
  return k;
}

Bytes swap_inner(uint32_t vni, uint8_t outer_src) {
  // The reply: inner addresses and ports swapped, outer VTEPs swapped too.
  Bytes in = ipv4(tcp(80, 40000));
  std::swap(in[15], in[19]);
  std::swap(in[12], in[16]);
  Bytes outer = ipv4(udp(4789, vxlan(vni, eth(0x0800, in)), 6000), 17, outer_src);
  std::swap(outer[15], outer[19]);
  return eth(0x0800, outer);
}

TEST(FlowKey, TunnelIdentity) {
  static_assert(sizeof(flow::Flow) == 96);
  const Bytes a = eth(0x0800, ipv4(udp(4789, vxlan(100, inner_eth4())), 17, 9));
  const Bytes b = eth(0x0800, ipv4(udp(4789, vxlan(200, inner_eth4())), 17, 9));
  const flow::Key ka = key_of(a), kb = key_of(b);
  EXPECT_FALSE(flow::same(ka, kb));  // one 5-tuple, two tenants
  EXPECT_EQ(ka.encap, unsigned(Encap::vxlan));
  EXPECT_EQ(ka.tunnel_id, 100u);
  int d1 = -1, d2 = -1;
  const flow::Key back = key_of(swap_inner(100, 9), &d2);
  key_of(a, &d1);
  EXPECT_TRUE(flow::same(ka, back));  // both directions meet
  EXPECT_NE(d1, d2);
  // A different outer source (another VTEP) is the same connection.
  EXPECT_TRUE(flow::same(ka, key_of(eth(0x0800, ipv4(udp(4789, vxlan(100, inner_eth4()), 7777), 17, 33)))));
  // QinQ: the inner VID separates too.
  const Bytes q1 = macs() + tag(0x88A8, 1) + tag(0x8100, 2) + be16(0x0800) + ipv4(tcp());
  const Bytes q2 = macs() + tag(0x88A8, 1) + tag(0x8100, 3) + be16(0x0800) + ipv4(tcp());
  EXPECT_FALSE(flow::same(key_of(q1), key_of(q2)));
  std::string j;
  flow::encap_json(j, ka);
  EXPECT_EQ(j, ",\"encap\":\"vxlan\",\"tunnel_id\":100");
  j.clear();
  flow::encap_json(j, key_of(eth(0x0800, ipv4(tcp()))));
  EXPECT_EQ(j, "");
  flow::encap_json(j, key_of(q1));
  EXPECT_EQ(j, ",\"vlan_inner\":2");
}

// Random flips and cuts of tunnelled frames never read out of bounds
// (ASan in CI) and never report a payload past the frame.
TEST(Decap, SurvivesRandomMutations) {
  std::mt19937 rng(777);
  const std::vector<Bytes> seeds = {
      eth(0x0800, ipv4(udp(4789, vxlan(1, inner_eth4())), 17)),
      eth(0x0800, ipv4(udp(6081, geneve(2, 0x6558, Bytes(8, 1), inner_eth4())), 17)),
      eth(0x0800, ipv4(gre(0x22EB, erspan3(1, true, 0, inner_eth4()), true, 5, true), 47)),
      eth(0x8847, label(1, false) + label(2, true) + be32(0) + inner_eth4()),
      eth(0x8864, pppoe(0x0057, ipv6(ipv4(tcp()), 4))),
  };
  for (int i = 0; i < 100000; i++) {
    Bytes f = seeds[size_t(i) % seeds.size()];
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; k++) f[rng() % f.size()] = uint8_t(rng());
    if (rng() % 3 == 0) f.resize(rng() % (f.size() + 1));
    const Res r = run(f);
    if (r.k == Kind::kTcp) {
      EXPECT_LE(size_t(r.p.payload_off) + r.p.payload_len, f.size());
    }
  }
  for (uint16_t lt : {0, 9, 101, 104, 113, 276}) {
    for (int i = 0; i < 20000; i++) {
      Bytes f(rng() % 80, 0);
      for (auto& x : f) x = uint8_t(rng());
      const Res r = run(f, link(lt));
      if (r.k == Kind::kTcp) {
        EXPECT_LE(size_t(r.p.payload_off) + r.p.payload_len, f.size());
      }
    }
  }
}

}  // namespace
