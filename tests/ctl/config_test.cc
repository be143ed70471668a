// Startup-file validation: one test per class of rejection, each checking
// that the error points at the right line and column and says what is
// allowed.
#include <gtest/gtest.h>

#include <string>

#include "ctl/config.h"

namespace {

using ctl::ConfigErrors;
using ctl::parse_config;

// A valid inline config that the rejection tests break one piece at a time.
const char kGood[] = R"(mode = "inline"
[eal]
lcores = "0-2"
main_lcore = 0
memory = "no-huge"
file_prefix = "t1"

[[ports]]
name = "west"
device = "net_af_packet0,iface=a,qpairs=2"
rx_queues = 2

[[ports]]
name = "east"
device = "net_af_packet1,iface=b,qpairs=2"
rx_queues = 2

[[pairs]]
a = "west"
b = "east"
)";

// Parses `text`, expects rejection, returns the errors.
std::vector<ctl::ConfigError> errors_of(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const ConfigErrors& e) {
    return e.errors;
  }
  ADD_FAILURE() << "config was accepted:\n" << text;
  return {};
}

// Expects exactly one error at line:column whose message contains `needle`.
void expect_one(const std::string& text, uint32_t line, uint32_t col, const std::string& needle) {
  auto e = errors_of(text);
  ASSERT_EQ(e.size(), 1u) << (e.empty() ? "" : e[0].str() + (e.size() > 1 ? "\n" + e[1].str() : ""));
  EXPECT_EQ(e[0].at.line, line) << e[0].str();
  EXPECT_EQ(e[0].at.column, col) << e[0].str();
  EXPECT_NE(e[0].message.find(needle), std::string::npos) << e[0].str();
  EXPECT_EQ(e[0].str().rfind("t.toml:" + std::to_string(line) + ":" + std::to_string(col) + ": ", 0), 0u);
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

TEST(Config, GoodConfigGivesAutomaticWorkers) {
  const ctl::Config c = parse_config(kGood, "t.toml");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].peer, 1);
  EXPECT_EQ(c.ports[1].peer, 0);
  ASSERT_EQ(c.workers.size(), 2u);  // lcores 1 and 2; lcore 0 is main
  EXPECT_EQ(c.workers[0].lcore, 1u);
  EXPECT_EQ(c.workers[1].lcore, 2u);
  // Queue q of both ports on worker q: both directions of a connection meet.
  ASSERT_EQ(c.workers[0].queues.size(), 2u);
  EXPECT_EQ(c.workers[0].queues[0].queue, 0);
  EXPECT_EQ(c.workers[0].queues[1].queue, 0);
  EXPECT_EQ(c.workers[1].queues[0].queue, 1);
  // Each worker relays into both ports, so each port has two TX queues.
  EXPECT_EQ(c.ports[0].spec.tx_queues, 2);
  EXPECT_EQ(c.eal.memory, ctl::Memory::kNoHuge);
}

