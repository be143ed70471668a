/* ctl/config: the startup file, parsed once into an immutable Config.
 *
 * Everything Loom needs is in one TOML file, EAL settings included (see
 * docs/configuration.md for every key). load_config() rejects, all at once
 * and each with file:line:column and a sentence saying what is allowed:
 * TOML syntax errors, unknown keys, wrong types, out-of-range values and
 * impossible combinations (a worker lcore outside the lcore set, a pair
 * naming a missing port, more queues than a virtual PMD allows, a queue no
 * worker polls...). Workers never see the TOML tree, only Config.
 *
 * Control path only: throws ConfigErrors, allocates freely.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "flow/flow.h"
#include "inspect/stage.h"
#include "match/match.h"
#include "mirror/prober.h"
#include "reasm/reasm.h"
#include "port/port.h"
#include "port/steer.h"
#include "sink/dir.h"

namespace ctl {

struct Where {
  uint32_t line = 0;
  uint32_t column = 0;
};

struct ConfigError {
  std::string file;
  Where at;
  std::string message;
  std::string str() const;  // "file:line:column: message"
};

struct ConfigErrors : std::runtime_error {
  explicit ConfigErrors(std::vector<ConfigError> e);
  std::vector<ConfigError> errors;
};

enum class Mode { kInline, kPassive, kOffline };
enum class Memory { kHugepages, kNoHuge, kInMemory };

const char* mode_name(Mode m) noexcept;
const char* memory_name(Memory m) noexcept;

struct EalConfig {
  std::string lcores = "0-1";         // EAL --lcores syntax
  std::vector<unsigned> lcore_ids;    // the lcores that string names
  unsigned main_lcore = 0;
  Memory memory = Memory::kInMemory;
  unsigned memory_mb = 0;             // 0: EAL's default, or automatic for no-huge
  std::string file_prefix = "loom";
  std::vector<std::string> vdevs;     // extra vdevs that are not Loom ports
  std::vector<std::string> extra_args;
  bool telemetry = true;
};

struct PortConfig {
  port::PortSpec spec;
  Where at;           // the [[ports]] table
  Where rx_queues_at;
  Where device_at;
  int peer = -1;      // index of the paired port (inline), or -1
};

struct QueueRef {
  uint16_t port = 0;   // index into Config::ports
  uint16_t queue = 0;
};

struct WorkerSpec {
  unsigned lcore = 0;
  std::vector<QueueRef> queues;
  Where at;
};

/* The sections the inspection libraries read keep one default per
 * setting, the library's own (flow::TableConfig, reasm::Limits,
 * inspect::Config, mirror::ProberConfig), here in the file's units;
 * ctl::stage_config and ctl::prober_config convert back, and plan_test and
 * tests/ctl/collectors_test.cc check that the defaults survive the round
 * trip. */
namespace defaults {
// Functions, not globals: a Config built during static initialisation
// must not read them before they exist.
inline const flow::TableConfig& table() {
  static const flow::TableConfig c;
  return c;
}
inline const reasm::Limits& reassembly() {
  static const reasm::Limits c;
  return c;
}
inline const inspect::Config& stage() {
  static const inspect::Config c;
  return c;
}
inline const mirror::ProberConfig& prober() {
  static const mirror::ProberConfig c;
  return c;
}
}  // namespace defaults

struct FlowConfig {
  uint32_t max_flows_per_worker = defaults::table().max_flows;
  uint32_t timeout_new_s = uint32_t(defaults::table().timeouts.new_ns / 1000000000ull);
  uint32_t timeout_established_s = uint32_t(defaults::table().timeouts.established_ns / 1000000000ull);
  uint32_t timeout_closed_s = uint32_t(defaults::table().timeouts.closed_ns / 1000000000ull);
  bool evict_when_full = defaults::table().evict_when_full;
  uint32_t sweep_per_insert = defaults::table().sweep_per_insert;
  uint32_t sweep_per_idle_poll = defaults::table().sweep_per_idle;
};

struct ReassemblyConfig {
  uint32_t max_ofo_segments = defaults::reassembly().max_ofo_segments;  // per connection direction
  uint32_t max_ofo_bytes = defaults::reassembly().max_ofo_bytes;        // per connection direction
  uint32_t memcap_mb = uint32_t(defaults::reassembly().memcap_bytes >> 20);  // mbuf memory held per worker
  uint32_t gap_timeout_ms = uint32_t(defaults::reassembly().gap_timeout_ns / 1000000ull);
  uint32_t ack_gap_timeout_ms = uint32_t(defaults::reassembly().ack_gap_timeout_ns / 1000000ull);
};

