// The collectors' prober (mirror/prober.h) driven one poll() at a time
// on a real ethdev port (net_ring, whose TX queue comes back on its RX
// queue): the test reads what the prober sent from the RX side and puts
// the collectors' answers on the TX side, built the way a host answers,
// at TSC values it chooses. No thread, no network.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>

#include "../eal_env.h"
#include "mirror/arp.h"
#include "mirror/prober.h"
#include "mirror_test_util.h"

namespace {

using namespace mirrortest;

constexpr uint32_t kUs = RTE_IPV4(10, 98, 0, 1);
constexpr uint32_t kIpA = RTE_IPV4(10, 98, 0, 11), kIpB = RTE_IPV4(10, 98, 0, 12);
const rte_ether_addr kMacA = {{0x02, 0xC0, 0, 0, 0, 0x0A}};
const rte_ether_addr kMacB = {{0x02, 0xC0, 0, 0, 0, 0x0B}};
const rte_ether_addr kMacA2 = {{0x02, 0xC0, 0, 0, 0, 0xA2}};  // A's next hop, changed

/* One net_ring port for every test here (TX comes back on RX). */
uint16_t ring_port() {
  static const uint16_t id = loomtest::ring_port("net_ring_prober", 1024);
  return id;
}

uint16_t get16(const Bytes& b, size_t off) { return uint16_t(b[off] << 8 | b[off + 1]); }
uint32_t get32(const Bytes& b, size_t off) { return uint32_t(get16(b, off)) << 16 | get16(b, off + 2); }
bool is_arp(const Bytes& f) { return f.size() >= 42 && get16(f, 12) == 0x0806; }
bool is_arp_request(const Bytes& f) { return is_arp(f) && get16(f, 20) == 1; }
bool is_arp_reply(const Bytes& f) { return is_arp(f) && get16(f, 20) == 2; }
bool is_ipv4(const Bytes& f, uint8_t proto) { return f.size() >= 34 && get16(f, 12) == 0x0800 && f[23] == proto; }
uint32_t dst_ip(const Bytes& f) { return get32(f, 30); }
bool same_mac(const uint8_t* p, const rte_ether_addr& m) { return memcmp(p, m.addr_bytes, 6) == 0; }

/* The reply host `mac`/`ip` sends to an ARP request for it from us. */
Bytes arp_reply(const rte_ether_addr& mac, uint32_t ip, const rte_ether_addr& our_mac) {
  Bytes f(60, 0);
  memcpy(&f[0], our_mac.addr_bytes, 6);
  memcpy(&f[6], mac.addr_bytes, 6);
  put16(f, 12, 0x0806);
  put16(f, 14, 1);
  put16(f, 16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  put16(f, 20, 2);
  memcpy(&f[22], mac.addr_bytes, 6);
  for (int i = 0; i < 4; i++) f[28 + i] = uint8_t(ip >> (24 - 8 * i));
  memcpy(&f[32], our_mac.addr_bytes, 6);
  for (int i = 0; i < 4; i++) f[38 + i] = uint8_t(kUs >> (24 - 8 * i));
  return f;
}

/* What a host does with an echo request: swap addresses, change the type
 * (ICMP) or ports (UDP), fix the checksums. The probe's TSC is replaced
 * by `tsc` first, so the RTT the prober reads is the test's. */
Bytes echo_answer(Bytes f, uint64_t tsc) {
  memcpy(&f[42 + 16], &tsc, 8);  // after the 8-byte ICMP or UDP header: ProbePayload::tsc
  for (int i = 0; i < 6; i++) std::swap(f[i], f[6 + i]);
  for (int i = 0; i < 4; i++) std::swap(f[26 + i], f[30 + i]);
  if (f[23] == IPPROTO_ICMP) {
    f[34] = 0;  // echo reply
    put16(f, 36, 0);
    put16(f, 36, uint16_t(~ones_sum(&f[34], get16(f, 16) - 20)));
  } else {
    for (int i = 0; i < 2; i++) std::swap(f[34 + i], f[36 + i]);
    put16(f, 40, 0);  // no UDP checksum, as many echo services
  }
  return f;
}

class ProberTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(loomtest::test_pool(), nullptr);
    port_ = ring_port();
    ASSERT_NE(port_, UINT16_MAX);
    rte_eth_macaddr_get(port_, &our_mac_);
    sent();  // what an earlier test left
    hz_ = rte_get_tsc_hz();
  }
  void TearDown() override { sent(); }

