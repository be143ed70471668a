// Issue 16's keys: [sensor], [http] headers, [outputs.kafka]. Each bad
// value is rejected at its line and column, saying what is allowed; the
// librdkafka properties are checked by librdkafka itself.
#include <gtest/gtest.h>

#include <string>

#include "ctl/config.h"

namespace {

std::vector<ctl::ConfigError> errors_of(const std::string& text) {
  try {
    ctl::parse_config(text, "f.toml");
  } catch (const ctl::ConfigErrors& e) {
    return e.errors;
  }
  ADD_FAILURE() << "config was accepted:\n" << text;
  return {};
}

/* `text` after a first line `mode = "offline"`; `line` counts from text's. */
void expect_one(const std::string& text, uint32_t line, uint32_t col, const std::string& needle) {
  auto e = errors_of("mode = \"offline\"\n" + text);
  line++;
  ASSERT_EQ(e.size(), 1u) << (e.empty() ? "" : e[0].str() + (e.size() > 1 ? "\n" + e[1].str() : ""));
  EXPECT_EQ(e[0].at.line, line) << e[0].str();
  EXPECT_EQ(e[0].at.column, col) << e[0].str();
  EXPECT_NE(e[0].message.find(needle), std::string::npos) << e[0].str();
}

TEST(FleetConfig, DefaultsAndAFullKafkaSection) {
  const ctl::Config d = ctl::parse_config("mode = \"offline\"\n", "f.toml");
  EXPECT_FALSE(d.outputs.kafka.enabled);
  EXPECT_EQ(d.sensor.name, "");  // resolved to the host name at start-up
  EXPECT_EQ(d.sensor.community_id_seed, 0);
  EXPECT_EQ(d.http.headers, (std::vector<std::string>{"user-agent", "content-type", "x-forwarded-for"}));
  const ctl::Config c = ctl::parse_config(R"(mode = "offline"
[sensor]
name = "edge-7"
community_id_seed = 9
[http]
headers = ["X-Request-ID", "referer"]
headers_bytes = 128
[outputs.kafka]
brokers = "k1:9092,[::1]:9093"
topic = "fleet.http"
streams_topic = "fleet.streams"
delivery_timeout_ms = 5000
properties = { "compression.type" = "lz4", "linger.ms" = 20, "enable.idempotence" = true }
)", "f.toml");
  EXPECT_EQ(c.sensor.name, "edge-7");
  EXPECT_EQ(c.sensor.community_id_seed, 9);
  EXPECT_EQ(c.http.headers, (std::vector<std::string>{"x-request-id", "referer"}));
  EXPECT_EQ(c.http.headers_bytes, 128u);
  const ctl::KafkaConfig& k = c.outputs.kafka;
  EXPECT_TRUE(k.enabled);
  EXPECT_EQ(k.brokers, "k1:9092,[::1]:9093");
  EXPECT_EQ(k.topic, "fleet.http");
  EXPECT_EQ(k.streams_topic, "fleet.streams");
  EXPECT_EQ(k.delivery_timeout_ms, 5000u);
  ASSERT_EQ(k.properties.size(), 3u);
  // toml++ keeps a table's keys sorted; librdkafka takes them in any order.
  EXPECT_EQ(k.properties[0], (std::pair<std::string, std::string>{"compression.type", "lz4"}));
  EXPECT_EQ(k.properties[1], (std::pair<std::string, std::string>{"enable.idempotence", "true"}));
  EXPECT_EQ(k.properties[2], (std::pair<std::string, std::string>{"linger.ms", "20"}));
}

TEST(FleetConfig, KafkaRejections) {
  expect_one("[outputs.kafka]\ntopic = \"x\"\n", 1, 1, "needs brokers");
  expect_one("[outputs.kafka]\nbrokers = \"k1\"\n", 2, 11, "host:port");
  expect_one("[outputs.kafka]\nbrokers = \"k1:9092,:7\"\n", 2, 11, "host:port");
  expect_one("[outputs.kafka]\nbrokers = \"k1:99999\"\n", 2, 11, "host:port");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\ntopic = \"a b\"\n", 3, 9, "not a Kafka topic name");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\nretries = 3\n", 3, 1, "unknown key 'retries'");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\ndelivery_timeout_ms = 5\n", 3, 23, "out of range");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\nproperties = { \"acks\" = \"seven\" }\n", 3, 25,
             "librdkafka refuses it");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\nproperties = { \"no.such\" = 1 }\n", 3, 28,
             "librdkafka refuses it");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\nproperties = { \"bootstrap.servers\" = \"x:1\" }\n",
             3, 16, "outputs.kafka.brokers");
  expect_one("[outputs.kafka]\nbrokers = \"k:1\"\nproperties = { \"acks\" = [1] }\n", 3, 25,
             "string, number or boolean");
  expect_one("[outputs]\nkafka = 3\n", 2, 9, "must be a table");
}

TEST(FleetConfig, SensorAndHeaderRejections) {
  expect_one("[sensor]\nname = \"\"\n", 2, 8, "1 to 64 printable");
  expect_one("[sensor]\nname = \"a b\"\n", 2, 8, "1 to 64 printable");
  expect_one("[sensor]\ncommunity_id_seed = 65536\n", 2, 21, "out of range");
  expect_one("[sensor]\nseed = 1\n", 2, 1, "unknown key 'seed'");
  expect_one("[http]\nheaders = \"user-agent\"\n", 2, 11, "array of header names");
  expect_one("[http]\nheaders = [\"user agent\"]\n", 2, 12, "not a header name");
  expect_one("[http]\nheaders = [\"x-a-very-long-header-name\"]\n", 2, 12, "1 to 19");
  expect_one("[http]\nheaders = [\"a\", \"A\"]\n", 2, 17, "listed twice");
  expect_one("[http]\nheaders = [7]\n", 2, 12, "must be a string");
  expect_one("[http]\nheaders_bytes = 513\n", 2, 17, "out of range");
}

}  // namespace
