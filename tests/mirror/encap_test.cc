// Mirror copies: every outer header byte of VXLAN, GRE and ERSPAN II
// frames built from a known inner frame, the IPv4 checksum recomputed
// independently, MTU truncation, raw copy and clone, the flow hash, and
// tshark's reading of the result.
#include <gtest/gtest.h>

#include <cstdio>
#include <stdexcept>

#include <rte_ip.h>

#include "../eal_env.h"
#include "mirror/encap.h"
#include "mirror_test_util.h"

namespace {

using namespace mirrortest;
using mirror::EncapKind;

constexpr uint32_t kInnerA = RTE_IPV4(192, 168, 1, 10), kInnerB = RTE_IPV4(192, 168, 1, 20);
constexpr uint32_t kOuterSrc = RTE_IPV4(10, 0, 0, 1), kOuterDst = RTE_IPV4(10, 0, 0, 2);
const rte_ether_addr kPortMac = {{0x02, 0xAA, 0, 0, 0, 0x01}};
const rte_ether_addr kHopMac = {{0x02, 0xBB, 0, 0, 0, 0x02}};

mirror::EncapConfig config(EncapKind kind) {
  mirror::EncapConfig c;
  c.kind = kind;
  c.src_mac = kPortMac;
  c.dst_mac = kHopMac;
  c.src_ip = kOuterSrc;
  c.dst_ip = kOuterDst;
  c.vni = 0x123456;
  c.session_id = 0x2A5;
  c.vlan = 0xABC;
  c.cos = 5;
  c.ip_id = 0xFFFE;  // wraps within the tests
  c.seq = 7;
  return c;
}

class Encap : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = loomtest::test_pool();
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
  }
  rte_mbuf* hold(rte_mbuf* m) {
    if (m) held_.push_back(m);
    return m;
  }
  rte_mbuf* mbuf(const Bytes& b) { return hold(loomtest::mbuf_of(b.data(), uint16_t(b.size()))); }

  /* Outer Ethernet and IPv4 as every encapsulation writes them. */
  void check_outer(const Bytes& o, uint8_t proto, uint16_t ip_len, uint16_t id) {
    ASSERT_GE(o.size(), 34u);
    EXPECT_EQ(0, memcmp(&o[0], kHopMac.addr_bytes, 6));
    EXPECT_EQ(0, memcmp(&o[6], kPortMac.addr_bytes, 6));
    EXPECT_EQ(get16(&o[12]), 0x0800);
    EXPECT_EQ(o[14], 0x45);
    EXPECT_EQ(o[15], 0);  // TOS
    EXPECT_EQ(get16(&o[16]), ip_len);
    EXPECT_EQ(o.size(), 14u + ip_len);
    EXPECT_EQ(get16(&o[18]), id);
    EXPECT_EQ(get16(&o[20]), 0x4000);  // DF, offset 0
    EXPECT_EQ(o[22], 64);
    EXPECT_EQ(o[23], proto);
    EXPECT_EQ(get32(&o[26]), kOuterSrc);
    EXPECT_EQ(get32(&o[30]), kOuterDst);
    EXPECT_EQ(ones_sum(&o[14], 20), 0xFFFF) << "outer IPv4 checksum";
    EXPECT_EQ(rte_ipv4_cksum(reinterpret_cast<const rte_ipv4_hdr*>(&o[14])), 0)
        << "DPDK agrees the checksum is right";
  }

  rte_mempool* pool_ = nullptr;
  std::vector<rte_mbuf*> held_;
  mirror::Tally tally_;
};

TEST_F(Encap, VxlanEveryField) {
  const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 100);
  rte_mbuf* m = mbuf(inner);
  mirror::EncapTemplate t = mirror::make_template(config(EncapKind::kVxlan));
  EXPECT_EQ(t.len, 50);
  EXPECT_EQ(t.max_inner, 1500 - 36);

  for (uint16_t id : {0xFFFE, 0xFFFF, 0x0000}) {  // the ID wraps
    rte_mbuf* c = hold(mirror::encap_copy(m, pool_, t, 0xDEADBEEF, tally_));
    ASSERT_NE(c, nullptr);
    const Bytes o = bytes_of(c);
    check_outer(o, IPPROTO_UDP, uint16_t(20 + 8 + 8 + inner.size()), id);
    EXPECT_EQ(get16(&o[34]), 49152 | (0xDEADBEEF & 0x3FFF));  // source port from the hash
    EXPECT_EQ(get16(&o[36]), 4789);
    EXPECT_EQ(get16(&o[38]), 8 + 8 + inner.size());
    EXPECT_EQ(get16(&o[40]), 0);  // UDP checksum: none (RFC 7348 section 5)
    const Bytes vxlan(o.begin() + 42, o.begin() + 50);
    EXPECT_EQ(vxlan, (Bytes{0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0}));
    EXPECT_EQ(Bytes(o.begin() + 50, o.end()), inner);
  }
  EXPECT_EQ(tally_.copies, 3u);
  EXPECT_EQ(tally_.truncated, 0u);
  EXPECT_EQ(bytes_of(m), inner) << "the original is never written";
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
}