  mirror::ProberConfig config(bool udp = false) const {
    mirror::ProberConfig c;
    c.collectors = {{"a", kIpA, 1.0}, {"b", kIpB, 1.0}};
    c.choice.full_tries = 1;  // the first poll probes each collector once
    c.choice.stagger_ns = 0;
    c.choice.lost_after = 1;
    c.choice.fallback_key = "prober-test";
    c.udp = udp;
    c.udp_port = 7007;
    c.timeout_ns = 1'000'000'000;
    return c;
  }
  /* The prober, and T: a TSC value at or after its start. */
  void make(mirror::ProberConfig c) {
    mirror::ProberPort p;
    p.port = port_;
    p.txq = 0;
    p.rx_queues = 1;
    p.pool = loomtest::test_pool();
    p.base.src_mac = our_mac_;
    p.base.src_ip = kUs;
    p.base.dst_ip = kIpA;
    p.base.vni = 42;
    prober_ = std::make_unique<mirror::Prober>(std::move(c), p, [this](const mirror::CollectorTarget* t) {
      offers_.push_back(t);
    });
    t_ = rte_get_tsc_cycles();
  }
  /* Every frame on the port: what the prober sent since the last call. */
  std::vector<Bytes> sent() {
    std::vector<Bytes> out;
    rte_mbuf* m[32];
    for (uint16_t n; (n = rte_eth_rx_burst(port_, 0, m, 32)) > 0;)
      for (uint16_t i = 0; i < n; i++) {
        out.push_back(bytes_of(m[i]));
        rte_pktmbuf_free(m[i]);
      }
    return out;
  }
  /* A frame for the prober's next poll. */
  void put(const Bytes& f) {
    rte_mbuf* m = loomtest::mbuf_of(f.data(), uint16_t(f.size()));
    ASSERT_NE(m, nullptr);
    ASSERT_EQ(rte_eth_tx_burst(port_, 0, &m, 1), 1);
  }
  uint64_t ms(uint64_t n) const { return n * hz_ / 1000; }
  const mirror::Prober::CollectorView& view_of(const mirror::Prober::View& v, const std::string& name) {
    for (const auto& c : v.collectors)
      if (c.name == name) return c;
    ADD_FAILURE() << "no collector " << name;
    return v.collectors.at(0);
  }
  /* Both MACs known before the first poll; returns that poll's probes. */
  std::vector<Bytes> start_with_macs() {
    put(arp_reply(kMacA, kIpA, our_mac_));
    put(arp_reply(kMacB, kIpB, our_mac_));
    prober_->poll(t_);
    return sent();
  }

  uint16_t port_ = 0;
  rte_ether_addr our_mac_{};
  uint64_t hz_ = 0, t_ = 0;
  std::unique_ptr<mirror::Prober> prober_;
  std::vector<const mirror::CollectorTarget*> offers_;
};

TEST_F(ProberTest, AsksForMacsOncePerSecondAndProbesNoneItCannotReach) {
  make(config());
  prober_->poll(t_);
  std::vector<Bytes> out = sent();
  ASSERT_EQ(out.size(), 2u) << "one ARP request per collector, no probe without a MAC";
  std::vector<uint32_t> asked;
  for (const Bytes& f : out) {
    ASSERT_TRUE(is_arp_request(f));
    EXPECT_TRUE(same_mac(&f[22], our_mac_)) << "sender: the port";
    EXPECT_EQ(get32(f, 28), kUs) << "sender: the tunnel's source address";
    asked.push_back(get32(f, 38));
  }
  EXPECT_EQ(asked, (std::vector<uint32_t>{kIpA, kIpB}));
  mirror::Prober::View v = prober_->view();
  for (const auto& c : v.collectors) {
    EXPECT_FALSE(c.mac_known);
    EXPECT_EQ(c.probes.sent, 1u) << c.name << ": planned and counted, though it could not leave";
  }

  prober_->poll(t_ + ms(500));
  EXPECT_TRUE(sent().empty()) << "no second ARP request within the second";

  prober_->poll(t_ + hz_ + 1);
  out = sent();
  ASSERT_EQ(out.size(), 2u) << "asked again after a second";
  EXPECT_TRUE(is_arp_request(out[0]) && is_arp_request(out[1]));
  v = prober_->view();
  for (const auto& c : v.collectors) {
    EXPECT_EQ(c.probes.timeouts, 1u) << c.name << ": unanswered after timeout_ns";
    EXPECT_EQ(c.probes.answered, 0u);
    EXPECT_FALSE(c.last_rtt_ns);
  }
  EXPECT_TRUE(offers_.empty()) << "nothing can be offered without a MAC";
}

