// [[collectors]] and [probe] as the prober takes them (ctl::prober_config):
// the file's defaults are lib/mirror's (one default per setting: a drift
// fails here), and milliseconds become nanoseconds.
#include <gtest/gtest.h>

#include <string>

#include "ctl/collectors.h"
#include "ctl/config.h"

namespace {

// Offline: no ports to set up, and [mirror] and [[collectors]] still parse.
const std::string kFile = R"(mode = "offline"
collectors = [{ name = "eu-1", ip = "192.0.2.10", multiplier = 1.5 }, { name = "us_2", ip = "192.0.2.11" }]
[eal]
file_prefix = "edge-7"
[mirror]
device = "net_pcap2,tx_pcap=/tmp/m.pcap"
encap = "vxlan"
src_ip = "192.0.2.1"
)";

TEST(ProberConfig, FileDefaultsAreTheMirrorLibrarysDefaults) {
  const ctl::Config c = ctl::parse_config(kFile, "d.toml");
  const mirror::ProberConfig p = ctl::prober_config(c.mirror, c.eal.file_prefix);
  const mirror::ProberConfig d;
  EXPECT_EQ(p.udp, d.udp);
  EXPECT_EQ(p.udp_port, d.udp_port);
  EXPECT_EQ(p.timeout_ns, d.timeout_ns);
  EXPECT_EQ(p.choice.window_ns, d.choice.window_ns);
  EXPECT_EQ(p.choice.buckets, d.choice.buckets);
  EXPECT_EQ(p.choice.lost_after, d.choice.lost_after);
  EXPECT_EQ(p.choice.margin_ns, d.choice.margin_ns);
  EXPECT_DOUBLE_EQ(p.choice.ratio, d.choice.ratio);
  EXPECT_EQ(p.choice.full_tries, d.choice.full_tries);
  EXPECT_EQ(p.choice.stagger_ns, d.choice.stagger_ns);
  EXPECT_EQ(p.choice.full_every_ns, d.choice.full_every_ns);
  EXPECT_EQ(p.choice.incremental_every_ns, d.choice.incremental_every_ns);
  EXPECT_EQ(p.choice.incremental_fastest, d.choice.incremental_fastest);
  EXPECT_EQ(p.choice.fallback_key, "edge-7") << "this Loom's name: eal.file_prefix";
  ASSERT_EQ(p.collectors.size(), 2u);
  EXPECT_EQ(p.collectors[0].name, "eu-1");
  EXPECT_EQ(p.collectors[0].ip, 0xC000020Au);
  EXPECT_DOUBLE_EQ(p.collectors[0].multiplier, 1.5);
  EXPECT_DOUBLE_EQ(p.collectors[1].multiplier, mirror::Collector{}.multiplier);
}

TEST(ProberConfig, MillisecondsBecomeNanoseconds) {
  const ctl::Config c = ctl::parse_config(kFile + R"([probe]
method = "udp"
udp_port = 7007
window_ms = 3000
full_every_ms = 2000
incremental_every_ms = 500
timeout_ms = 250
stagger_ms = 7
margin_ms = 12
ratio = 0.5
lost_after = 4
tries = 2
)", "p.toml");
  const mirror::ProberConfig p = ctl::prober_config(c.mirror, "k");
  EXPECT_TRUE(p.udp);
  EXPECT_EQ(p.udp_port, 7007);
  EXPECT_EQ(p.choice.window_ns, 3'000'000'000u);
  EXPECT_EQ(p.choice.full_every_ns, 2'000'000'000u);
  EXPECT_EQ(p.choice.incremental_every_ns, 500'000'000u);
  EXPECT_EQ(p.timeout_ns, 250'000'000u);
  EXPECT_EQ(p.choice.stagger_ns, 7'000'000u);
  EXPECT_EQ(p.choice.margin_ns, 12'000'000u);
  EXPECT_DOUBLE_EQ(p.choice.ratio, 0.5);
  EXPECT_EQ(p.choice.lost_after, 4u);
  EXPECT_EQ(p.choice.full_tries, 2u);
  EXPECT_EQ(p.choice.fallback_key, "k");
}

}  // namespace
