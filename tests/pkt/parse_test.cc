// Header parsing: well-formed frames of every shape Loom meets, and one
// case per malformed reason; then random mutations of real frames.
// The checksum verifiers are experimental in DPDK 22.11.
#define ALLOW_EXPERIMENTAL_API
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "eal_env.h"
#include "pkt/parse.h"
#include "pkt/rst.h"

namespace {

using pkt::Kind;
using pkt::Malformed;
using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8);
  b[off + 1] = uint8_t(v);
}

// push_back, not insert(): GCC 12 warns falsely on vector::insert of
// small vectors here.
void append(Bytes& a, const Bytes& b) {
  for (uint8_t x : b) a.push_back(x);
}

Bytes cat(Bytes a, const Bytes& b) {
  append(a, b);
  return a;
}

Bytes eth(uint16_t type, int vlans = 0) {
  Bytes b(12, 0xAA);
  for (int i = 0; i < vlans; i++) {
    b.push_back(i == 0 && vlans == 2 ? 0x88 : 0x81);
    b.push_back(i == 0 && vlans == 2 ? 0xA8 : 0x00);
    b.push_back(0x00);
    b.push_back(uint8_t(100 + i));
  }
  b.push_back(uint8_t(type >> 8));
  b.push_back(uint8_t(type));
  return b;
}

Bytes tcp(uint16_t sport, uint16_t dport, uint32_t seq, size_t payload, uint8_t doff_words = 5) {
  Bytes t(doff_words * 4, 0);
  put16(t, 0, sport);
  put16(t, 2, dport);
  t[4] = uint8_t(seq >> 24);
  t[5] = uint8_t(seq >> 16);
  t[6] = uint8_t(seq >> 8);
  t[7] = uint8_t(seq);
  t[12] = uint8_t(doff_words << 4);
  t[13] = 0x18;  // PSH|ACK
  t.resize(t.size() + payload, 'x');
  return t;
}

Bytes ipv4(const Bytes& l4, uint8_t proto = 6, uint8_t ihl_words = 5) {
  Bytes ip(ihl_words * 4, 0);
  ip[0] = uint8_t(0x40 | ihl_words);
  put16(ip, 2, uint16_t(ip.size() + l4.size()));
  ip[8] = 64;
  ip[9] = proto;
  ip[12] = 10, ip[13] = 0, ip[14] = 0, ip[15] = 1;
  ip[16] = 10, ip[17] = 0, ip[18] = 0, ip[19] = 2;
  append(ip, l4);
  return ip;
}

Bytes ipv6(const Bytes& l4, uint8_t next = 6, const Bytes& ext = {}) {
  Bytes ip(40, 0);
  ip[0] = 0x60;
  put16(ip, 4, uint16_t(ext.size() + l4.size()));
  ip[6] = next;
  ip[7] = 64;
  ip[8] = 0x20, ip[9] = 0x01, ip[23] = 1;
  ip[24] = 0x20, ip[25] = 0x01, ip[39] = 2;
  append(ip, ext);
  append(ip, l4);
  return ip;
}

Kind run(const Bytes& f, pkt::Parsed& p, Malformed& why) {
  return pkt::parse(f.data(), uint32_t(f.size()), uint32_t(f.size()), p, &why);
}

TEST(Parse, Ipv4Tcp) {
  pkt::Parsed p;
  Malformed why;
  Bytes f = cat(eth(0x0800), ipv4(tcp(40000, 80, 0xFFFFFFF0u, 100)));
  f.resize(f.size() + 6, 0);  // Ethernet padding must not count as payload
  ASSERT_EQ(run(f, p, why), Kind::kTcp);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.seq, 0xFFFFFFF0u);
  EXPECT_EQ(p.payload_len, 100u);
  EXPECT_EQ(p.payload_off, 14 + 20 + 20);
  EXPECT_EQ(p.tcp_flags, 0x18);
  EXPECT_EQ(p.src[3], 1);
}