TEST_F(ProberTest, ArpReplyGivesTheMacAndTheChoiceIsOffered) {
  make(config());
  prober_->poll(t_);
  sent();
  const std::string cur = prober_->view().current;
  const bool a = cur == "a";
  const rte_ether_addr& mac = a ? kMacA : kMacB;
  const uint32_t ip = a ? kIpA : kIpB;

  put(arp_reply(mac, ip, our_mac_));
  put(arp_reply(kMacA2, RTE_IPV4(10, 98, 0, 99), our_mac_));  // no collector's: ignored
  prober_->poll(t_ + ms(1));
  mirror::Prober::View v = prober_->view();
  EXPECT_TRUE(view_of(v, cur).mac_known);
  EXPECT_FALSE(view_of(v, a ? "b" : "a").mac_known);
  ASSERT_EQ(offers_.size(), 1u);
  const mirror::CollectorTarget* first = offers_[0];
  EXPECT_EQ(first->index, a ? 0 : 1);
  EXPECT_TRUE(same_mac(first->tmpl.bytes, mac)) << "outer destination: the collector's next hop";
  EXPECT_TRUE(same_mac(first->tmpl.bytes + 6, our_mac_));
  EXPECT_EQ(get32(Bytes(first->tmpl.bytes, first->tmpl.bytes + first->tmpl.len), 30), ip);
  sent();

  prober_->poll(t_ + ms(2));
  EXPECT_EQ(offers_.size(), 1u) << "same choice, same MAC: nothing new to offer";

  // The next hop changes its MAC: a new target; the old one stays intact
  // (a worker may still hold it).
  put(arp_reply(kMacA2, ip, our_mac_));
  prober_->poll(t_ + ms(3));
  ASSERT_EQ(offers_.size(), 2u);
  EXPECT_NE(offers_[1], first);
  EXPECT_TRUE(same_mac(offers_[1]->tmpl.bytes, kMacA2));
  EXPECT_TRUE(same_mac(first->tmpl.bytes, mac));
}

TEST_F(ProberTest, AnswersArpForItsOwnAddressAndLearnsTheAsker) {
  make(config());
  rte_mbuf* q[2] = {rte_pktmbuf_alloc(loomtest::test_pool()), rte_pktmbuf_alloc(loomtest::test_pool())};
  ASSERT_TRUE(mirror::build_arp_request(q[0], kMacB, kIpB, kUs));
  ASSERT_TRUE(mirror::build_arp_request(q[1], kMacA, kIpA, kUs + 1));
  const Bytes for_us = bytes_of(q[0]), for_other = bytes_of(q[1]);
  rte_pktmbuf_free_bulk(q, 2);
  put(for_us);
  put(for_other);
  prober_->poll(t_);
  std::vector<Bytes> replies;
  for (const Bytes& f : sent())
    if (is_arp_reply(f)) replies.push_back(f);
  ASSERT_EQ(replies.size(), 1u) << "only the request for our address is answered";
  const Bytes& r = replies[0];
  EXPECT_TRUE(same_mac(&r[0], kMacB)) << "to the asker";
  EXPECT_TRUE(same_mac(&r[22], our_mac_));
  EXPECT_EQ(get32(r, 28), kUs);
  EXPECT_TRUE(same_mac(&r[32], kMacB));
  EXPECT_EQ(get32(r, 38), kIpB);
  const mirror::Prober::View v = prober_->view();
  EXPECT_TRUE(view_of(v, "b").mac_known) << "a request tells the asker's MAC as a reply does";
  EXPECT_FALSE(view_of(v, "a").mac_known) << "a request for someone else teaches nothing";
}