TEST(Config, RejectsTomlSyntaxWithPosition) {
  auto e = errors_of("mode = \"inline\"\n[eal\nlcores = 1\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].at.line, 2u);
  EXPECT_NE(e[0].message.find("not valid TOML"), std::string::npos);
}

TEST(Config, RejectsUnknownKeyNamingAllowedOnes) {
  expect_one(replace(kGood, "main_lcore = 0", "main_lcore = 0\nlcore = 3"), 5, 1,
             "unknown key 'lcore' in [eal]; allowed keys are: lcores, main_lcore");
}

TEST(Config, RejectsUnknownTopLevelKey) {
  expect_one(std::string("moed = 1\n") + kGood, 1, 1, "unknown key 'moed' in the top level");
}

TEST(Config, RejectsUnknownKeysInSections) {
  expect_one(std::string(kGood) + "[rules]\nmax_header_bytes = 3\n", 22, 1,
             "unknown key 'max_header_bytes' in [rules]; allowed keys are: default");
  expect_one(std::string(kGood) + "[flow]\nmax_flows = 3\n", 22, 1,
             "unknown key 'max_flows' in [flow]; allowed keys are: max_flows_per_worker");
}

TEST(Config, RejectsWrongType) {
  expect_one(replace(kGood, "rx_queues = 2\n\n[[ports]]\nname = \"east\"",
                     "rx_queues = \"2\"\n\n[[ports]]\nname = \"east\""),
             11, 13, "ports[0].rx_queues must be an integer, not a string");
}

TEST(Config, RejectsOutOfRange) {
  expect_one(replace(kGood, "file_prefix = \"t1\"", "file_prefix = \"t1\"\nmemory_mb = 10"), 7,
             13, "eal.memory_mb = 10 is out of range; allowed: 64 to");
}

TEST(Config, RejectsBadChoice) {
  expect_one(replace(kGood, "memory = \"no-huge\"", "memory = \"huge\""), 5, 10,
             "eal.memory = \"huge\" is not one of \"hugepages\", \"no-huge\", \"in-memory\"");
}

TEST(Config, RejectsPairNamingMissingPort) {
  expect_one(replace(kGood, "b = \"east\"", "b = \"esat\""), 20, 5,
             "pair names port \"esat\", but no [[ports]] entry has that name");
}

TEST(Config, RejectsWorkerLcoreOutsideLcoreSet) {
  expect_one(std::string(kGood) +
                 "[[workers]]\nlcore = 5\nqueues = [\"west:0\", \"east:0\", \"west:1\", \"east:1\"]\n",
             22, 9, "worker lcore 5 is not in eal.lcores \"0-2\"");
}

TEST(Config, RejectsAnLcoreNumberTooLongForAnInteger) {
  // stoul's out_of_range once escaped as a crash (config_fuzz).
  expect_one(replace(kGood, "lcores = \"0-2\"", "lcores = \"0-99999999999999999999999\""), 3, 10,
             "is not below RTE_MAX_LCORE");
}

TEST(Config, RejectsWorkerOnMainLcore) {
  expect_one(std::string(kGood) +
                 "[[workers]]\nlcore = 0\nqueues = [\"west:0\", \"east:0\", \"west:1\", \"east:1\"]\n",
             22, 9, "is the main lcore");
}

TEST(Config, RejectsQueuePolledTwiceAndQueueNotPolled) {
  auto e = errors_of(std::string(kGood) +
                     "[[workers]]\nlcore = 1\nqueues = [\"west:0\", \"east:0\"]\n"
                     "[[workers]]\nlcore = 2\nqueues = [\"west:0\", \"east:1\"]\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_NE(e[0].message.find("\"west:0\" is polled by two workers"), std::string::npos) << e[0].str();
  EXPECT_EQ(e[0].at.line, 26u);
  EXPECT_NE(e[1].message.find("\"west:1\" is polled by no worker"), std::string::npos) << e[1].str();
}

TEST(Config, RejectsQueueBeyondPortQueues) {
  expect_one(std::string(kGood) +
                 "[[workers]]\nlcore = 1\nqueues = [\"west:0\", \"east:0\", \"west:1\", \"east:1\", \"west:2\"]\n",
             23, 51, "port \"west\" has 2 RX queue(s)");
}

TEST(Config, RejectsMoreQueuesThanPmdAllows) {
  expect_one(replace(kGood, "iface=a,qpairs=2\"\nrx_queues = 2", "iface=a,qpairs=2\"\nrx_queues = 3"),
             11, 13, "asks for 3 RX queues; net_af_packet has qpairs=2");
}

TEST(Config, RejectsTxQueuesBeyondPmdLimit) {
  // Two workers relay into each port, so each port needs two TX queues;
  // qpairs=1 allows one.
  auto text = replace(kGood, "iface=a,qpairs=2\"\nrx_queues = 2", "iface=a,qpairs=1\"\nrx_queues = 1");
  expect_one(text, 11, 13, "needs 2 TX queues (one per worker relaying into it)");
}

