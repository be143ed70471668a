// The planning step: a startup file's keys become the inspection stage's
// settings with their units converted, the outputs decide which records
// are made, and the file's defaults are the libraries' defaults (one
// default per setting: a drift between them fails here).
#include <gtest/gtest.h>

#include "ctl/plan.h"

namespace {

using ctl::parse_config;

// A live inline appliance with two ports and nothing else set.
const char kLive[] = R"(mode = "inline"
[eal]
lcores = "0-1"
memory = "no-huge"
[[ports]]
name = "west"
device = "net_null0"
[[ports]]
name = "east"
device = "net_null1"
[[pairs]]
a = "west"
b = "east"
)";

TEST(Plan, UnitsAreConverted) {
  const auto c = parse_config(
      "mode = \"offline\"\n[flow]\ntimeout_new_s = 3\ntimeout_established_s = 7\n"
      "timeout_closed_s = 2\n[reassembly]\nmemcap_mb = 8\ngap_timeout_ms = 250\n"
      "ack_gap_timeout_ms = 40\n",
      "p.toml");
  const inspect::Config ic = ctl::stage_config(c, true);
  EXPECT_EQ(ic.table.timeouts.new_ns, 3'000'000'000ull);
  EXPECT_EQ(ic.table.timeouts.established_ns, 7'000'000'000ull);
  EXPECT_EQ(ic.table.timeouts.closed_ns, 2'000'000'000ull);
  EXPECT_EQ(ic.limits.memcap_bytes, 8ull << 20);
  EXPECT_EQ(ic.limits.gap_timeout_ns, 250'000'000ull);
  EXPECT_EQ(ic.limits.ack_gap_timeout_ns, 40'000'000ull);
  // Enough OFO nodes that the memcap, counted in mbuf buffers, binds first.
  EXPECT_GE(uint64_t(ic.ofo_nodes) * c.mbuf_data_room, ic.limits.memcap_bytes);
}

TEST(Plan, OfflineIsLosslessAndSweepsOnlyOnInserts) {
  const auto off = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), true);
  EXPECT_TRUE(off.lossless);
  EXPECT_FALSE(off.idle_sweep);
  const auto live = ctl::stage_config(parse_config(kLive, "l.toml"), true);
  EXPECT_FALSE(live.lossless);
  EXPECT_TRUE(live.idle_sweep);
}

TEST(Plan, OutputsDecideWhichRecordsAreMade) {
  const auto none = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), false);
  EXPECT_FALSE(none.streams) << "no output directory: no fingerprints";
  EXPECT_FALSE(none.message_files) << "records nobody drains would stop an offline worker";
  EXPECT_TRUE(none.http_records) << "rules and pcap still judge messages";
  EXPECT_EQ(none.raw_bytes, 0u);
  const auto quiet = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nmessages = false\ngor = false\n", "q.toml"), true);
  EXPECT_FALSE(quiet.message_files);
  EXPECT_EQ(quiet.raw_bytes, 0u) << "no http.gor and no rules: no capture buffers";
  const auto gor = ctl::stage_config(parse_config("mode = \"offline\"\n", "g.toml"), true);
  EXPECT_TRUE(gor.message_files);
  EXPECT_GT(gor.raw_bytes, 0u);
  EXPECT_GT(gor.raw_buffers, 0u);
  const auto pcap = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\npcap = true\nrecord_ring = 65536\n", "p.toml"), true);
  EXPECT_TRUE(pcap.pcap);
  EXPECT_EQ(pcap.pcap_ring, 4096u) << "packet records are big: their ring is capped";
}

TEST(Plan, FileDefaultsAreTheLibrariesDefaults) {
  const inspect::Config ic = ctl::stage_config(parse_config(kLive, "d.toml"), true);
  const flow::TableConfig t;
  EXPECT_EQ(ic.table.max_flows, t.max_flows);
  EXPECT_EQ(ic.table.timeouts.new_ns, t.timeouts.new_ns);
  EXPECT_EQ(ic.table.timeouts.established_ns, t.timeouts.established_ns);
  EXPECT_EQ(ic.table.timeouts.closed_ns, t.timeouts.closed_ns);
  EXPECT_EQ(ic.table.evict_when_full, t.evict_when_full);
  EXPECT_EQ(ic.table.sweep_per_insert, t.sweep_per_insert);
  EXPECT_EQ(ic.table.sweep_per_idle, t.sweep_per_idle);
  const reasm::Limits l;
  EXPECT_EQ(ic.limits.max_ofo_segments, l.max_ofo_segments);
  EXPECT_EQ(ic.limits.max_ofo_bytes, l.max_ofo_bytes);
  EXPECT_EQ(ic.limits.memcap_bytes, l.memcap_bytes);
  EXPECT_EQ(ic.limits.gap_timeout_ns, l.gap_timeout_ns);
  EXPECT_EQ(ic.limits.ack_gap_timeout_ns, l.ack_gap_timeout_ns);
  EXPECT_EQ(ic.empty_sample, inspect::Config{}.empty_sample);
}

TEST(Plan, PayloadLessConnectionsAreSampledUnlessAllAreAskedFor) {
  const auto dflt = ctl::stage_config(parse_config("mode = \"offline\"\n", "o.toml"), true);
  EXPECT_EQ(dflt.empty_sample, 100u);
  const auto few = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nempty_connections_sample = 7\n", "o.toml"), true);
  EXPECT_EQ(few.empty_sample, 7u);
  const auto all = ctl::stage_config(
      parse_config("mode = \"offline\"\n[outputs]\nempty_connections = \"all\"\n"
                   "empty_connections_sample = 7\n", "o.toml"), true);
  EXPECT_EQ(all.empty_sample, UINT32_MAX) << "all overrides the sample";
  try {
    parse_config("mode = \"offline\"\n[outputs]\nempty_connections = \"none\"\n", "b.toml");
    FAIL() << "an unknown choice must be refused";
  } catch (const ctl::ConfigErrors& e) {
    EXPECT_NE(std::string(e.what()).find("b.toml:3:"), std::string::npos) << e.what();
  }
}

}  // namespace
