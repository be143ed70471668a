// ARP and echo probes: requests built byte by byte as RFC 826 and RFC 792
// lay them out, replies made from them the way a host answers, and the
// parsers' refusals of frames that are not answers to us.
#include <gtest/gtest.h>

#include <cstdio>

#include <rte_ip.h>

#include "../eal_env.h"
#include "mirror/arp.h"
#include "mirror_test_util.h"

namespace {

using namespace mirrortest;

constexpr uint32_t kUs = RTE_IPV4(10, 0, 0, 1), kThem = RTE_IPV4(10, 0, 0, 9);
const rte_ether_addr kOurMac = {{0x02, 0xAA, 0, 0, 0, 0x01}};
const rte_ether_addr kHopMac = {{0x02, 0xBB, 0, 0, 0, 0x02}};
const mirror::ProbeAddrs kAddrs = {kOurMac, kHopMac, kUs, kThem};

class Probe : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(loomtest::test_pool(), nullptr); }
  void TearDown() override {
    for (rte_mbuf* m : held_) rte_pktmbuf_free(m);
  }
  rte_mbuf* fresh() {
    rte_mbuf* m = rte_pktmbuf_alloc(loomtest::test_pool());
    if (m) held_.push_back(m);
    return m;
  }
  std::vector<rte_mbuf*> held_;
};

using Arp = Probe;
using MirrorProbe = Probe;

/* What a host does with an echo request: swap addresses, change the type
 * (ICMP) or ports (UDP), fix the checksums. */
Bytes answer(Bytes f) {
  for (int i = 0; i < 6; i++) std::swap(f[i], f[6 + i]);
  for (int i = 0; i < 4; i++) std::swap(f[26 + i], f[30 + i]);
  if (f[23] == IPPROTO_ICMP) {
    f[34] = 0;  // echo reply
    put16(f, 36, 0);
    const size_t len = get16(&f[16]) - 20;
    put16(f, 36, uint16_t(~ones_sum(&f[34], len)));
  } else {
    for (int i = 0; i < 2; i++) std::swap(f[34 + i], f[36 + i]);
    put16(f, 40, 0);  // many echo services leave it out
  }
  return f;
}

TEST_F(Arp, RequestAndReply) {
  rte_mbuf* m = fresh();
  ASSERT_TRUE(mirror::build_arp_request(m, kOurMac, kUs, kThem));
  const Bytes req = bytes_of(m);
  ASSERT_EQ(req.size(), 60u) << "padded to the Ethernet minimum";
  const Bytes expect = {
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0xAA, 0, 0, 0, 0x01, 0x08, 0x06,  // Ethernet
      0, 1, 0x08, 0, 6, 4, 0, 1,                                                // Ethernet/IPv4, request
      0x02, 0xAA, 0, 0, 0, 0x01, 10, 0, 0, 1,                                   // sender
      0, 0, 0, 0, 0, 0, 10, 0, 0, 9};                                           // target
  EXPECT_EQ(Bytes(req.begin(), req.begin() + 42), expect);
  EXPECT_EQ(Bytes(req.begin() + 42, req.end()), Bytes(18, 0));

  mirror::Neighbour n{};
  EXPECT_FALSE(mirror::parse_arp_reply(req.data(), uint32_t(req.size()), n)) << "a request";

  // The target answers: op 2, its pair as sender, ours as target.
  Bytes rep = req;
  memcpy(&rep[0], kOurMac.addr_bytes, 6);
  memcpy(&rep[6], kHopMac.addr_bytes, 6);
  rep[21] = 2;
  memcpy(&rep[22], kHopMac.addr_bytes, 6);
  memcpy(&rep[28], &req[38], 4);
  memcpy(&rep[32], kOurMac.addr_bytes, 6);
  memcpy(&rep[38], &req[28], 4);
  ASSERT_TRUE(mirror::parse_arp_reply(rep.data(), uint32_t(rep.size()), n));
  EXPECT_EQ(n.ip, kThem);
  EXPECT_TRUE(rte_is_same_ether_addr(&n.mac, &kHopMac));

  EXPECT_FALSE(mirror::parse_arp_reply(rep.data(), 41, n)) << "short";
  Bytes ipv6 = rep;
  ipv6[17] = 0xDD;  // protocol type 0x08DD
  EXPECT_FALSE(mirror::parse_arp_reply(ipv6.data(), uint32_t(ipv6.size()), n));
}

