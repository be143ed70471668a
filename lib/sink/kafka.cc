#include "sink/kafka.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <librdkafka/rdkafka.h>

namespace sink {

namespace {

rd_kafka_t* rk_of(void* p) { return static_cast<rd_kafka_t*>(p); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct KafkaProducer::Topic : Writer {
  KafkaProducer* owner = nullptr;
  std::string name;
  KeyFn key = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  KafkaStats stats;

  bool open() override { return rkt != nullptr; }

  void write(const void* record, const std::string& text) override {
    stats.records.add(1);
    const std::string k = key ? key(record) : std::string();
    // The value is the JSON object, without the line's newline.
    const size_t n = !text.empty() && text.back() == '\n' ? text.size() - 1 : text.size();
    const int64_t t0 = owner->s_.lossless ? now_ms() : 0;
    for (;;) {
      const int rc = rd_kafka_produce(rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                      const_cast<char*>(text.data()), n,
                                      k.empty() ? nullptr : k.data(), k.size(), &stats);
      if (rc == 0) {
        stats.produced.add(1);
        stats.in_flight.add(1);
        break;
      }
      const rd_kafka_resp_err_t e = rd_kafka_last_error();
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && owner->s_.lossless &&
          now_ms() - t0 < int64_t(owner->s_.delivery_timeout_ms)) {
        owner->poll(100);  // offline: nothing may be lost while the brokers catch up
        continue;
      }
      owner->note_error(e);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) stats.dropped_queue_full.add(1);
      else if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) stats.dropped_too_large.add(1);
      else stats.dropped_failed.add(1);
      break;
    }
  }

  void poll() override { owner->poll(0); }

  bool close() override {
    owner->flush();
    return true;  // losses are counted, and the run decides what they mean
  }

  std::string where() const override { return "kafka://" + owner->s_.brokers + "/" + name; }

  void visit(const CounterFn& f) const override {
    stats.visit([&](const char* n, core::CounterKind k, const char* help, const core::Counter& c) {
      f(n, k, help, c.get());
    });
  }
};

void KafkaProducer::note_error(int err) {
  if (first_error_.empty())
    first_error_ = rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err));
}

namespace {

/* Delivery report, on the thread that polls (the sink's): every record
 * produced ends here exactly once, delivered or not. */
void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
  auto* st = static_cast<KafkaStats*>(m->_private);
  if (!st) return;
  st->in_flight.set(st->in_flight.get() - 1);
  switch (m->err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      st->delivered.add(1);
      st->delivered_bytes.add(m->len);
      return;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT: st->dropped_timed_out.add(1); break;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT: st->dropped_at_stop.add(1); break;
    default: st->dropped_failed.add(1); break;
  }
  static_cast<KafkaProducer*>(rd_kafka_opaque(rk))->note_error(m->err);
}

rd_kafka_conf_t* make_conf(const KafkaSettings& s, std::string& err) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char e[512];
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), e, sizeof e) != RD_KAFKA_CONF_OK) {
      if (err.empty()) err = k + " = \"" + v + "\": " + e;
      return false;
    }
    return true;
  };
  set("bootstrap.servers", s.brokers);
  // A record undelivered this long is lost (counted dropped_timed_out).
  set("message.timeout.ms", std::to_string(s.delivery_timeout_ms));
  // Loom's own log goes to stderr through rte_log; librdkafka's warnings
  // (brokers down) are useful there too, but not its debug chatter.
  set("log_level", "4");
  for (const auto& [k, v] : s.properties) set(k, v);
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  return conf;
}

}  // namespace

KafkaProducer::KafkaProducer(KafkaSettings s) : s_(std::move(s)) {
  std::string err;
  rd_kafka_conf_t* conf = make_conf(s_, err);
  if (!err.empty()) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error("[outputs.kafka] " + err);
  }
  rd_kafka_conf_set_opaque(conf, this);
  char e[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof e);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("[outputs.kafka]: cannot create the producer: ") + e);
  }
  rk_ = rk;
}

KafkaProducer::~KafkaProducer() {
  flush();
  for (auto& t : topics_)
    if (t->rkt) rd_kafka_topic_destroy(t->rkt);
  rd_kafka_destroy(rk_of(rk_));
}

std::shared_ptr<Writer> KafkaProducer::topic(const std::string& name, KeyFn key) {
  auto t = std::make_shared<Topic>();
  t->owner = this;
  t->name = name;
  t->key = key;
  t->rkt = rd_kafka_topic_new(rk_of(rk_), name.c_str(), nullptr);
  if (!t->rkt)
    throw std::runtime_error("[outputs.kafka]: topic \"" + name + "\": " +
                             rd_kafka_err2str(rd_kafka_last_error()));
  topics_.push_back(t);
  return t;
}

void KafkaProducer::poll(int ms) { rd_kafka_poll(rk_of(rk_), ms); }

void KafkaProducer::flush() {
  if (flushed_) return;
  flushed_ = true;
  // Offline, message.timeout.ms bounds every record, so this wait ends
  // with each delivered or reported; the margin covers the reports
  // themselves. Live, a stop waits less.
  const uint32_t wait = s_.lossless ? s_.delivery_timeout_ms + 1000
                                    : std::min(s_.stop_wait_ms, s_.delivery_timeout_ms + 1000);
  rd_kafka_flush(rk_of(rk_), int(wait));
  // Whatever is still queued (a property raised the timeout past ours) is
  // given up now, and its reports count it.
  rd_kafka_purge(rk_of(rk_), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  for (int i = 0; i < 50 && rd_kafka_outq_len(rk_of(rk_)) > 0; i++) rd_kafka_poll(rk_of(rk_), 20);
  rd_kafka_poll(rk_of(rk_), 0);
}

uint64_t KafkaProducer::undelivered() const {
  uint64_t n = 0;
  for (const auto& t : topics_) {
    const KafkaStats& s = t->stats;
    n += s.dropped_queue_full.get() + s.dropped_too_large.get() + s.dropped_timed_out.get() +
         s.dropped_failed.get() + s.dropped_at_stop.get() + s.in_flight.get();
  }
  return n;
}

uint64_t KafkaProducer::records() const {
  uint64_t n = 0;
  for (const auto& t : topics_) n += t->stats.records.get();
  return n;
}

std::string kafka_check_property(const std::string& name, const std::string& value) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char e[512] = {};
  const rd_kafka_conf_res_t r = rd_kafka_conf_set(conf, name.c_str(), value.c_str(), e, sizeof e);
  rd_kafka_conf_destroy(conf);
  return r == RD_KAFKA_CONF_OK ? std::string() : std::string(e);
}

}  // namespace sink