TEST(Config, RejectsInlineWithoutPairs) {
  const std::string t = std::string(kGood).substr(0, std::string(kGood).find("[[pairs]]"));
  expect_one(t, 1, 8, "mode = \"inline\" needs at least one [[pairs]] entry");
}

TEST(Config, RejectsPassiveWithPairs) {
  expect_one(replace(kGood, "mode = \"inline\"", "mode = \"passive\""), 18, 1,
             "mode = \"passive\" never transmits");
}

TEST(Config, RejectsPortPairedTwiceOrWithItself) {
  auto e = errors_of(std::string(kGood) + "[[pairs]]\na = \"west\"\nb = \"west\"\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("to itself"), std::string::npos) << e[0].str();
}

TEST(Config, RejectsDuplicatePortNames) {
  auto e = errors_of(replace(kGood, "name = \"east\"", "name = \"west\""));
  ASSERT_GE(e.size(), 1u);
  EXPECT_NE(e[0].message.find("port name \"west\" is used twice"), std::string::npos) << e[0].str();
  EXPECT_EQ(e[0].at.line, 13u);
}

TEST(Config, RejectsPortNameUnfitForTelemetry) {
  std::string t = replace(kGood, "name = \"east\"", "name = \"ea-st\"");
  expect_one(replace(t, "b = \"east\"", "b = \"ea-st\""), 14, 8,
             "must be 1-32 letters, digits or '_'");
}

TEST(Config, RejectsMainLcoreOutsideSet) {
  expect_one(replace(kGood, "main_lcore = 0", "main_lcore = 7"), 4, 14,
             "eal.main_lcore = 7 is not in eal.lcores");
}

TEST(Config, RejectsBadLcoreSyntax) {
  expect_one(replace(kGood, "lcores = \"0-2\"", "lcores = \"0-x\""), 3, 10,
             "is not valid EAL lcore syntax");
}

TEST(Config, RejectsEalFlagsLoomOwns) {
  expect_one(replace(kGood, "file_prefix = \"t1\"", "file_prefix = \"t1\"\nextra_args = [\"--log-level=8\", \"--in-memory\"]"),
             7, 32, "must not contain --in-memory: Loom sets it from eal.memory");
}

TEST(Config, RejectsShortOrNonHexRssKey) {
  auto e = errors_of(replace(kGood, "rx_queues = 2\n\n[[pairs]]",
                             "rx_queues = 2\n[ports.rss]\nkey = \"6d5a6d5a\"\n\n[[pairs]]"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("4 bytes; a Toeplitz key needs 40 to 255"), std::string::npos) << e[0].str();
  e = errors_of(replace(kGood, "rx_queues = 2\n\n[[pairs]]",
                        "rx_queues = 2\n[ports.rss]\nkey = \"zz\"\n\n[[pairs]]"));
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].message.find("'z' at position 0 is not a hex digit"), std::string::npos) << e[0].str();
}

TEST(Config, ReportsEveryErrorAtOnce) {
  std::string t = replace(kGood, "memory = \"no-huge\"", "memory = 3");
  t = replace(t, "b = \"east\"", "b = \"nowhere\"");
  t = replace(t, "rx_queues = 2\n\n[[pairs]]", "rx_queues = 0\n\n[[pairs]]");
  auto e = errors_of(t);
  EXPECT_EQ(e.size(), 3u);
}

TEST(Config, PipelineSections) {
  const auto c = parse_config(std::string(kGood) +
                                  "[flow]\nmax_flows_per_worker = 1024\ntimeout_new_s = 5\n"
                                  "[reassembly]\nmemcap_mb = 8\ngap_timeout_ms = 250\n"
                                  "[outputs]\nstreams = false\n",
                              "t.toml");
  EXPECT_EQ(c.flow.max_flows_per_worker, 1024u);
  EXPECT_EQ(c.flow.timeout_new_s, 5u);
  EXPECT_EQ(c.reasm.memcap_mb, 8u);
  EXPECT_EQ(c.reasm.gap_timeout_ms, 250u);
  EXPECT_FALSE(c.outputs.streams);
  expect_one(std::string(kGood) + "[reassembly]\nmax_ofo_bytes = 100\n", 22, 17,
             "reassembly.max_ofo_bytes = 100 is out of range; allowed: 1500 to");
}