TEST(Parse, VlanAndQinQ) {
  pkt::Parsed p;
  Malformed why;
  ASSERT_EQ(run(cat(eth(0x0800, 1), ipv4(tcp(1, 2, 3, 10))), p, why), Kind::kTcp);
  EXPECT_EQ(p.n_vlan, 1);
  EXPECT_EQ(p.vlan_id, 100);
  EXPECT_EQ(p.payload_off, 18 + 40);
  ASSERT_EQ(run(cat(eth(0x86DD, 2), ipv6(tcp(1, 2, 3, 10))), p, why), Kind::kTcp);
  EXPECT_EQ(p.n_vlan, 2);
  EXPECT_EQ(p.payload_len, 10u);
}

TEST(Parse, Ipv6WithExtensionHeaders) {
  pkt::Parsed p;
  Malformed why;
  Bytes hbh(8, 0);
  hbh[0] = 60;  // next: destination options
  Bytes dst(16, 0);
  dst[0] = 6;   // next: TCP
  dst[1] = 1;   // 16 bytes
  Bytes ext = cat(hbh, dst);
  ASSERT_EQ(run(cat(eth(0x86DD), ipv6(tcp(5, 6, 7, 33), 0, ext)), p, why), Kind::kTcp);
  EXPECT_EQ(p.l4_off, 14 + 40 + 24);
  EXPECT_EQ(p.payload_len, 33u);
}

TEST(Parse, FragmentsAreCountedNotParsed) {
  pkt::Parsed p;
  Malformed why;
  Bytes f = cat(eth(0x0800), ipv4(tcp(1, 2, 3, 10)));
  f[14 + 6] = 0x20;  // MF
  EXPECT_EQ(run(f, p, why), Kind::kIpFragment);
  Bytes frag(8, 0);
  frag[0] = 6;
  frag[3] = 0x08;  // offset 1
  EXPECT_EQ(run(cat(eth(0x86DD), ipv6(tcp(1, 2, 3, 10), 44, frag)), p, why), Kind::kIpFragment);
  frag[3] = 0;  // atomic fragment: the datagram is whole
  EXPECT_EQ(run(cat(eth(0x86DD), ipv6(tcp(1, 2, 3, 10), 44, frag)), p, why), Kind::kTcp);
}

TEST(Parse, UdpOtherAndNonIp) {
  pkt::Parsed p;
  Malformed why;
  Bytes udp(8 + 4, 0);
  put16(udp, 0, 53);
  EXPECT_EQ(run(cat(eth(0x0800), ipv4(udp, 17)), p, why), Kind::kUdp);
  EXPECT_EQ(p.sport, 53);
  EXPECT_EQ(run(cat(eth(0x0800), ipv4(Bytes(8, 0), 1)), p, why), Kind::kOtherIp);
  Bytes arp = eth(0x0806);
  arp.resize(60);
  EXPECT_EQ(run(arp, p, why), Kind::kNonIp);
}

struct BadCase {
  const char* name;
  Bytes frame;
  Malformed why;
};

