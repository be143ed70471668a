// The sink side alone: how many message records per second one sink
// thread formats (join::message_line, as Loom writes them) and hands to
// an output, with nothing else running: a producer thread keeps a ring
// full of realistic records, as a worker's message ring would be.
//
//   sink_bench --records N --output files|kafka|both [--brokers B] [--dir D]
//              [--property k=v]...
//
// The clock stops when SinkSet::stop() returns: every file flushed and
// fsynced, every Kafka record acknowledged (or counted lost). Prints one
// JSON line: records, seconds, records_per_second, bytes_per_record,
// delivered (Kafka).
#include <rte_eal.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "join/join.h"
#include "sink/kafka.h"
#include "sink/sink.h"

namespace {

void fill(http::Message& m, uint64_t i) {
  std::memset(static_cast<void*>(&m), 0, offsetof(http::Message, uri));
  m.key.ipver = 4;
  const uint32_t a = 0x0a000000u | uint32_t(i / 10 % 65536), b = 0xc0a80101u;
  std::memcpy(m.key.a, &a, 4);
  std::memcpy(m.key.b, &b, 4);
  m.key.pa = uint16_t(1024 + i / 10 % 60000);
  m.key.pb = 80;
  m.request = i % 2 == 0;
  m.index = uint32_t(i / 2 % 5);
  for (int k = 0; k < 12; k++) m.id[k] = uint8_t(i >> (k % 8 * 8));
  m.conn_id = (i / 10) * 0x9E3779B97F4A7C15ull;
  std::strcpy(m.method, "GET");
  const int n = std::snprintf(m.uri, sizeof m.uri, "/api/v1/items/%llu?page=2", (unsigned long long)i);
  m.uri_len = uint16_t(n);
  std::strcpy(m.host, "shop.example.com");
  m.host_len = 16;
  m.status = 200;
  m.body_len = 1234;
  m.ts_first_ns = 1700000000000000000ull + i * 1000;
  m.ts_last_ns = m.ts_first_ns + 500;
  m.latency_ns = m.request ? -1 : 20000;
  m.raw = nullptr;
  m.rule[0] = m.tag[0] = 0;
  const char* ua = "Mozilla/5.0 (X11; Linux x86_64) curl/8.1";
  const size_t ul = std::strlen(ua);
  m.hdrs[0] = 0;
  m.hdrs[1] = uint8_t(ul);
  m.hdrs[2] = 0;
  std::memcpy(m.hdrs + 3, ua, ul);
  m.hdrs_len = uint16_t(3 + ul);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 200000;
  std::string output = "files", brokers, dir = "/tmp";
  std::vector<std::pair<std::string, std::string>> props;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--records") records = std::strtoull(v.c_str(), nullptr, 10);
    else if (a == "--output") output = v;
    else if (a == "--brokers") brokers = v;
    else if (a == "--dir") dir = v;
    else if (a == "--property" && v.find('=') != std::string::npos)
      props.emplace_back(v.substr(0, v.find('=')), v.substr(v.find('=') + 1));
    else {
      std::fprintf(stderr, "usage: sink_bench --records N --output files|kafka|both [--brokers B] [--dir D] [--property k=v]\n");
      return 2;
    }
  }
  const std::string prefix = "--file-prefix=sinkb" + std::to_string(getpid());
  std::vector<std::string> eal = {"sink_bench", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry",
                                  "-l", "0", prefix.c_str(), "--log-level=warning"};
  std::vector<char*> ev;
  for (auto& s : eal) ev.push_back(s.data());
  if (rte_eal_init(int(ev.size()), ev.data()) < 0) return 1;

  const unsigned ring_size = 16384;
  rte_ring* ring = rte_ring_create("sinkb", ring_size, 0, RING_F_SP_ENQ | RING_F_SC_DEQ);
  rte_mempool* pool = rte_mempool_create("sinkb", ring_size * 2, sizeof(http::Message), 256, 0,
                                         nullptr, nullptr, nullptr, nullptr, 0, 0);
  if (!ring || !pool) return 1;

  join::Meta meta{"bench-sensor", 0, {"user-agent", "content-type", "x-forwarded-for"}};
  const sink::Format line = [&meta](const void* r) {
    return join::message_line(*static_cast<const http::Message*>(r), meta);
  };
  std::unique_ptr<sink::KafkaProducer> kafka;
  std::vector<sink::FileSpec> files;
  if (output == "files" || output == "both")
    files.push_back({"messages", dir + "/sink_bench_messages.jsonl", line});
  if (output == "kafka" || output == "both") {
    kafka = std::make_unique<sink::KafkaProducer>(sink::KafkaSettings{brokers, props, 60000, true});
    sink::FileSpec k{"kafka", "", line};
    if (!files.empty()) k.text_of = 0;  // as Loom does: messages.jsonl's text
    k.writer = kafka->topic("loom.http", [](const void* r) {
      return join::conn_key(static_cast<const http::Message*>(r)->conn_id);
    });
    files.push_back(std::move(k));
  }
  sink::SinkSet sinks;
  if (!sinks.add(files, {{ring, pool, nullptr, nullptr}})) return 1;

  const auto t0 = std::chrono::steady_clock::now();
  sinks.start(1);
  // The producer: what a worker does, minus the packets.
  for (uint64_t i = 0; i < records;) {
    void* obj;
    if (rte_mempool_get(pool, &obj) != 0) {
      std::this_thread::yield();
      continue;
    }
    fill(*static_cast<http::Message*>(obj), i);
    while (rte_ring_sp_enqueue(ring, obj) != 0) std::this_thread::yield();
    i++;
  }
  while (rte_ring_count(ring)) std::this_thread::sleep_for(std::chrono::microseconds(100));
  sinks.stop();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t bytes = 0, written = 0;
  for (const auto& v : sinks.outputs()) {
    bytes = v.stats->bytes.load();
    written = v.stats->lines.load();
  }
  std::printf("{\"output\":\"%s\",\"records\":%llu,\"seconds\":%.3f,\"records_per_second\":%.0f,"
              "\"bytes_per_record\":%.1f,\"undelivered\":%llu}\n",
              output.c_str(), (unsigned long long)records, secs, double(records) / secs,
              written ? double(bytes) / double(written) - 1 : 0.0,
              (unsigned long long)(kafka ? kafka->undelivered() : 0));
  std::remove((dir + "/sink_bench_messages.jsonl").c_str());
  rte_eal_cleanup();
  return kafka && kafka->undelivered() ? 1 : 0;
}