TEST_F(Encap, GreTransparentEthernetBridging) {
  const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 10);
  mirror::EncapTemplate t = mirror::make_template(config(EncapKind::kGre));
  EXPECT_EQ(t.len, 38);
  rte_mbuf* c = hold(mirror::encap_copy(mbuf(inner), pool_, t, 1, tally_));
  ASSERT_NE(c, nullptr);
  const Bytes o = bytes_of(c);
  check_outer(o, IPPROTO_GRE, uint16_t(20 + 4 + inner.size()), 0xFFFE);
  EXPECT_EQ(Bytes(o.begin() + 34, o.begin() + 38), (Bytes{0, 0, 0x65, 0x58}));
  EXPECT_EQ(Bytes(o.begin() + 38, o.end()), inner);
}

TEST_F(Encap, Erspan2EveryField) {
  mirror::EncapTemplate t = mirror::make_template(config(EncapKind::kErspan2));
  EXPECT_EQ(t.len, 50);
  struct Case {
    bool tagged;
    uint32_t seq;
    uint8_t en;
  } cases[] = {{false, 7, 0}, {true, 8, 3}};
  for (const Case& k : cases) {
    const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 10, k.tagged);
    rte_mbuf* c = hold(mirror::encap_copy(mbuf(inner), pool_, t, 1, tally_));
    ASSERT_NE(c, nullptr);
    const Bytes o = bytes_of(c);
    check_outer(o, IPPROTO_GRE, uint16_t(20 + 8 + 8 + inner.size()), k.seq == 7 ? 0xFFFE : 0xFFFF);
    EXPECT_EQ(get16(&o[34]), 0x1000);  // S bit only, version 0
    EXPECT_EQ(get16(&o[36]), 0x88BE);
    EXPECT_EQ(get32(&o[38]), k.seq);
    const uint32_t w0 = get32(&o[42]);
    EXPECT_EQ(w0 >> 28, 1u);             // version 1: type II
    EXPECT_EQ((w0 >> 16) & 0xFFF, 0xABCu);  // VLAN
    EXPECT_EQ((w0 >> 13) & 7, 5u);       // COS
    EXPECT_EQ((w0 >> 11) & 3, k.en);     // En: tag kept in the frame
    EXPECT_EQ((w0 >> 10) & 1, 0u);       // T: not truncated
    EXPECT_EQ(w0 & 0x3FF, 0x2A5u);       // session
    EXPECT_EQ(get32(&o[46]), 0u);        // reserved, index
    EXPECT_EQ(Bytes(o.begin() + 50, o.end()), inner);
  }
}

TEST_F(Encap, TruncatesToTheMtu) {
  const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 1400);  // 1454 bytes
  rte_mbuf* m = mbuf(inner);
  for (EncapKind kind : {EncapKind::kVxlan, EncapKind::kGre, EncapKind::kErspan2}) {
    mirror::EncapConfig cfg = config(kind);
    cfg.mtu = 1000;
    mirror::EncapTemplate t = mirror::make_template(cfg);
    mirror::Tally tally;
    rte_mbuf* c = hold(mirror::encap_copy(m, pool_, t, 1, tally));
    ASSERT_NE(c, nullptr);
    const Bytes o = bytes_of(c);
    EXPECT_EQ(get16(&o[16]), 1000) << "outer datagram is exactly the MTU";
    EXPECT_EQ(o.size(), 14u + 1000);
    EXPECT_EQ(ones_sum(&o[14], 20), 0xFFFF);
    EXPECT_EQ(Bytes(o.begin() + t.len, o.end()),
              Bytes(inner.begin(), inner.begin() + t.max_inner));
    EXPECT_EQ(tally.truncated, 1u);
    if (kind == EncapKind::kErspan2) {
      EXPECT_EQ((get32(&o[42]) >> 10) & 1, 1u) << "T bit";
    }
    if (kind == EncapKind::kVxlan) {
      EXPECT_EQ(get16(&o[38]), 1000 - 20);
    }
  }
  // A frame that fits exactly is not cut.
  mirror::EncapConfig cfg = config(EncapKind::kVxlan);
  cfg.mtu = uint16_t(inner.size() + 36);
  mirror::EncapTemplate t = mirror::make_template(cfg);
  ASSERT_NE(hold(mirror::encap_copy(m, pool_, t, 1, tally_)), nullptr);
  EXPECT_EQ(tally_.truncated, 0u);
}

TEST_F(Encap, TemplateRejectsBadSettings) {
  mirror::EncapConfig c = config(EncapKind::kVxlan);
  c.vni = 1u << 24;
  EXPECT_THROW(mirror::make_template(c), std::invalid_argument);
  c = config(EncapKind::kVxlan);
  c.mtu = 36 + 13;  // no room for an inner Ethernet header
  EXPECT_THROW(mirror::make_template(c), std::invalid_argument);
  c = config(EncapKind::kErspan2);
  c.session_id = 1024;
  EXPECT_THROW(mirror::make_template(c), std::invalid_argument);
}