TEST(Config, OfflineFileHoldsPipelineOnly) {
  const auto c = parse_config("mode = \"offline\"\n[worker]\nburst = 16\n", "o.toml");
  EXPECT_EQ(c.mode, ctl::Mode::kOffline);
  EXPECT_EQ(c.burst, 16);
  expect_one(std::string("mode = \"offline\"\n") + "[[ports]]\nname = \"x\"\ndevice = \"net_null0\"\n",
             1, 8, "describe the pipeline only");
}

TEST(Config, OfflineConfigUsesPcapPort) {
  const auto base = parse_config("mode = \"offline\"\n[worker]\nburst = 8\n", "o.toml");
  const auto c = ctl::offline_config("/tmp/x.pcap", &base);
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].spec.device, "net_pcap0,rx_pcap=/tmp/x.pcap");
  EXPECT_EQ(c.burst, 8);
  EXPECT_EQ(c.eal.memory, ctl::Memory::kNoHuge);
  ASSERT_EQ(c.workers.size(), 1u);
  EXPECT_EQ(c.workers[0].lcore, 1u);
  EXPECT_THROW(ctl::offline_config("/tmp/a,b.pcap", nullptr), ConfigErrors);
}

TEST(Config, ShippedStartupFilesAreValid) {
  for (const char* f : {"af-packet-lab.toml", "pcap-offline.toml", "intel-ice-inline.toml",
                        "mlx5-passive.toml", "null-relay-bench.toml"}) {
    SCOPED_TRACE(f);
    EXPECT_NO_THROW(ctl::load_config(std::string(LOOM_SOURCE_DIR) + "/drivers_cfg/" + f));
  }
}

TEST(Config, MissingFileIsAClearError) {
  try {
    ctl::load_config("/nonexistent/loom.toml");
    FAIL();
  } catch (const ConfigErrors& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open the startup file"), std::string::npos);
  }
}

}  // namespace

namespace {

// [steering], [mirror], [[collectors]], [probe]: what they accept and
// where they point when they refuse.
const std::string kMirror = std::string(kGood) + R"(
[mirror]
device = "net_pcap2,tx_pcap=/tmp/m.pcap"
encap = "vxlan"
src_ip = "192.0.2.1"
)";

TEST(Config, CollectorsAndProbe) {
  const ctl::Config c = parse_config(kMirror + R"(
[[collectors]]
name = "eu-1"
ip = "192.0.2.10"
multiplier = 1.5
[[collectors]]
name = "us_2"
ip = "192.0.2.11"
[probe]
method = "udp"
udp_port = 7007
window_ms = 3000
ratio = 0.5
)", "t.toml");
  ASSERT_EQ(c.mirror.collectors.size(), 2u);
  EXPECT_EQ(c.mirror.collectors[0].name, "eu-1");
  EXPECT_EQ(c.mirror.collectors[0].ip, 0xC000020Au);
  EXPECT_DOUBLE_EQ(c.mirror.collectors[0].multiplier, 1.5);
  EXPECT_DOUBLE_EQ(c.mirror.collectors[1].multiplier, 1.0);
  EXPECT_TRUE(c.mirror.probe.udp);
  EXPECT_EQ(c.mirror.probe.udp_port, 7007);
  EXPECT_EQ(c.mirror.probe.window_ms, 3000u);
  EXPECT_DOUBLE_EQ(c.mirror.probe.ratio, 0.5);
  EXPECT_EQ(c.mirror.probe.margin_ms, 10u);  // the default
}

