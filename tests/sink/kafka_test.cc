// Issue 16: the Kafka output against librdkafka's mock cluster (the real
// Kafka protocol on localhost, rdkafka_mock.h): what it delivers, keyed and
// in order per key, and how each loss is counted once, by reason.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sink/kafka.h"

namespace {

/* A mock cluster of one broker with a 3-partition topic. */
struct Cluster {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* mc = nullptr;
  std::string boot;
  Cluster() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    mc = rd_kafka_mock_cluster_new(rk, 1);
    rd_kafka_mock_topic_create(mc, "t", 3, 1);
    boot = rd_kafka_mock_cluster_bootstraps(mc);
  }
  ~Cluster() {
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
  }
};

struct Rec {
  std::string key, text;
};

std::string key_of(const void* r) { return static_cast<const Rec*>(r)->key; }

/* The output's counters by name (sink/counters.def), as stats.json sees them. */
struct Counts {
  std::map<std::string, uint64_t> v;
  uint64_t operator[](const char* n) const { return v.at(n); }
};
Counts stats_of(const sink::Writer& w) {
  Counts c;
  w.visit([&](const char* n, core::CounterKind, const char*, uint64_t x) { c.v[n] = x; });
  return c;
}

/* Every message of topic "t", per partition in order: (key, value). */
std::map<int, std::vector<std::pair<std::string, std::string>>> consume(const std::string& boot,
                                                                        size_t want) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", boot.c_str(), err, sizeof err);
  rd_kafka_conf_set(conf, "group.id", "loom-test", err, sizeof err);
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err);
  rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(3);
  for (int p = 0; p < 3; p++)
    rd_kafka_topic_partition_list_add(parts, "t", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(c, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::map<int, std::vector<std::pair<std::string, std::string>>> got;
  size_t n = 0;
  for (int i = 0; i < 200 && n < want; i++) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 50);
    if (!m) continue;
    if (!m->err) {
      got[m->partition].emplace_back(std::string(static_cast<const char*>(m->key), m->key_len),
                                     std::string(static_cast<const char*>(m->payload), m->len));
      n++;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
  return got;
}

TEST(KafkaOutput, OneMessagePerRecordKeyedByConnectionInOrderPerKey) {
  Cluster cl;
  sink::KafkaProducer p({cl.boot, {{"linger.ms", "5"}}, 10000, false});
  auto w = p.topic("t", key_of);
  ASSERT_TRUE(w->open());
  std::vector<Rec> recs;
  for (int i = 0; i < 60; i++)
    recs.push_back({"conn" + std::to_string(i % 7), "{\"n\":" + std::to_string(i) + "}\n"});
  for (const Rec& r : recs) w->write(&r, r.text);
  w->close();
  const Counts s = stats_of(*w);
  EXPECT_EQ(s["records"], 60u);
  EXPECT_EQ(s["delivered"], 60u);
  EXPECT_EQ(s["in_flight"], 0u);
  EXPECT_EQ(p.undelivered(), 0u);
  const auto got = consume(cl.boot, 60);
  std::map<std::string, int> part_of;
  std::map<std::string, std::vector<std::string>> per_key;
  size_t n = 0;
  for (const auto& [part, msgs] : got)
    for (const auto& [k, v] : msgs) {
      // A connection's records stay in one partition ...
      EXPECT_TRUE(part_of.emplace(k, part).first->second == part) << k;
      per_key[k].push_back(v);
      n++;
    }
  EXPECT_EQ(n, 60u);
  // ... in the order they were written, each value the line minus "\n".
  for (const auto& [k, vals] : per_key) {
    std::vector<std::string> want;
    for (const Rec& r : recs)
      if (r.key == k) want.push_back(r.text.substr(0, r.text.size() - 1));
    EXPECT_EQ(vals, want) << k;
  }
}

TEST(KafkaOutput, BrokerDownPastTheTimeoutCountsEachRecordOnceAsTimedOut) {
  Cluster cl;
  rd_kafka_mock_broker_set_down(cl.mc, 1);
  sink::KafkaProducer p({cl.boot, {}, 300, false});
  auto w = p.topic("t", key_of);
  const Rec r{"k", "{}\n"};
  for (int i = 0; i < 10; i++) w->write(&r, r.text);
  w->close();
  const Counts s = stats_of(*w);
  EXPECT_EQ(s["delivered"], 0u);
  EXPECT_EQ(s["dropped_timed_out"], 10u);
  EXPECT_EQ(s["in_flight"], 0u);
  EXPECT_EQ(p.undelivered(), 10u);
  EXPECT_FALSE(p.first_error().empty());
}

TEST(KafkaOutput, LiveStopWithTheBrokersAwayCountsWhatIsLeftAtStop) {
  Cluster cl;
  rd_kafka_mock_broker_set_down(cl.mc, 1);
  // A long delivery timeout, a short stop: the records still queued when
  // the output closes are given up and counted, not waited for.
  sink::KafkaProducer p({cl.boot, {}, 60000, false, 200});
  auto w = p.topic("t", key_of);
  const Rec r{"k", "{}\n"};
  for (int i = 0; i < 7; i++) w->write(&r, r.text);
  w->close();
  const Counts s = stats_of(*w);
  EXPECT_EQ(s["dropped_at_stop"], 7u);
  EXPECT_EQ(s["dropped_timed_out"], 0u);
  EXPECT_EQ(s["in_flight"], 0u);
  EXPECT_EQ(p.undelivered(), 7u);
}

TEST(KafkaOutput, LiveFullQueueDropsAtOnceOfflineWaits) {
  Cluster cl;
  const Rec r{"k", "{}\n"};
  {
    rd_kafka_mock_broker_set_down(cl.mc, 1);
    sink::KafkaProducer p({cl.boot, {{"queue.buffering.max.messages", "5"}}, 300, false});
    auto w = p.topic("t", key_of);
    for (int i = 0; i < 20; i++) w->write(&r, r.text);
    EXPECT_EQ(stats_of(*w)["dropped_queue_full"], 15u);  // live: no wait, counted
    w->close();
    const Counts s = stats_of(*w);
    EXPECT_EQ(s["dropped_timed_out"], 5u);
    EXPECT_EQ(s["records"], s["delivered"] + s["dropped_queue_full"] + s["dropped_timed_out"]);
    rd_kafka_mock_broker_set_up(cl.mc, 1);
  }
  // Offline (lossless): the same small queue waits for the brokers, so
  // every record arrives.
  sink::KafkaProducer p({cl.boot, {{"queue.buffering.max.messages", "5"}}, 10000, true});
  auto w = p.topic("t", key_of);
  for (int i = 0; i < 50; i++) w->write(&r, r.text);
  w->close();
  const Counts s = stats_of(*w);
  EXPECT_EQ(s["delivered"], 50u);
  EXPECT_EQ(s["dropped_queue_full"], 0u);
  EXPECT_EQ(p.undelivered(), 0u);
}

TEST(KafkaOutput, PropertiesAreCheckedByLibrdkafka) {
  EXPECT_EQ(sink::kafka_check_property("compression.type", "lz4"), "");
  EXPECT_NE(sink::kafka_check_property("compression.type", "rar"), "");
  EXPECT_NE(sink::kafka_check_property("no.such.property", "1"), "");
  EXPECT_THROW(sink::KafkaProducer({"127.0.0.1:1", {{"acks", "seven"}}, 1000, false}),
               std::runtime_error);
}

}  // namespace
