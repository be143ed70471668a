// parse()'s fast path for untunnelled Ethernet/IPv4/TCP against its
// layered path: the same frame with an 802.1Q tag in front goes the
// layered way (a tag is one thing the fast path does not take), so the
// two results must agree in everything but the tag and the 4-byte shift.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "pkt/parse.h"

namespace {

std::vector<uint8_t> base_frame(uint32_t payload) {
  std::vector<uint8_t> f(14 + 20 + 20 + payload, 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  const uint16_t tot = uint16_t(40 + payload);
  ip[2] = uint8_t(tot >> 8), ip[3] = uint8_t(tot);
  ip[8] = 64, ip[9] = 6;
  const uint8_t a[8] = {198, 18, 1, 2, 198, 18, 2, 2};
  std::memcpy(ip + 12, a, 8);
  uint8_t* t = ip + 20;
  t[0] = 0x9c, t[1] = 0x40, t[3] = 80;
  t[4] = 1, t[8] = 2;
  t[12] = 5 << 4;
  t[13] = 0x18;
  t[14] = 0xff;
  for (uint32_t i = 0; i < payload; i++) t[20 + i] = uint8_t(i);
  return f;
}

std::vector<uint8_t> tagged(const std::vector<uint8_t>& f) {
  std::vector<uint8_t> g(f.begin(), f.begin() + 12);
  const uint8_t tag[4] = {0x81, 0x00, 0x00, 0x07};
  g.insert(g.end(), tag, tag + 4);
  g.insert(g.end(), f.begin() + 12, f.end());
  return g;
}

TEST(FastPathTest, AgreesWithTheLayeredPathOnMutatedFrames) {
  std::mt19937 rng(7);
  pkt::Decap d;
  d.snaplen = 0;
  unsigned fast_tcp = 0, other = 0;
  for (int round = 0; round < 20000; round++) {
    std::vector<uint8_t> f = base_frame(rng() % 64);
    // Mutate the fields the fast path decides on (and a few it does not).
    const int n = 1 + int(rng() % 3);
    for (int i = 0; i < n; i++) {
      static const unsigned at[] = {12, 13, 14, 16, 17, 20, 21, 23, 46, 47, 26};
      const unsigned pos = at[rng() % (sizeof at / sizeof at[0])];
      if (pos < f.size()) f[pos] = uint8_t(rng() % 4 ? f[pos] ^ (1u << (rng() % 8)) : rng());
    }
    const uint32_t frame_len = uint32_t(f.size()) - (rng() % 4 == 0 ? rng() % 20 : 0);
    const uint32_t seg_len = rng() % 4 == 0 ? uint32_t(rng() % (frame_len + 1)) : frame_len;
    std::vector<uint8_t> g = tagged(f);
    pkt::Parsed a{}, b{};
    pkt::Malformed wa{}, wb{};
    const pkt::Kind ka = pkt::parse(f.data(), seg_len, frame_len, a, &wa, d);
    const pkt::Kind kb = pkt::parse(g.data(), seg_len + 4, frame_len + 4, b, &wb, d);
    SCOPED_TRACE(round);
    ASSERT_EQ(int(ka), int(kb));
    if (ka == pkt::Kind::kMalformed) {
      EXPECT_EQ(int(wa), int(wb));
      other++;
      continue;
    }
    fast_tcp += ka == pkt::Kind::kTcp;
    other += ka != pkt::Kind::kTcp;
    // A mutated type may itself be a tag: then both frames went the
    // layered way, one tag apart.
    EXPECT_EQ(b.n_vlan, a.n_vlan + 1);
    EXPECT_EQ(b.vlan_id, 7);
    EXPECT_EQ(a.ip_version, b.ip_version);
    EXPECT_EQ(a.l4_proto, b.l4_proto);
    if (ka != pkt::Kind::kTcp) continue;
    EXPECT_EQ(a.tcp_flags, b.tcp_flags);
    if (!a.n_vlan) {
      EXPECT_EQ(a.vlan_inner, b.vlan_inner);
    }
    EXPECT_EQ(a.l3_off + 4, b.l3_off);
    EXPECT_EQ(a.l4_off + 4, b.l4_off);
    EXPECT_EQ(a.payload_off + 4, b.payload_off);
    EXPECT_EQ(a.encaps, b.encaps);
    EXPECT_EQ(a.encap, b.encap);
    EXPECT_EQ(a.depth, b.depth);
    EXPECT_EQ(a.tunnel_id, b.tunnel_id);
    EXPECT_EQ(a.payload_len, b.payload_len);
    EXPECT_EQ(a.missing, b.missing);
    EXPECT_EQ(a.sport, b.sport);
    EXPECT_EQ(a.dport, b.dport);
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.ack, b.ack);
    EXPECT_EQ(a.window, b.window);
    EXPECT_EQ(0, std::memcmp(a.src, b.src, 4));
    EXPECT_EQ(0, std::memcmp(a.dst, b.dst, 4));
  }
  // Both kinds of frame were seen: the fast path's and the others.
  EXPECT_GT(fast_tcp, 1000u);
  EXPECT_GT(other, 2000u);
}

}  // namespace