TEST_F(Arp, AnswersRequestsForOurAddressOnly) {
  // The collector (kThem, kHopMac) asks who has kUs: Loom answers.
  rte_mbuf* q = fresh();
  ASSERT_TRUE(mirror::build_arp_request(q, kHopMac, kThem, kUs));
  const Bytes req = bytes_of(q);
  mirror::Neighbour asker{};
  rte_mbuf* r = fresh();
  ASSERT_TRUE(mirror::answer_arp_request(req.data(), uint32_t(req.size()), kOurMac, kUs, r, asker));
  EXPECT_EQ(asker.ip, kThem);
  EXPECT_TRUE(rte_is_same_ether_addr(&asker.mac, &kHopMac));
  const Bytes rep = bytes_of(r);
  const Bytes expect = {
      0x02, 0xBB, 0, 0, 0, 0x02, 0x02, 0xAA, 0, 0, 0, 0x01, 0x08, 0x06,  // to the asker, from us
      0, 1, 0x08, 0, 6, 4, 0, 2,                                        // Ethernet/IPv4, reply
      0x02, 0xAA, 0, 0, 0, 0x01, 10, 0, 0, 1,                           // sender: us
      0x02, 0xBB, 0, 0, 0, 0x02, 10, 0, 0, 9};                          // target: the asker
  EXPECT_EQ(Bytes(rep.begin(), rep.begin() + 42), expect);
  mirror::Neighbour n{};
  ASSERT_TRUE(mirror::parse_arp_reply(rep.data(), uint32_t(rep.size()), n));
  EXPECT_EQ(n.ip, kUs);
  // Not for us, or not a request: no answer.
  rte_mbuf* other = fresh();
  ASSERT_TRUE(mirror::build_arp_request(other, kHopMac, kThem, kUs + 1));
  const Bytes req2 = bytes_of(other);
  EXPECT_FALSE(mirror::answer_arp_request(req2.data(), uint32_t(req2.size()), kOurMac, kUs, fresh(), asker));
  EXPECT_FALSE(mirror::answer_arp_request(rep.data(), uint32_t(rep.size()), kOurMac, kUs, fresh(), asker));
}

TEST_F(MirrorProbe, IcmpEchoRoundTrip) {
  rte_mbuf* m = fresh();
  ASSERT_TRUE(mirror::build_icmp_echo(m, kAddrs, 0x4C4D, 3, 0x0102030405060708ull));
  const Bytes req = bytes_of(m);
  ASSERT_EQ(req.size(), 14u + 20 + 8 + 24);
  EXPECT_EQ(0, memcmp(&req[0], kHopMac.addr_bytes, 6));
  EXPECT_EQ(0, memcmp(&req[6], kOurMac.addr_bytes, 6));
  EXPECT_EQ(get16(&req[16]), 20 + 8 + 24);
  EXPECT_EQ(get16(&req[20]), 0x4000);
  EXPECT_EQ(req[22], 64);
  EXPECT_EQ(req[23], IPPROTO_ICMP);
  EXPECT_EQ(get32(&req[26]), kUs);
  EXPECT_EQ(get32(&req[30]), kThem);
  EXPECT_EQ(ones_sum(&req[14], 20), 0xFFFF) << "IPv4 checksum";
  EXPECT_EQ(req[34], 8);
  EXPECT_EQ(req[35], 0);
  EXPECT_EQ(ones_sum(&req[34], 32), 0xFFFF) << "ICMP checksum";
  EXPECT_EQ(get16(&req[38]), 0x4C4D);
  EXPECT_EQ(get16(&req[40]), 3);
  EXPECT_EQ(0, memcmp(&req[42], "LOOMPRB1", 8));

  mirror::ProbeReply r{};
  EXPECT_FALSE(mirror::parse_icmp_echo_reply(req.data(), uint32_t(req.size()), 0x4C4D, r))
      << "our own request is not a reply";
  Bytes rep = answer(req);
  ASSERT_TRUE(mirror::parse_icmp_echo_reply(rep.data(), uint32_t(rep.size()), 0x4C4D, r));
  EXPECT_EQ(r.ip, kThem);
  EXPECT_EQ(r.seq, 3);
  EXPECT_EQ(r.tsc, 0x0102030405060708ull);

  EXPECT_FALSE(mirror::parse_icmp_echo_reply(rep.data(), uint32_t(rep.size()), 0x4C4E, r))
      << "another prober's identifier";
  Bytes corrupt = rep;
  corrupt[60] ^= 1;  // a bit of the echoed TSC
  EXPECT_FALSE(mirror::parse_icmp_echo_reply(corrupt.data(), uint32_t(corrupt.size()), 0x4C4D, r))
      << "bad ICMP checksum";
  EXPECT_FALSE(mirror::parse_icmp_echo_reply(rep.data(), uint32_t(rep.size()) - 1, 0x4C4D, r))
      << "IPv4 length beyond the frame";
}