TEST_F(Encap, RawCopyAndClone) {
  const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 200);
  rte_mbuf* m = mbuf(inner);

  rte_mbuf* whole = hold(mirror::raw_copy(m, pool_, UINT32_MAX, tally_));
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(bytes_of(whole), inner);
  rte_mbuf* cut = hold(mirror::raw_copy(m, pool_, 64, tally_));
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(bytes_of(cut), Bytes(inner.begin(), inner.begin() + 64));
  EXPECT_EQ(tally_.truncated, 1u);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1) << "copies leave the original alone";

  static rte_mempool* indirect = rte_pktmbuf_pool_create("mirror_indirect", 63, 0, 0, 0, 0);
  ASSERT_NE(indirect, nullptr);
  rte_mbuf* cl = mirror::raw_clone(m, indirect, tally_);
  ASSERT_NE(cl, nullptr);
  EXPECT_TRUE(RTE_MBUF_CLONED(cl));
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 2) << "the clone holds the relay's buffer";
  EXPECT_EQ(bytes_of(cl), inner);
  rte_pktmbuf_free(cl);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1);
  EXPECT_EQ(tally_.copies, 3u);

  mirror::Stats stats;
  tally_.commit(stats);
  EXPECT_EQ(stats.copies.get(), 3u);
  EXPECT_EQ(stats.truncated.get(), 1u);
}

TEST_F(Encap, FlowHashIsSymmetric) {
  rte_mbuf* ab = mbuf(tcp_frame(kInnerA, kInnerB, 40000, 80, 0));
  rte_mbuf* ba = mbuf(tcp_frame(kInnerB, kInnerA, 80, 40000, 0));
  rte_mbuf* other = mbuf(tcp_frame(kInnerA, kInnerB, 40001, 80, 0));
  EXPECT_EQ(mirror::inner_flow_hash(ab), mirror::inner_flow_hash(ba));
  EXPECT_NE(mirror::inner_flow_hash(ab), mirror::inner_flow_hash(other));
  ab->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
  ab->hash.rss = 0x1234;
  EXPECT_EQ(mirror::inner_flow_hash(ab), 0x1234u) << "the NIC's hash when it gave one";
}

// tshark reads every encapsulation back to the inner TCP frame.
TEST_F(Encap, TsharkDecodes) {
  if (access(kTshark, X_OK) != 0) GTEST_SKIP() << kTshark << " not installed";
  const Bytes inner = tcp_frame(kInnerA, kInnerB, 40000, 80, 100);
  rte_mbuf* m = mbuf(inner);
  std::vector<Bytes> frames;
  for (EncapKind kind : {EncapKind::kVxlan, EncapKind::kGre, EncapKind::kErspan2}) {
    mirror::EncapTemplate t = mirror::make_template(config(kind));
    rte_mbuf* c = hold(mirror::encap_copy(m, pool_, t, mirror::inner_flow_hash(m), tally_));
    ASSERT_NE(c, nullptr);
    frames.push_back(bytes_of(c));
  }
  mirror::EncapConfig cut = config(EncapKind::kErspan2);
  cut.mtu = 120;
  mirror::EncapTemplate t = mirror::make_template(cut);
  frames.push_back(bytes_of(hold(mirror::encap_copy(m, pool_, t, 1, tally_))));

  const std::string pcap = temp_path("encap.pcap");
  ASSERT_TRUE(write_pcap(pcap, frames));
  const std::vector<std::string> lines = tshark_fields(
      pcap,
      "-o ip.check_checksum:TRUE -o tcp.analyze_sequence_numbers:FALSE -e ip.src -e ip.dst "
      "-e ip.checksum.status -e tcp.srcport -e tcp.dstport -e vxlan.vni -e gre.proto -e gre.sequence_number -e erspan.version "
      "-e erspan.vlan -e erspan.cos -e erspan.spanid -e erspan.truncated -e _ws.expert.message");
  std::remove(pcap.c_str());
  ASSERT_EQ(lines.size(), 4u);
  // Outer then inner addresses; both checksums good (1); no expert
  // warning (malformed, bad length) in the last column. TCP analysis is
  // off: the same inner segment three times is a "retransmission".
  const std::string ips = "10.0.0.1,192.168.1.10\t10.0.0.2,192.168.1.20\t1,1\t";
  EXPECT_EQ(lines[0], ips + "40000\t80\t1193046\t\t\t\t\t\t\t\t");
  EXPECT_EQ(lines[1], ips + "40000\t80\t\t0x6558\t\t\t\t\t\t\t");
  EXPECT_EQ(lines[2], ips + "40000\t80\t\t0x88be\t7\t1\t2748\t5\t677\t0\t");
  // Cut to 120 - 36 = 84 inner bytes: headers intact, payload cut; tshark
  // reads the ERSPAN T bit and notes the inner datagram's 70 of 154 bytes.
  // (Each template starts at sequence 7.)
  EXPECT_EQ(lines[3], ips + "40000\t80\t\t0x88be\t7\t1\t2748\t5\t677\t1\t"
                            "IPv4 total length exceeds packet length (70 bytes)");
}

}  // namespace