std::vector<BadCase> bad_cases() {
  const Bytes good4 = cat(eth(0x0800), ipv4(tcp(1, 2, 3, 20)));
  const Bytes good6 = cat(eth(0x86DD), ipv6(tcp(1, 2, 3, 20)));
  std::vector<BadCase> v;
  v.push_back({"runt", Bytes(10, 0), Malformed::truncated_l2});
  v.push_back({"vlan cut", eth(0x8100), Malformed::truncated_l2});
  v.push_back({"three tags", cat(eth(0x8100, 2), Bytes{0x81, 0, 0, 1, 0x08, 0, 0, 0}), Malformed::too_many_vlan_tags});
  v.push_back({"ipv4 cut", Bytes(good4.begin(), good4.begin() + 14 + 10), Malformed::truncated_ipv4});
  Bytes b = good4;
  b[14] = 0x65;
  v.push_back({"ipv4 version", b, Malformed::bad_ipv4_version});
  b = good4;
  b[14] = 0x44;
  v.push_back({"ihl 16", b, Malformed::bad_ipv4_ihl});
  b = good4;
  b[14] = 0x4F;
  b.resize(14 + 40);
  put16(b, 16, 40);
  v.push_back({"ihl past frame", b, Malformed::bad_ipv4_ihl});
  b = good4;
  put16(b, 16, uint16_t(b.size()));  // longer than the datagram in the frame
  v.push_back({"total len > frame", b, Malformed::bad_ipv4_total_len});
  b = good4;
  put16(b, 16, 10);
  v.push_back({"total len < ihl", b, Malformed::bad_ipv4_total_len});
  v.push_back({"ipv6 cut", Bytes(good6.begin(), good6.begin() + 14 + 30), Malformed::truncated_ipv6});
  b = good6;
  b[14] = 0x40;
  v.push_back({"ipv6 version", b, Malformed::bad_ipv6_version});
  b = good6;
  put16(b, 14 + 4, 2000);
  v.push_back({"ipv6 payload len", b, Malformed::bad_ipv6_payload_len});
  Bytes ext(8, 0);
  ext[0] = 6;
  ext[1] = 10;  // claims 88 bytes
  v.push_back({"ipv6 ext past end", cat(eth(0x86DD), ipv6(tcp(1, 2, 3, 0), 0, ext)), Malformed::truncated_ipv6});
  v.push_back({"tcp cut", cat(eth(0x0800), ipv4(Bytes(12, 0))), Malformed::truncated_tcp});
  v.push_back({"doff 4", cat(eth(0x0800), ipv4(tcp(1, 2, 3, 20, 4))), Malformed::bad_tcp_doff});
  Bytes t = tcp(1, 2, 3, 0, 5);
  t[12] = 0xF0;  // 60-byte header in a 20-byte segment: options run past
  v.push_back({"options past header", cat(eth(0x0800), ipv4(t)), Malformed::bad_tcp_doff});
  v.push_back({"udp cut", cat(eth(0x0800), ipv4(Bytes(4, 0), 17)), Malformed::truncated_udp});
  return v;
}

TEST(Parse, EveryMalformedReason) {
  std::vector<bool> seen(pkt::kNumMalformed, false);
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    pkt::Parsed p;
    Malformed why = Malformed::kCount;
    EXPECT_EQ(run(c.frame, p, why), Kind::kMalformed);
    EXPECT_EQ(why, c.why) << pkt::kMalformedNames[size_t(why)];
    seen[size_t(c.why)] = true;
  }
  // Headers split over mbuf segments: first segment shorter than the headers.
  const Bytes f = cat(eth(0x0800), ipv4(tcp(1, 2, 3, 100)));
  pkt::Parsed p;
  Malformed why;
  EXPECT_EQ(pkt::parse(f.data(), 30, uint32_t(f.size()), p, &why), Kind::kMalformed);
  EXPECT_EQ(why, Malformed::headers_not_contiguous);
  seen[size_t(Malformed::headers_not_contiguous)] = true;
  // The reasons of encapsulations are tested in decap_test.cc.
  for (size_t i = 0; i <= size_t(Malformed::headers_not_contiguous); i++)
    EXPECT_TRUE(seen[i]) << pkt::kMalformedNames[i];
}

// Random byte flips, truncations and extensions of valid frames must never
// read out of bounds (run under ASan in CI) and must classify every frame.
TEST(Parse, SurvivesRandomMutations) {
  std::mt19937 rng(12345);
  const std::vector<Bytes> seeds = {
      cat(eth(0x0800), ipv4(tcp(1, 2, 3, 40))), cat(eth(0x86DD, 1), ipv6(tcp(1, 2, 3, 40))),
      cat(eth(0x0800, 2), ipv4(tcp(1, 2, 3, 40, 15)))};
  int malformed = 0;
  for (int i = 0; i < 200000; i++) {
    Bytes f = seeds[i % seeds.size()];
    const int flips = 1 + int(rng() % 4);
    for (int k = 0; k < flips; k++) f[rng() % f.size()] = uint8_t(rng());
    if (rng() % 3 == 0) f.resize(rng() % (f.size() + 1));
    // Exact-size heap copy so ASan catches any read past the frame.
    std::unique_ptr<uint8_t[]> exact(new uint8_t[f.size() ? f.size() : 1]);
    if (!f.empty()) std::memcpy(exact.get(), f.data(), f.size());
    pkt::Parsed p;
    Malformed why;
    const Kind k = pkt::parse(exact.get(), uint32_t(f.size()), uint32_t(f.size()), p, &why);
    if (k == Kind::kMalformed) malformed++;
    if (k == Kind::kTcp) {
      EXPECT_LE(size_t(p.payload_off) + p.payload_len, f.size());
    }
  }
  EXPECT_GT(malformed, 0);
}

}  // namespace