TEST_F(ProberTest, EchoReplyGivesTheRttOnceAndLateRepliesAreIgnored) {
  make(config());
  const std::vector<Bytes> probes = start_with_macs();
  ASSERT_EQ(probes.size(), 2u) << "MACs known: one ICMP echo each, no ARP";
  const Bytes* to_a = nullptr;
  const Bytes* to_b = nullptr;
  for (const Bytes& f : probes) {
    ASSERT_TRUE(is_ipv4(f, IPPROTO_ICMP));
    EXPECT_EQ(f[34], 8) << "echo request";
    EXPECT_EQ(get32(f, 26), kUs);
    (dst_ip(f) == kIpA ? to_a : to_b) = &f;
  }
  ASSERT_TRUE(to_a && to_b);
  EXPECT_TRUE(same_mac(&(*to_a)[0], kMacA));
  EXPECT_TRUE(same_mac(&(*to_b)[0], kMacB));

  // A answers 5 ms after the TSC its probe carried.
  const uint64_t at = t_ + ms(100);
  const Bytes reply_a = echo_answer(*to_a, at - ms(5));
  put(reply_a);
  prober_->poll(at);
  mirror::Prober::View v = prober_->view();
  const auto& a = view_of(v, "a");
  EXPECT_EQ(a.probes.answered, 1u);
  ASSERT_TRUE(a.last_rtt_ns);
  EXPECT_NEAR(double(*a.last_rtt_ns), 5e6, 1e3);
  EXPECT_EQ(view_of(v, "b").probes.answered, 0u);

  // The same reply again answers no probe in flight.
  put(reply_a);
  prober_->poll(at + ms(1));
  EXPECT_EQ(view_of(prober_->view(), "a").probes.answered, 1u);

  // B's probe times out; its reply after that is not an answer.
  prober_->poll(t_ + hz_ + 1);
  put(echo_answer(*to_b, t_ + hz_));
  prober_->poll(t_ + hz_ + 2);
  v = prober_->view();
  const auto& b = view_of(v, "b");
  EXPECT_EQ(b.probes.timeouts, 1u);
  EXPECT_EQ(b.probes.answered, 0u);
  EXPECT_FALSE(b.last_rtt_ns);
  EXPECT_EQ(view_of(v, "a").probes.timeouts, 0u);
}

TEST_F(ProberTest, UdpProbesGoToTheEchoPort) {
  make(config(true));
  const std::vector<Bytes> probes = start_with_macs();
  ASSERT_EQ(probes.size(), 2u);
  for (const Bytes& f : probes) {
    ASSERT_TRUE(is_ipv4(f, IPPROTO_UDP));
    EXPECT_EQ(get16(f, 36), 7007) << "probe.udp_port";
    EXPECT_EQ(memcmp(&f[42], mirror::kProbeMagic, 8), 0);
    put(echo_answer(f, t_ + ms(50) - ms(20)));
  }
  prober_->poll(t_ + ms(50));
  for (const auto& c : prober_->view().collectors) {
    EXPECT_EQ(c.probes.answered, 1u) << c.name;
    ASSERT_TRUE(c.last_rtt_ns);
    EXPECT_NEAR(double(*c.last_rtt_ns), 20e6, 1e3);
  }
}

TEST_F(ProberTest, SilentCurrentCollectorIsLostAndTheOtherOffered) {
  make(config());
  const std::vector<Bytes> probes = start_with_macs();
  ASSERT_EQ(offers_.size(), 1u) << "the initial choice, its MAC known";
  const std::string first = prober_->view().current;
  const uint32_t other_ip = first == "a" ? kIpB : kIpA;
  EXPECT_EQ(offers_[0]->index, first == "a" ? 0 : 1);
  for (const Bytes& f : probes)
    if (dst_ip(f) == other_ip) put(echo_answer(f, t_));
  prober_->poll(t_ + ms(30));
  EXPECT_EQ(prober_->view().current, first) << "answering or not yet lost: kept";

  // The current one's probe times out: lost (lost_after 1).
  prober_->poll(t_ + hz_ + 1);
  const mirror::Prober::View v = prober_->view();
  EXPECT_NE(v.current, first);
  EXPECT_EQ(v.switches, 1u);
  EXPECT_EQ(v.last_reason, "lost");
  ASSERT_EQ(offers_.size(), 2u);
  EXPECT_EQ(offers_[1]->index, first == "a" ? 1 : 0);
  EXPECT_EQ(get32(Bytes(offers_[1]->tmpl.bytes, offers_[1]->tmpl.bytes + offers_[1]->tmpl.len), 30), other_ip);
}

TEST_F(ProberTest, RejectsBadSettings) {
  mirror::ProberPort p;
  p.port = port_;
  p.pool = loomtest::test_pool();
  mirror::ProberConfig many = config();
  for (int i = 0; i < 17; i++) many.collectors.push_back({"c" + std::to_string(i), uint32_t(i + 1), 1.0});
  EXPECT_THROW(mirror::Prober(many, p, {}), std::invalid_argument);
  mirror::ProberConfig no_timeout = config();
  no_timeout.timeout_ns = 0;
  EXPECT_THROW(mirror::Prober(no_timeout, p, {}), std::invalid_argument);
  mirror::ProberConfig none = config();
  none.collectors.clear();
  EXPECT_THROW(mirror::Prober(none, p, {}), std::invalid_argument) << "the Chooser's refusal";
  mirror::ProberPort no_pool = p;
  no_pool.pool = nullptr;
  EXPECT_THROW(mirror::Prober(config(), no_pool, {}), std::invalid_argument);
}

}  // namespace
