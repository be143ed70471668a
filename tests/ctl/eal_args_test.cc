#include <gtest/gtest.h>

#include <algorithm>

#include "ctl/eal_args.h"

namespace {

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const char kCfg[] = R"(mode = "passive"
[eal]
lcores = "0@0,1@1"
memory = "%MEM%"
file_prefix = "p1"
telemetry = false
vdevs = ["net_null9"]
[[ports]]
name = "tap"
device = "0000:3b:00.0"
)";

ctl::Config with_memory(const std::string& mem) {
  std::string t = kCfg;
  t.replace(t.find("%MEM%"), 5, mem);
  return ctl::parse_config(t, "t.toml");
}

TEST(EalArgs, NoHugeSizesMemoryFromThePool) {
  auto a = ctl::eal_args(with_memory("no-huge"), 16383);
  EXPECT_TRUE(has(a, "--no-huge"));
  EXPECT_TRUE(has(a, "--no-shconf"));
  const auto m = std::find(a.begin(), a.end(), "-m");
  ASSERT_NE(m, a.end());
  // 16383 mbufs of 2176+192 bytes, twice, plus 128 MB.
  EXPECT_EQ(*(m + 1), std::to_string(ctl::auto_memory_mb(16383, 2176)));
  EXPECT_GT(std::stoul(*(m + 1)), 2 * 16383ul * 2176 / (1 << 20));
}

TEST(EalArgs, PciPortIsAllowListedAndPciProbed) {
  auto a = ctl::eal_args(with_memory("in-memory"), 1023);
  EXPECT_TRUE(has(a, "--in-memory"));
  EXPECT_TRUE(has(a, "--allow=0000:3b:00.0"));
  EXPECT_FALSE(has(a, "--no-pci"));
  EXPECT_TRUE(has(a, "--vdev=net_null9"));
  EXPECT_TRUE(has(a, "--no-telemetry"));
  EXPECT_TRUE(has(a, "--lcores=0@0,1@1"));
  EXPECT_TRUE(has(a, "--file-prefix=p1"));
}

TEST(EalArgs, VdevOnlyConfigSkipsPci) {
  auto c = ctl::offline_config("/tmp/x.pcap", nullptr);
  auto a = ctl::eal_args(c, 1023);
  EXPECT_TRUE(has(a, "--no-pci"));
  EXPECT_TRUE(has(a, "--vdev=net_pcap0,rx_pcap=/tmp/x.pcap"));
}

TEST(EalArgs, HugepagesModeUnlinksPages) {
  auto a = ctl::eal_args(with_memory("hugepages"), 1023);
  // Page files must stay while Loom runs, for dpdk-dumpcap to map them.
  EXPECT_FALSE(has(a, "--huge-unlink"));
  EXPECT_FALSE(has(a, "--no-huge"));
}

}  // namespace