struct HttpConfig {
  bool enabled = true;                  // frame HTTP/1.x, write messages.jsonl
  uint32_t capture_bytes = 16384;       // raw bytes kept per message (.gor); 0: none
  uint32_t capture_buffers = 2048;      // capture buffers per worker
  uint32_t max_header_bytes = defaults::stage().max_header_bytes;  // start line + headers; over it: cut
  // Carried into messages.jsonl's "headers" (lower case), within headers_bytes.
  uint32_t max_connections_per_worker = defaults::stage().http_conns;  // HTTP states held at once; 0: one per flow slot
  // Carried into messages.jsonl's "headers" (lower case), within headers_bytes.
  std::vector<std::string> headers = {"user-agent", "content-type", "x-forwarded-for"};
  uint32_t headers_bytes = 512;
};

/* [sensor]: who wrote a record, and the Community ID seed (lib/join). */
struct SensorConfig {
  std::string name;                     // default: the host name
  uint16_t community_id_seed = 0;
};

/* [outputs.kafka] (lib/sink/kafka.h). */
struct KafkaConfig {
  bool enabled = false;
  std::string brokers;                  // "host:port,..."
  std::string topic = "loom.http";      // messages
  std::string streams_topic;            // stream records; "": not sent
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka's, as given
  uint32_t delivery_timeout_ms = 30000; // a record undelivered this long is lost (counted)
};

struct OutputsConfig {
  std::string dir;                      // live runs' default --out
  bool streams = true;                  // streams.jsonl
  bool empty_all = false;               // empty_connections = "all": a record for every one
  uint32_t empty_sample = defaults::stage().empty_sample;  // ... else records for this many per worker, the rest counted
  uint32_t record_ring = defaults::stage().record_ring;
  uint32_t sink_threads = 1;            // formatting parallelism (oneTBB arena)
  bool messages = true;                 // messages.jsonl
  bool gor = true;                      // http.gor (needs http.capture_bytes)
  bool pcap = false;                    // packets.pcap: the connections whose messages are exported
  uint32_t pcap_snaplen = defaults::stage().pcap_snaplen;    // bytes kept per packet
  uint32_t pcap_lookback = defaults::stage().pcap_lookback;  // recent packets per worker kept for a late selection
  uint32_t rotate_mb = 0;               // http.gor / packets.pcap part size; 0: one file
  uint32_t rotate_seconds = 0;          // ... part age; 0: no limit
  bool gzip = false;                    // compress = "gzip": http.gor.gz, packets.pcap.gz
  sink::Existing existing = sink::Existing::kRefuse;  // an earlier run's files in dir
  uint32_t stats_seconds = 10;          // live: stats.json rewritten this often; 0: at exit only
  KafkaConfig kafka;
};

/* [metrics]: the Prometheus endpoint (lib/metrics). Off when listen is
 * empty. */
struct MetricsConfig {
  std::string listen;                   // "ADDR:PORT" ("[v6]:PORT"); "" off
  std::string host;                     // ADDR, brackets removed
  uint16_t port = 0;
};

/* [log]: how log lines look and what is logged on a timer. */
struct LogConfig {
  bool json = false;                    // format = "json": one object per line
  uint32_t summary_seconds = 60;        // one-line summary every N s while running; 0 off
  uint32_t link_poll_ms = 100;          // link status polled this often (live); 0 off
};

/* [decap]: which UDP ports carry tunnels and how deep parsing goes
 * (lib/pkt/parse.h). */
struct DecapConfig {
  uint32_t max_depth = 4;                       // tunnel layers entered
  std::vector<uint16_t> vxlan_ports = {4789};   // IANA VXLAN
  std::vector<uint16_t> geneve_ports = {6081};  // IANA GENEVE
};

/* [[collectors]]: remote mirror receivers Loom chooses between: name,
 * IPv4 address (host order), multiplier (effective latency = RTT x it). */
using CollectorConfig = mirror::Collector;

/* [probe]: how collectors are probed and chosen (lib/mirror/prober.h,
 * collectors.h), in the file's milliseconds. */