TEST_F(MirrorProbe, UdpEchoRoundTrip) {
  rte_mbuf* m = fresh();
  ASSERT_TRUE(mirror::build_udp_echo(m, kAddrs, 50007, 7, 0x4C4D, 9, 42));
  const Bytes req = bytes_of(m);
  ASSERT_EQ(req.size(), 14u + 20 + 8 + 24);
  EXPECT_EQ(req[23], IPPROTO_UDP);
  EXPECT_EQ(ones_sum(&req[14], 20), 0xFFFF);
  EXPECT_EQ(get16(&req[34]), 50007);
  EXPECT_EQ(get16(&req[36]), 7);
  EXPECT_EQ(get16(&req[38]), 32);
  EXPECT_NE(get16(&req[40]), 0) << "UDP checksum computed";
  // Pseudo-header + datagram sums to 0xFFFF.
  Bytes ph(req.begin() + 26, req.begin() + 34);
  ph.insert(ph.end(), {0, IPPROTO_UDP, 0, 32});
  ph.insert(ph.end(), req.begin() + 34, req.end());
  EXPECT_EQ(ones_sum(ph.data(), ph.size()), 0xFFFF);

  mirror::ProbeReply r{};
  EXPECT_FALSE(mirror::parse_udp_echo_reply(req.data(), uint32_t(req.size()), 50007, 7, 0x4C4D, r))
      << "our own request";
  const Bytes rep = answer(req);
  ASSERT_TRUE(mirror::parse_udp_echo_reply(rep.data(), uint32_t(rep.size()), 50007, 7, 0x4C4D, r));
  EXPECT_EQ(r.ip, kThem);
  EXPECT_EQ(r.seq, 9);
  EXPECT_EQ(r.tsc, 42u);
  EXPECT_FALSE(mirror::parse_udp_echo_reply(rep.data(), uint32_t(rep.size()), 50008, 7, 0x4C4D, r));
  EXPECT_FALSE(mirror::parse_udp_echo_reply(rep.data(), uint32_t(rep.size()), 50007, 7, 1, r));

  // A reply that keeps a checksum must have it right.
  Bytes summed = rep;
  put16(summed, 40, get16(&req[40]));  // swapping ports and addresses keeps the sum
  ASSERT_TRUE(mirror::parse_udp_echo_reply(summed.data(), uint32_t(summed.size()), 50007, 7, 0x4C4D, r));
  summed[50] ^= 0x10;
  EXPECT_FALSE(mirror::parse_udp_echo_reply(summed.data(), uint32_t(summed.size()), 50007, 7, 0x4C4D, r));
}

TEST_F(MirrorProbe, TsharkDecodes) {
  if (access(kTshark, X_OK) != 0) GTEST_SKIP() << kTshark << " not installed";
  std::vector<Bytes> frames;
  rte_mbuf* m = fresh();
  ASSERT_TRUE(mirror::build_arp_request(m, kOurMac, kUs, kThem));
  frames.push_back(bytes_of(m));
  m = fresh();
  ASSERT_TRUE(mirror::build_icmp_echo(m, kAddrs, 0x4C4D, 3, 1));
  frames.push_back(bytes_of(m));
  frames.push_back(answer(frames.back()));
  m = fresh();
  ASSERT_TRUE(mirror::build_udp_echo(m, kAddrs, 50007, 7, 0x4C4D, 9, 42));
  frames.push_back(bytes_of(m));
  const std::string pcap = temp_path("probes.pcap");
  ASSERT_TRUE(write_pcap(pcap, frames));
  const std::vector<std::string> lines = tshark_fields(
      pcap,
      "-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -e arp.opcode -e arp.dst.proto_ipv4 "
      "-e ip.checksum.status -e icmp.type -e icmp.seq -e icmp.checksum.status -e icmp.resp_to "
      "-e udp.dstport -e udp.checksum.status -e _ws.expert.message");
  std::remove(pcap.c_str());
  ASSERT_EQ(lines.size(), 4u);
  // Checksums good (1), tshark's expert info (last column) empty.
  EXPECT_EQ(lines[0], "1\t10.0.0.9\t\t\t\t\t\t\t\t");
  EXPECT_EQ(lines[1], "\t\t1\t8\t3\t1\t\t\t\t");
  EXPECT_EQ(lines[2], "\t\t1\t0\t3\t1\t2\t\t\t") << "tshark pairs the reply with frame 2";
  EXPECT_EQ(lines[3], "\t\t1\t\t\t\t\t7\t1\t");
}

}  // namespace
