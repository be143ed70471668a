/* ctl/runtime: what a running Loom is made of, as the control path sees
 * it: the config, the ports as set up, the workers and their counters.
 *
 * Built by app/ on the main lcore before workers launch and immutable in
 * shape afterwards; the telemetry thread and the stats writer read the
 * counters inside it without locks (core::Counter). Nothing here is
 * touched by the fast path except through the WorkerCtx each worker owns.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/worker.h"
#include "ctl/config.h"
#include "ctl/pcap_count.h"
#include "ctl/rules.h"
#include "inspect/stage.h"
#include "join/join.h"
#include "mirror/prober.h"
#include "sink/kafka.h"
#include "sink/sink.h"
#include "port/link.h"
#include "port/port.h"
#include "port/steer.h"

namespace ctl {

struct Runtime {
  Config cfg;
  std::string version;
  uint64_t start_tsc = 0;
  std::vector<port::PortState> ports;
  port::LinkWatch links;                      // live: every port's link, changes counted
  std::vector<uint16_t> link_types;           // by port id (pkt::LinkType); offline: the capture's
  uint32_t capture_snaplen = 0;               // offline: the capture's snap length (0: unknown)
  bool capture_cut = false;                   // offline: it has records cut shorter than the wire's
  std::vector<port::InstallReport> steering;  // per port: rte_flow rules and results
  int mirror_port = -1;                       // [mirror]'s port, -1 none
  mirror::EncapConfig mirror_base;            // the tunnel; collectors fill in their address
  std::unique_ptr<mirror::Prober> prober;     // [[collectors]]: probing and choice
  std::vector<uint16_t> ports_to_close;       // ports beyond `ports` (the mirror's)
  std::vector<std::unique_ptr<core::WorkerCtx>> workers;
  std::vector<std::unique_ptr<inspect::Stage>> stages;  // one per worker; none if !inspect
  // Declared before the sinks, which use them until they stop.
  join::Meta meta;                // sensor, Community ID seed, carried headers
  std::unique_ptr<sink::KafkaProducer> kafka;  // [outputs.kafka]
  sink::SinkSet sinks;            // streams.jsonl, messages.jsonl, Kafka
  // The operator's rules; mutable because a telemetry command may reload
  // them (RuleEngine locks).
  mutable RuleEngine rules;
  uint64_t capture_packets = 0;   // offline: records in the capture file
  bool capture_count_known = false;
  PcapDamage capture_damage;      // offline: a record header libpcap refuses (counting thread)
  std::string end_reason;         // offline: why the run ended
  // Set once ports, workers and stages exist; telemetry handlers answer
  // only then (the vectors above are being filled before).
  std::atomic<bool> ready{false};
};

}  // namespace ctl