struct ProbeConfig {
  bool udp = defaults::prober().udp;    // method = "udp"; else ICMP echo
  uint16_t udp_port = defaults::prober().udp_port;
  // The best RTT is kept over this window.
  uint32_t window_ms = uint32_t(defaults::prober().choice.window_ns / 1000000);
  uint32_t full_every_ms = uint32_t(defaults::prober().choice.full_every_ns / 1000000);
  uint32_t incremental_every_ms = uint32_t(defaults::prober().choice.incremental_every_ns / 1000000);
  uint32_t timeout_ms = uint32_t(defaults::prober().timeout_ns / 1000000);
  uint32_t stagger_ms = uint32_t(defaults::prober().choice.stagger_ns / 1000000);
  // A better collector is faster by margin_ms and at most ratio x the current.
  uint32_t margin_ms = uint32_t(defaults::prober().choice.margin_ns / 1000000);
  double ratio = defaults::prober().choice.ratio;
  uint32_t lost_after = defaults::prober().choice.lost_after;  // timeouts in a row
  uint32_t tries = defaults::prober().choice.full_tries;     // probes per collector in a full round
};

/* [mirror]: where mirror rules send their flows' frames. */
struct MirrorConfig {
  bool enabled = false;
  std::string device;                   // a vdev spec or PCI address of its own
  enum class Encap : uint8_t { kRaw, kVxlan, kGre, kErspan } encap = Encap::kVxlan;
  uint32_t vni = 0;
  uint16_t session_id = 0;
  std::string src_mac, dst_mac;         // src: the port's own when empty
  uint32_t src_ip = 0, dst_ip = 0;      // host order
  uint16_t mtu = 1500;                  // outer IPv4 datagram (raw: the frame)
  uint32_t mbufs_per_worker = 4096;
  std::vector<CollectorConfig> collectors;  // empty: dst_ip/dst_mac, fixed
  ProbeConfig probe;
};

struct Config {
  std::string file;    // "" for offline runs without --config
  Mode mode = Mode::kInline;
  EalConfig eal;
  std::vector<PortConfig> ports;
  std::vector<WorkerSpec> workers;   // explicit, or derived (workers_auto)
  bool workers_auto = true;
  uint16_t burst = 32;
  uint32_t tx_drain_us = 100;
  bool inspect = true;               // false: plain relay, no per-packet work
  bool latency = false;              // RX-to-TX histogram per worker (core/latency.h)
  uint32_t mbufs = 0;                // 0: port::auto_pool_size
  uint32_t mempool_cache = 256;
  uint16_t mbuf_data_room = 2048 + 128;
  uint32_t offline_quiet_ms = 2000;
  // [worker] memory_mb: one memory budget per worker (0: none). The keys
  // it sizes, when the file leaves them out: flow.max_flows_per_worker and
  // reassembly.memcap_mb (ctl/plan.h, apply_memory_budget).
  uint32_t worker_memory_mb = 0;
  Where worker_memory_at;
  bool max_flows_given = false;
  bool memcap_given = false;
  std::string pcap;                  // offline input
  FlowConfig flow;
  ReassemblyConfig reasm;
  HttpConfig http;
  OutputsConfig outputs;
  port::SteerSpec steering;          // [steering]: service ports, the rest
  match::RuleSet rules;              // [rules] and [[rule]]
  MirrorConfig mirror;               // [mirror]
  DecapConfig decap;                 // [decap]
  SensorConfig sensor;               // [sensor]
  MetricsConfig metrics;             // [metrics]
  LogConfig log;                     // [log]

  /* Location of a port's key for run-time errors (queue limits of real
   * NICs are only known once EAL has probed them). */
  Where port_key_at(size_t port, std::string_view key) const;
};

/* Parses and validates a startup file. Throws ConfigErrors. */
Config load_config(const std::string& path);

/* Same, from text (tests); `file` names it in error messages. */
Config parse_config(std::string_view text, const std::string& file);

/* The configuration of an offline run: one net_pcap port reading `pcap`,
 * one lossless passive worker, no hugepages. Pipeline settings (worker,
 * mempool, offline and later sections) come from `base` when given; its
 * EAL, ports, pairs and workers do not apply offline. */
Config offline_config(const std::string& pcap, const Config* base);

/* Splits "ADDR:PORT" or "[V6ADDR]:PORT" of [metrics] listen. Throws
 * std::invalid_argument saying what is wrong. */
void parse_listen(const std::string& s, std::string& host, uint16_t& port);

/* Parses the EAL lcore syntax ("0-3", "0,2", "0@0,1@1,2@1", "(0,1)@0").
 * Throws std::invalid_argument. */
std::vector<unsigned> parse_lcores(const std::string& s);

}  // namespace ctl
