/* [metrics] and [log] in the startup file; the log line format; what a
 * scrape holds before the Runtime is ready. */
#include <gtest/gtest.h>

#include <string>

#include "core/log.h"
#include "ctl/config.h"
#include "metrics/metrics.h"

namespace {

const std::string kBase = "mode = \"offline\"\n";

TEST(MetricsConfig, OffWhenAbsentAndParsedWhenGiven) {
  EXPECT_TRUE(ctl::parse_config(kBase, "t.toml").metrics.listen.empty());
  auto c = ctl::parse_config(kBase + "[metrics]\nlisten = \"127.0.0.1:9464\"\n", "t.toml");
  EXPECT_EQ(c.metrics.host, "127.0.0.1");
  EXPECT_EQ(c.metrics.port, 9464);
  c = ctl::parse_config(kBase + "[metrics]\nlisten = \"[::1]:19464\"\n", "t.toml");
  EXPECT_EQ(c.metrics.host, "::1");
  EXPECT_EQ(c.metrics.port, 19464);
  // offline_config keeps the file's [metrics] and [log].
  const ctl::Config o = ctl::offline_config("x.pcap", &c);
  EXPECT_EQ(o.metrics.port, 19464);
}

TEST(MetricsConfig, BadListenRejectedWithPosition) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "host:80",
                          "[::1]", "[::1:80", "::1:80", "1.2.3.4:-1", "1.2.3.4:8x", ""}) {
    try {
      ctl::parse_config(kBase + "[metrics]\nlisten = \"" + bad + "\"\n", "t.toml");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ctl::ConfigErrors& e) {
      ASSERT_EQ(e.errors.size(), 1u) << bad;
      EXPECT_EQ(e.errors[0].str().rfind("t.toml:3:10: metrics.listen = \"" + std::string(bad) + "\": ", 0), 0u)
          << e.errors[0].str();
    }
  }
}

TEST(LogConfig, KeysAndErrors) {
  auto c = ctl::parse_config(kBase, "t.toml");
  EXPECT_FALSE(c.log.json);
  EXPECT_EQ(c.log.summary_seconds, 60u);
  EXPECT_EQ(c.log.link_poll_ms, 100u);
  c = ctl::parse_config(kBase + "[log]\nformat = \"json\"\nsummary_seconds = 0\nlink_poll_ms = 250\n", "t.toml");
  EXPECT_TRUE(c.log.json);
  EXPECT_EQ(c.log.summary_seconds, 0u);
  EXPECT_EQ(c.log.link_poll_ms, 250u);
  try {
    ctl::parse_config(kBase + "[log]\nformat = \"xml\"\nlevel = 3\n", "t.toml");
    ADD_FAILURE();
  } catch (const ctl::ConfigErrors& e) {
    ASSERT_EQ(e.errors.size(), 2u);
    EXPECT_NE(e.errors[0].str().find("t.toml:4:1: "), std::string::npos) << e.errors[0].str();
    EXPECT_NE(e.errors[1].str().find("t.toml:3:10: log.format = \"xml\" is not one of \"text\", \"json\""),
              std::string::npos)
        << e.errors[1].str();
  }
}

TEST(LogFormat, TextHasUtcTimeAndLevel) {
  const timespec t{1767225600 + 3661, 123456789};  // 2026-01-01T01:01:01.123456Z
  EXPECT_EQ(core::format_log_line(core::LogFormat::kText, t, RTE_LOG_WARNING, "loom: port a link down"),
            "2026-01-01T01:01:01.123456Z WARNING loom: port a link down\n");
  EXPECT_EQ(core::format_log_line(core::LogFormat::kText, t, RTE_LOG_ERR, "x"),
            "2026-01-01T01:01:01.123456Z ERROR x\n");
}

TEST(LogFormat, JsonSplitsSourceAndEscapes) {
  const timespec t{1767225600, 5000};
  EXPECT_EQ(core::format_log_line(core::LogFormat::kJson, t, RTE_LOG_INFO, "EAL: say \"hi\"\t\\"),
            "{\"time\":\"2026-01-01T00:00:00.000005Z\",\"level\":\"info\",\"source\":\"EAL\","
            "\"message\":\"say \\\"hi\\\"\\t\\\\\"}\n");
  // No "word: " prefix: no source; control characters escaped.
  EXPECT_EQ(core::format_log_line(core::LogFormat::kJson, t, RTE_LOG_DEBUG, "a b: c\x01"),
            "{\"time\":\"2026-01-01T00:00:00.000005Z\",\"level\":\"debug\",\"message\":\"a b: c\\u0001\"}\n");
}

TEST(Metrics, NotReadyRuntimeReportsOnlyReadiness) {
  ctl::Runtime rt;
  rt.version = "9.9";
  const auto fams = metrics::collect(rt);
  ASSERT_EQ(fams.size(), 2u);
  EXPECT_EQ(fams[0].name, "loom_ctl_build_info");
  EXPECT_EQ(fams[1].name, "loom_ctl_ready");
  EXPECT_EQ(fams[1].metric.at(0).gauge.value, 0);
  const std::string text = metrics::text(rt);
  EXPECT_NE(text.find("loom_ctl_build_info{version=\"9.9\",mode=\"inline\"} 1"), std::string::npos) << text;
}

}  // namespace