TEST(Config, CollectorRejections) {
  expect_one(kMirror + "[[collectors]]\nname = \"a\"\nip = \"300.1.1.1\"\n", 28, 6, "needs ip");
  expect_one(kMirror + "[[collectors]]\nname = \"a\"\nip = \"192.0.2.9\"\nmultiplier = 20\n", 29, 14,
             "multiplier must be a number from 0.1 to 10");
  expect_one(kMirror + "[[collectors]]\nname = \"a\"\nip = \"192.0.2.9\"\n[probe]\nratio = 1.5\n", 30, 9,
             "probe.ratio must be a number in (0, 1]");
  expect_one(std::string(kGood) + "[[collectors]]\nname = \"a\"\nip = \"192.0.2.9\"\n", 21, 1,
             "need a [mirror] section");
}

TEST(Config, SteeringPortsAndRanges) {
  const ctl::Config c =
      parse_config(std::string(kGood) + "[steering]\nservice_ports = [80, \"8000-8099\"]\nother = \"drop\"\n", "t.toml");
  ASSERT_EQ(c.steering.service_ports.size(), 2u);
  EXPECT_EQ(c.steering.service_ports[1].lo, 8000);
  EXPECT_EQ(c.steering.service_ports[1].hi, 8099);
  EXPECT_EQ(c.steering.rest, port::Rest::kDrop);
  expect_one(std::string(kGood) + "[steering]\nservice_ports = [80, \"99-9\"]\n", 22, 22,
             "must be a port from 1 to 65535 or a range");
}

}  // namespace

namespace {

TEST(Config, DecapKeys) {
  const ctl::Config c = ctl::parse_config(
      "mode = \"offline\"\n[decap]\nmax_depth = 2\nvxlan_ports = [4789, 8472]\ngeneve_ports = []\n",
      "t.toml");
  EXPECT_EQ(c.decap.max_depth, 2u);
  EXPECT_EQ(c.decap.vxlan_ports, (std::vector<uint16_t>{4789, 8472}));
  EXPECT_TRUE(c.decap.geneve_ports.empty());
  const ctl::Config d = ctl::parse_config("mode = \"offline\"\n", "t.toml");
  EXPECT_EQ(d.decap.max_depth, 4u);
  EXPECT_EQ(d.decap.vxlan_ports, (std::vector<uint16_t>{4789}));
  EXPECT_EQ(d.decap.geneve_ports, (std::vector<uint16_t>{6081}));
}

TEST(Config, RejectsBadDecapKeys) {
  expect_one("mode = \"offline\"\n[decap]\nmax_depth = 9\n", 3, 13, "decap.max_depth = 9 is out of range");
  expect_one("mode = \"offline\"\n[decap]\nvxlan_ports = [4789, 0]\n", 3, 22, "decap.vxlan_ports[1]");
  expect_one("mode = \"offline\"\n[decap]\ngeneve_ports = 6081\n", 3, 16, "must be an array");
  expect_one("mode = \"offline\"\n[decap]\nvxlan_ports = [1,2,3,4,5,6,7,8,9]\n", 3, 15, "at most 8");
  expect_one("mode = \"offline\"\n[decap]\nvxlan_ports = [4789]\ngeneve_ports = [4789]\n", 4, 16,
             "one tunnel kind");
  expect_one("mode = \"offline\"\n[decap]\nvxlan = [4789]\n", 3, 1, "vxlan");
}

}  // namespace

TEST(Config, OutputsExistingAndStatsInterval) {
  auto c = parse_config(kGood, "t.toml");
  EXPECT_EQ(c.outputs.existing, sink::Existing::kRefuse);  // never silently truncate
  EXPECT_EQ(c.outputs.stats_seconds, 10u);
  c = parse_config(std::string(kGood) + "[outputs]\nexisting = \"rotate\"\nstats_seconds = 0\n", "t.toml");
  EXPECT_EQ(c.outputs.existing, sink::Existing::kRotate);
  EXPECT_EQ(c.outputs.stats_seconds, 0u);
  expect_one(std::string(kGood) + "[outputs]\nexisting = \"truncate\"\n", 22, 12,
             "outputs.existing = \"truncate\" is not one of \"refuse\", \"append\", \"rotate\", \"replace\"");
}
