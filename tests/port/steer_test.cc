// Steering: the rte_flow rules a config implies (docs/configuration.md,
// [steering]), the port-range blocks behind them, and the software check
// that stands in for the NIC.
#include "port/port.h"
#include "port/steer.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace {

// Every port in [lo, hi] is in exactly one block, and no port outside is.
void expect_exact_cover(uint16_t lo, uint16_t hi) {
  const auto blocks = port::range_blocks(lo, hi);
  std::vector<int> hits(65536, 0);
  for (auto [value, mask] : blocks) {
    EXPECT_EQ(value & ~mask & 0xffff, 0) << "block " << value << " not aligned to its mask";
    for (uint32_t p = 0; p < 65536; p++)
      if ((p & mask) == value) hits[p]++;
  }
  for (uint32_t p = 0; p < 65536; p++) ASSERT_EQ(hits[p], (p >= lo && p <= hi) ? 1 : 0) << p;
}

// Which ports may receive into an mbuf pool outside EAL memory (core/mem.h).
TEST(Port, OnlyInProcessPmdsMayUseAnAnonymousPool) {
  EXPECT_TRUE(port::mbufs_stay_in_process("net_pcap0,rx_pcap=/tmp/a.pcap"));
  EXPECT_TRUE(port::mbufs_stay_in_process("net_af_packet1,iface=veth0"));
  EXPECT_TRUE(port::mbufs_stay_in_process("net_null0,size=64"));
  EXPECT_TRUE(port::mbufs_stay_in_process("net_ring0"));
  EXPECT_TRUE(port::mbufs_stay_in_process("net_tap0,iface=t0"));
  EXPECT_TRUE(port::mbufs_stay_in_process("net_memif0,role=client"));
  EXPECT_FALSE(port::mbufs_stay_in_process("net_memif0,role=client,zero-copy=yes"));
  EXPECT_FALSE(port::mbufs_stay_in_process("0000:3b:00.0"));
  EXPECT_FALSE(port::mbufs_stay_in_process("net_virtio_user0,path=/tmp/vhost.sock"));
  EXPECT_FALSE(port::mbufs_stay_in_process("net_vdev_netvsc0,iface=eth1"));
}

TEST(Steer, RangeBlocksCoverExactly) {
  expect_exact_cover(80, 80);
  expect_exact_cover(8000, 8099);
  expect_exact_cover(1, 65535);
  expect_exact_cover(1024, 2047);
  std::mt19937 rng(7);
  for (int i = 0; i < 20; i++) {
    uint16_t a = uint16_t(rng() % 65535 + 1), b = uint16_t(rng() % 65535 + 1);
    expect_exact_cover(std::min(a, b), std::max(a, b));
  }
}

TEST(Steer, RangeBlocksAreFew) {
  // An aligned power-of-two range is one block; 8000-8099 takes three.
  EXPECT_EQ(port::range_blocks(1024, 2047).size(), 1u);
  const auto b = port::range_blocks(8000, 8099);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0], std::make_pair(uint16_t(8000), uint16_t(0xffc0)));
  EXPECT_EQ(b[1], std::make_pair(uint16_t(8064), uint16_t(0xffe0)));
  EXPECT_EQ(b[2], std::make_pair(uint16_t(8096), uint16_t(0xfffc)));
}

TEST(Steer, NoServicePortsNoRules) {
  port::SteerSpec s;
  EXPECT_TRUE(port::steer_rules(s).empty());
  port::Steer sw(s);
  EXPECT_FALSE(sw.active());
  EXPECT_TRUE(sw.service(12345, 54321));
}

TEST(Steer, RulesAsDocumented) {
  port::SteerSpec s;
  s.service_ports = {{80, 80}, {8000, 8099}};
  s.rest = port::Rest::kDrop;
  const auto r = port::steer_rules(s);
  // (1 + 3 blocks) x 2 directions x 2 IP versions, then 2 drop rules.
  ASSERT_EQ(r.size(), 18u);
  EXPECT_EQ(r[0].describe(4), "prio 0: eth / ipv4 / tcp dst 80/0xffff -> rss queues 0-3");
  EXPECT_EQ(r[1].describe(4), "prio 0: eth / ipv4 / tcp src 80/0xffff -> rss queues 0-3");
  EXPECT_EQ(r[2].describe(1), "prio 0: eth / ipv4 / tcp dst 8000/0xffc0 -> rss queue 0");
  EXPECT_EQ(r[8].describe(1), "prio 0: eth / ipv6 / tcp dst 80/0xffff -> rss queue 0");
  EXPECT_EQ(r[16].describe(1), "prio 1: eth / ipv4 -> drop");
  EXPECT_EQ(r[17].describe(1), "prio 1: eth / ipv6 -> drop");
  for (size_t i = 0; i < 16; i++) {
    EXPECT_EQ(r[i].priority, 0u);
    EXPECT_FALSE(r[i].drop);
  }
  s.rest = port::Rest::kPass;
  EXPECT_EQ(port::steer_rules(s).size(), 16u);  // nothing to drop: the rest follows default RSS
}

TEST(Steer, SoftwareMatchesEitherSide) {
  port::SteerSpec s;
  s.service_ports = {{80, 80}, {8000, 8099}};
  port::Steer sw(s);
  EXPECT_TRUE(sw.active());
  EXPECT_TRUE(sw.service(80, 40000));
  EXPECT_TRUE(sw.service(40000, 80));
  EXPECT_TRUE(sw.service(40000, 8099));
  EXPECT_TRUE(sw.service(8000, 40000));
  EXPECT_FALSE(sw.service(40000, 8100));
  EXPECT_FALSE(sw.service(443, 40000));
  EXPECT_FALSE(sw.service(7999, 81));
}

}  // namespace