namespace {

// Resets for a rejecting drop rule (pkt/rst.h), read back by the parser
// and checked against the frame they answer.

void expect_resets(const Bytes& frame) {
  pkt::Parsed p;
  Malformed why{};
  ASSERT_EQ(run(frame, p, why), Kind::kTcp);
  rte_mbuf* m = loomtest::mbuf_of(frame.data(), uint16_t(frame.size()));
  ASSERT_NE(m, nullptr);
  for (bool reverse : {false, true}) {
    rte_mbuf* r = pkt::build_rst(m, p, reverse, loomtest::test_pool());
    ASSERT_NE(r, nullptr);
    const uint8_t* d = rte_pktmbuf_mtod(r, const uint8_t*);
    pkt::Parsed q;
    ASSERT_EQ(pkt::parse(d, r->data_len, r->pkt_len, q, &why), Kind::kTcp) << reverse;
    EXPECT_EQ(q.payload_len, 0u);
    EXPECT_EQ(q.n_vlan, p.n_vlan);
    const size_t alen = p.ip_version == 4 ? 4 : 16;
    if (reverse) {
      EXPECT_EQ(q.sport, p.dport);
      EXPECT_EQ(q.dport, p.sport);
      EXPECT_EQ(0, std::memcmp(q.src, p.dst, alen));
      EXPECT_EQ(0, std::memcmp(q.dst, p.src, alen));
      EXPECT_EQ(0, std::memcmp(d, frame.data() + 6, 6));  // MACs swapped
      EXPECT_EQ(q.seq, p.ack);
      EXPECT_EQ(q.ack, p.seq + p.payload_len);
      EXPECT_EQ(q.tcp_flags, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
    } else {
      EXPECT_EQ(q.sport, p.sport);
      EXPECT_EQ(q.dport, p.dport);
      EXPECT_EQ(0, std::memcmp(q.src, p.src, alen));
      EXPECT_EQ(q.seq, p.seq);
      EXPECT_EQ(q.tcp_flags, RTE_TCP_RST_FLAG);
    }
    const void* l3 = d + q.l3_off;
    const void* l4 = d + q.l4_off;
    if (p.ip_version == 4) {
      EXPECT_EQ(rte_raw_cksum(l3, q.l4_off - q.l3_off), 0xFFFF);
      EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(static_cast<const rte_ipv4_hdr*>(l3), l4), 0);
    } else if (q.l4_off == q.l3_off + 40) {
      EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(static_cast<const rte_ipv6_hdr*>(l3), l4), 0);
    }
    rte_pktmbuf_free(r);
  }
  rte_pktmbuf_free(m);
}

TEST(Rst, Ipv4Vlan) { expect_resets(cat(eth(0x0800, 1), ipv4(tcp(40000, 80, 1000, 10)))); }
TEST(Rst, Ipv4) { expect_resets(cat(eth(0x0800), ipv4(tcp(40000, 80, 0xFFFFFFF0u, 100)))); }
TEST(Rst, Ipv6) { expect_resets(cat(eth(0x86DD), ipv6(tcp(40000, 8080, 7, 0)))); }
TEST(Rst, Ipv6WithExtensionHeader) {
  const Bytes hop = {6, 0, 1, 4, 0, 0, 0, 0};  // hop-by-hop, next: TCP
  expect_resets(cat(eth(0x86DD), ipv6(tcp(40000, 80, 7, 5), 0, hop)));
}

}  // namespace
