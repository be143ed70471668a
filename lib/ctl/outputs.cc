#include "ctl/outputs.h"

#include <cerrno>
#include <cstring>

#include "core/log.h"
#include "join/format.h"

namespace ctl {

std::string open_outputs(Runtime& rt, const std::vector<inspect::Stage*>& stages,
                         const std::string& dir) {
  const Config& c = rt.cfg;
  if (!c.inspect) return {};
  std::vector<sink::Source> stream_src, message_src, packet_src;
  for (inspect::Stage* st : stages) {
    packet_src.push_back({st->packet_ring(), st->packet_pool(), nullptr, nullptr});
    stream_src.push_back({st->ring(), st->record_pool(), nullptr, nullptr});
    message_src.push_back(
        {st->message_ring(), st->message_pool(), &inspect::Stage::release_message, st});
  }
  // The records' lines carry the join fields (lib/join): sensor, seed
  // and header names are fixed from here on.
  rt.meta.sensor = c.sensor.name.empty() ? join::host_name() : c.sensor.name;
  rt.meta.seed = c.sensor.community_id_seed;
  if (c.http.headers_bytes) rt.meta.headers = c.http.headers;
  const join::Meta* meta = &rt.meta;
  const sink::Format stream_json = [meta](const void* r) {
    return join::stream_line(*static_cast<const inspect::StreamRecord*>(r), *meta);
  };
  const sink::Format msg_json = [meta](const void* r) {
    return join::message_line(*static_cast<const http::Message*>(r), *meta);
  };
  const sink::Format msg_gor = [](const void* r) {
    return join::message_gor(*static_cast<const http::Message*>(r));
  };
  // [outputs.kafka]: one producer, started here on the main lcore so its
  // threads share the main lcore's CPUs, never a worker's.
  std::shared_ptr<sink::Writer> kafka_msgs, kafka_streams;
  if (c.outputs.kafka.enabled) {
    const ctl::KafkaConfig& kc = c.outputs.kafka;
    try {
      rt.kafka = std::make_unique<sink::KafkaProducer>(sink::KafkaSettings{
          kc.brokers, kc.properties, kc.delivery_timeout_ms, c.mode == ctl::Mode::kOffline});
      const sink::KeyFn msg_key = [](const void* r) {
        return join::conn_key(static_cast<const http::Message*>(r)->conn_id);
      };
      const sink::KeyFn stream_key = [](const void* r) {
        return join::conn_key(static_cast<const inspect::StreamRecord*>(r)->conn_id);
      };
      if (c.http.enabled) kafka_msgs = rt.kafka->topic(kc.topic, msg_key);
      if (c.outputs.streams && !kc.streams_topic.empty())
        kafka_streams = rt.kafka->topic(kc.streams_topic, stream_key);
      LOOM_LOG(INFO, "kafka: brokers %s, topic %s%s%s, delivery timeout %u ms", kc.brokers.c_str(),
               kc.topic.c_str(), kafka_streams ? ", streams topic " : "",
               kafka_streams ? kc.streams_topic.c_str() : "", kc.delivery_timeout_ms);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  // Every output rotates by size and age alike; the bulky ones (.gor,
  // pcap) may also be compressed, the JSON Lines stay readable by jq.
  sink::FileOptions bulk;
  bulk.rotate_bytes = uint64_t(c.outputs.rotate_mb) << 20;
  bulk.rotate_seconds = c.outputs.rotate_seconds;
  sink::FileOptions lines = bulk;
  bulk.gzip = c.outputs.gzip;
  std::vector<sink::FileSpec> stream_files;
  if (c.outputs.streams && !dir.empty())
    stream_files.push_back({"streams", dir + "/streams.jsonl", stream_json, lines});
  if (kafka_streams) {
    sink::FileSpec k{"kafka_streams", "", stream_json};
    k.writer = kafka_streams;
    if (!stream_files.empty()) k.text_of = 0;  // streams.jsonl's lines
    stream_files.push_back(std::move(k));
  }
  if (!stream_files.empty() && !rt.sinks.add(stream_files, stream_src))
    return "cannot create " + dir + "/streams.jsonl: " + std::strerror(errno);
  std::vector<sink::FileSpec> msg_files;
  if (c.outputs.messages && !dir.empty())
    msg_files.push_back({"messages", dir + "/messages.jsonl", msg_json, lines});
  if (c.outputs.gor && c.http.capture_bytes && !dir.empty())
    msg_files.push_back({"gor", dir + "/http.gor", msg_gor, bulk});
  if (kafka_msgs) {
    sink::FileSpec k{"kafka", "", msg_json};
    k.writer = kafka_msgs;
    if (c.outputs.messages && !dir.empty()) k.text_of = 0;  // messages.jsonl's lines
    msg_files.push_back(std::move(k));
  }
  if (c.http.enabled && !msg_files.empty() && !rt.sinks.add(msg_files, message_src))
    return "cannot create the message outputs in " + dir + ": " + std::strerror(errno);
  if (c.outputs.pcap && !dir.empty()) {
    sink::FileOptions po = bulk;
    po.header = join::pcap_file_header(c.outputs.pcap_snaplen);
    const sink::Format pcap_rec = [](const void* r) {
      return join::pcap_record(*static_cast<const inspect::PacketRecord*>(r));
    };
    if (!rt.sinks.add({{"pcap", dir + "/packets.pcap", pcap_rec, po}}, packet_src))
      return "cannot create " + dir + "/packets.pcap: " + std::strerror(errno);
  }
  return {};
}

}  // namespace ctl
