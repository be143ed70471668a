/* sink/kafka: the Kafka output, one librdkafka producer for every topic.
 *
 * Each record becomes one Kafka message: its value is the record's JSON
 * line without the newline (the messages.jsonl line, byte for byte), its
 * key the connection's id (join::conn_key), so librdkafka's partitioner
 * puts a connection's records into one partition, in order.
 *
 * Where it runs: produce() and the delivery reports run on the sink
 * thread (write() and poll(), by rd_kafka_poll); librdkafka's own broker
 * threads are started by the constructor on the main lcore and inherit
 * its CPU set, so none lands on a worker lcore. Nothing here is reached
 * from the fast path.
 *
 * Losses: live, a full producer queue drops the record at once and a
 * failed delivery (brokers gone past delivery_timeout_ms, too large,
 * refused) drops it when reported; each is counted once, by reason
 * (sink/counters.def). A broker that goes away and comes back within the
 * timeout costs nothing: librdkafka queues and retries. Offline
 * (lossless), a full queue makes the sink wait up to delivery_timeout_ms;
 * close() waits for every delivery, and what is left is counted as
 * undelivered, which the run turns into a non-zero exit. A live close
 * waits at most stop_wait_ms, then counts the rest dropped_at_stop.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/counters.h"
#include "sink/sink.h"

namespace sink {

struct KafkaStats {
#define LOOM_COUNTERS_DEF "sink/counters.def"
#include "core/counters_body.inc"
};

struct KafkaSettings {
  std::string brokers;  // bootstrap.servers
  std::vector<std::pair<std::string, std::string>> properties;  // applied last, as given
  uint32_t delivery_timeout_ms = 30000;
  bool lossless = false;  // offline: wait instead of dropping on a full queue
  // Live, a stop waits at most this long for the brokers (then counts the
  // rest dropped_at_stop): a shutdown must not hang on an absent cluster.
  // Offline it waits the whole delivery timeout.
  uint32_t stop_wait_ms = 5000;
};

/* A record's Kafka key (empty: none). */
using KeyFn = std::string (*)(const void* record);

class KafkaProducer {
 public:
  /* Creates the producer (it connects in the background). Throws
   * std::runtime_error with librdkafka's reason for a bad property. */
  explicit KafkaProducer(KafkaSettings s);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  /* A writer for one topic (FileSpec::writer). Before the sink starts. */
  std::shared_ptr<Writer> topic(const std::string& name, KeyFn key);

  /* Waits for every record in flight (offline: up to the delivery
   * timeout; live: up to stop_wait_ms), then drops and counts what is
   * left. Idempotent. Main lcore, sink thread stopped. */
  void flush();

  /* Records of every topic not delivered (every dropped_* reason). */
  uint64_t undelivered() const;
  uint64_t records() const;
  const std::string& brokers() const { return s_.brokers; }
  const std::string& first_error() const { return first_error_; }
  /* Keeps the first failure's reason for the log (sink thread). */
  void note_error(int rd_kafka_resp_err);

  struct Topic;

 private:
  friend struct Topic;
  void poll(int ms);
  KafkaSettings s_;
  void* rk_ = nullptr;  // rd_kafka_t
  std::vector<std::shared_ptr<Topic>> topics_;
  bool flushed_ = false;
  std::string first_error_;
};

/* Checks one librdkafka property (name and value) as the producer would
 * take it; "" if fine, else librdkafka's reason. Control path. */
std::string kafka_check_property(const std::string& name, const std::string& value);

}  // namespace sink
