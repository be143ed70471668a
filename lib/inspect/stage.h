/* inspect: the worker's inspection stage, run on every RX burst before
 * the frames are relayed or freed: parse, steering (port/steer.h), bulk
 * flow lookup, TCP tracking and reassembly, HTTP framing, the operator's
 * rules (flow rules at a connection's first packet, then per message,
 * their verdicts applied to the flow), and the frames a drop withholds
 * from the relay (the burst hook returns how many to relay). The other
 * jobs have units of their own that the stage owns and calls: stream
 * fingerprints and records (streams.h), packets.pcap (pcap_out.h), mirror
 * copies (mirror_out.h), resets (reset.h). A connection is two records
 * found by one slot number: the flow table's (flow/flow.h) and the
 * stage's own (conn.h: reassembly, fingerprints, lookback, HTTP index);
 * the units get the parts they read from the stage.
 *
 * One Stage per worker, built on the main lcore at start-up (all memory:
 * flow table, connection records, OFO nodes, the HTTP pool, record pools
 * and rings, lookback, allocated there)
 * and then used only by its worker, except finish(), which the main lcore
 * calls once the worker has stopped. Records leave through single-producer
 * rings to the sink thread: the worker never does file I/O. A full ring
 * drops the record and counts it, except in lossless (offline) runs, where
 * the worker waits for the writer. What the control path changes at run
 * time (rules, the chosen collector) it offers through an atomic pointer
 * that the worker takes between bursts.
 *
 * Time: packets carry the PMD's RX timestamp where it has one (net_pcap:
 * the capture's), else the burst is stamped from the TSC once. Timeouts
 * and gap timers run on that clock, so an offline run is deterministic.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "core/counters.h"
#include "core/worker.h"
#include "core/channel.h"
#include "inspect/conn.h"
#include "inspect/mirror_out.h"
#include "inspect/pcap_out.h"
#include "inspect/stats.h"
#include "inspect/streams.h"
#include "flow/flow.h"
#include "http/http.h"
#include "match/match.h"
#include "pkt/parse.h"
#include "port/steer.h"
#include "reasm/reasm.h"
#include "tcp/track.h"

namespace inspect {

struct Config {
  flow::TableConfig table;
  reasm::Limits limits;
  uint32_t ofo_nodes = 65536;     // segments held at once per worker
  bool streams = true;            // fingerprint streams, emit records
  // Connections that never carried payload (no byte delivered, no gap, no
  // capture loss either way: a SYN flood's, a scan's) get records only up
  // to this many per worker; the rest are counted by end (Stats::empty_*).
  uint32_t empty_sample = 100;     // UINT32_MAX: every one
  bool http = true;               // frame HTTP/1.x (counters, telemetry)
  bool http_records = true;       // ... and make message records
  bool message_files = true;      // ... which a sink reads (else: only for pcap selection)
  uint32_t raw_bytes = 0;         // per message raw capture (for .gor); 0: none
  uint32_t raw_buffers = 0;       // capture buffers per worker
  uint32_t max_header_bytes = 65536;
  std::vector<std::string> carry_headers;  // [http] headers: carried into the records
  uint32_t carry_bytes = 0;               // ... within this many bytes per message
  uint32_t http_conns = 0;        // HTTP connection states per worker; 0: one per flow slot
  uint32_t record_ring = 16384;   // records in flight to the writer (each kind)
  bool pcap = false;              // packet records of the selected connections
  uint32_t pcap_snaplen = 2048;
  uint32_t pcap_lookback = 4096;  // recent packets kept for a selection made late
  uint32_t pcap_ring = 4096;      // packet records in flight to the writer
  bool reassemble = true;         // false: flows only (perf/pipeline's first stage)
  bool lossless = false;          // offline: wait for the writer, never drop
  bool idle_sweep = true;         // sweep on idle polls (off offline: determinism)
  port::SteerSpec steering;       // service ports: the rest is not tracked (or dropped)
  pkt::Decap decap;               // tunnels and depth; the link type comes per port (PortRss)
  MirrorOut mirror;
};

/* The rules a worker applies (match/match.h). */
using ActiveRules = match::Active;

/* RSS as programmed on one port, to spot flows hashed to another worker. */
struct PortRss {
  bool active = false;
  std::vector<uint8_t> key;
  std::vector<uint16_t> reta;
  std::vector<int16_t> queue_owner;  // worker id per RX queue, -1 none
  uint32_t ts_unit_ns = 0;           // RX timestamp unit; 0: no timestamps
  bool l4 = true;                    // ports are part of the hash input
  uint16_t link_type = pkt::kLinkEthernet;  // offline: the capture's (pkt::LinkType)
  uint32_t snaplen = 0;                      // offline: the capture's snap length (pkt::Decap)
  bool cut_records = false;                  // offline: the capture has records cut short
};

class Stage {
 public:
  Stage(const Config& cfg, unsigned worker, int socket, std::vector<PortRss> rss);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  static uint16_t burst_hook(void* self, core::WorkerCtx& w, const core::RxQueue& q,
                             rte_mbuf** pkts, uint16_t n);
  static void idle_hook(void* self, core::WorkerCtx& w);

  /* Ends every open flow with `why` (capture-end, shutdown). Main lcore,
   * after the worker stopped; `drain` is called when the ring is full. */
  void finish(flow::End why, void (*drain)(void*), void* drain_ctx);

  rte_ring* ring() const noexcept { return streams_ ? streams_->channel().ring() : nullptr; }
  rte_mempool* record_pool() const noexcept { return streams_ ? streams_->channel().pool() : nullptr; }
  rte_ring* message_ring() const noexcept { return messages_.ring(); }
  rte_mempool* message_pool() const noexcept { return messages_.pool(); }
  /* Rules: the control path offers a set (or nullptr: none); the worker
   * takes it at its next poll and reports the generation it runs. Until
   * then the previous set must stay alive. */
  void offer_rules(const ActiveRules* r) noexcept { offered_.store(r, std::memory_order_release); }
  uint64_t rules_generation() const noexcept { return rules_seen_.load(std::memory_order_acquire); }
  bool has_raw() const noexcept { return raw_.open(); }
  /* Collectors: where mirror copies go from the next burst on (nullptr:
   * nowhere yet). The target must outlive the stage's use of it. */
  void offer_collector(const CollectorTarget* t) noexcept {
    mirror_.offer(t);
  }

  rte_ring* packet_ring() const noexcept { return pcap_ ? pcap_->channel().ring() : nullptr; }
  rte_mempool* packet_pool() const noexcept { return pcap_ ? pcap_->channel().pool() : nullptr; }
  /* Gives a record (or capture buffer) back to the pool it came from. */
  static void put(void* obj) noexcept { core::Channel::put(obj); }
  /* For the sink: gives a written message's raw buffer back. */
  static void release_message(void* self, void* message);
  const flow::Table& table() const noexcept { return *table_; }
  /* What a tracked connection costs, for the memory plan and telemetry:
   * its flow (record, index, free stack) and its connection record (with
   * fingerprints when streams.jsonl is written); and a framed one's HTTP
   * state on top, from the pool. */
  static constexpr size_t bytes_per_flow(bool streams) noexcept {
    return flow::Table::bytes_per_flow() + Conns::stride(streams);
  }
  static constexpr size_t bytes_per_http() noexcept { return sizeof(http::Conn) + sizeof(uint32_t); }
  size_t bytes_per_flow() const noexcept { return bytes_per_flow(streams_ != nullptr); }
  bool frames_http() const noexcept { return http_ != nullptr; }
  /* The inspection's record of a flow of table() (a torn read from
   * another thread: telemetry only). */
  const Conn& record(const flow::Flow& f) const noexcept { return conns_.at(table_->index_of(f)); }
  uint64_t clock_ns() const noexcept { return clock_ns_; }

  mirror::Stats mirror_stats;
  pkt::Stats pkt_stats;
  flow::TableStats flow_stats;
  reasm::Stats reasm_stats;
  http::Stats http_stats;
  tcp::Stats tcp_stats;
  Stats stats;

 private:
  /* One burst's working set, on the worker's stack: every frame's parse
   * and what a drop withholds; the TCP ones' keys, directions and lookup
   * results, in arrival order. */
  struct Burst {
    pkt::Parsed parsed[core::kBurst];
    uint8_t drop[core::kBurst];  // 0, or 1 + core::Drop: withheld from the relay
    bool any_drop = false;
    flow::Key keys[core::kBurst];
    const flow::Key* kp[core::kBurst];
    uint8_t dirs[core::kBurst];
    uint16_t which[core::kBurst];  // frame index of each TCP packet
    int32_t pos[core::kBurst];
    uint32_t nt = 0;               // TCP packets to track
  };

  uint16_t burst(core::WorkerCtx& w, const core::RxQueue& q, rte_mbuf** pkts, uint16_t n) noexcept;
  /* Parses and steers every frame; collects the keys of the tracked ones. */
  [[gnu::always_inline]] void classify(const core::RxQueue& q, rte_mbuf** pkts, uint16_t n, Burst& b) noexcept;
  /* The PMD's RX timestamp where it has one, else the burst's TSC time
   * (taken once); advances the stage clock. */
  [[gnu::always_inline]] uint64_t packet_time(const core::RxQueue& q, const rte_mbuf* m, uint64_t& burst_ts) noexcept;
  /* The flow of TCP packet j: found, or created (nullptr: not tracked);
   * `slot` its table slot, which is its connection record's too. */
  [[gnu::always_inline]] flow::Flow* resolve(const core::RxQueue& q, const Burst& b, uint32_t j, uint64_t ts,
                                             uint32_t& slot) noexcept;
  /* A dropped connection's frame: withheld, or replaced by a reset once. */
  void drop_packet(core::WorkerCtx& w, const core::RxQueue& q, Burst& b, uint16_t i,
                   flow::Flow& f, rte_mbuf** pkts, uint64_t ts) noexcept;
  /* Frees the frames drop[] marks, counting each under its reason, and
   * returns how many are left (moved to the front, in order). */
  uint16_t withhold(core::WorkerCtx& w, rte_mbuf** pkts, uint16_t n, const uint8_t* drop) noexcept;
  void tcp(flow::Flow& f, Conn& r, int dir, rte_mbuf* m, const pkt::Parsed& p, uint64_t ts) noexcept;
  [[gnu::always_inline]] uint32_t handshake(flow::Flow& f, Conn& r, int dir, const pkt::Parsed& p,
                                            const tcp::Decision& d, uint64_t ts) noexcept;
  void flags_only(flow::Flow& f, Conn& r, int dir, const pkt::Parsed& p, uint8_t fl,
                  uint64_t ts) noexcept;
  [[gnu::always_inline]] void reassemble(flow::Flow& f, Conn& r, int dir, rte_mbuf* m,
                                         const pkt::Parsed& p, uint8_t fl, uint32_t seq,
                                         uint64_t ts) noexcept;
  /* The flow table makes no decisions of its own: the stage ends what its
   * sweep found due (and checks the timers of the rest), gives up the
   * least recent flow when full, then inserts. */
  void sweep(uint32_t budget) noexcept;
  flow::Flow* admit(const flow::Key& k) noexcept;
  void check_timers(flow::Flow& f) noexcept;
  void start_connection(flow::Flow& f, uint64_t ts) noexcept;
  void renew(flow::Flow& f, uint64_t ts) noexcept;
  void end_connection(flow::Flow& f, flow::End why, uint64_t ts) noexcept;
  /* packets.pcap (inspect/pcap_out.h): without HTTP framing every
   * connection is selected; with it, a connection one of whose messages
   * was exported. */
  void pcap_packet(flow::Flow& f, Conn& r, rte_mbuf* m, uint64_t ts) noexcept;
  void pcap_check(flow::Flow& f, Conn& r) noexcept;  // selects f if its connection asks for it

  /* The connection's record (inspect/conn.h): the slot of its flow. */
  Conn& record(const flow::Flow& f) noexcept { return conns_.at(table_->index_of(f)); }
  /* HTTP state is a connection's only from its first payload byte to its
   * end: taken from the worker's pool then (nullptr: the pool is empty,
   * counted, the connection is not framed), given back at its end. */
  http::Conn* http_of(const Conn& r) noexcept {
    return r.http && r.http != Conn::kNoHttp ? &http_[r.http - 1] : nullptr;
  }
  http::Conn* take_http(Conn& r) noexcept;
  void give_http(Conn& r) noexcept;
  bool wrong_core(const core::RxQueue& q, const pkt::Parsed& p) const noexcept;
  void take_rules() noexcept;
  void judge_flow(flow::Flow& f) noexcept;
  void act_on(flow::Flow& f, bool drop, bool reject, bool mirror) noexcept;
  [[gnu::always_inline]] void apply_verdicts(flow::Flow& f, const http::Conn& c) noexcept;
  uint64_t tsc_clock() const noexcept;

  /* After every reassembly call: what it delivered. Most calls deliver
   * nothing, and cost a test; most of the rest deliver the packet's own
   * bytes in one piece, lending nothing, and go straight to the readers. */
  void consume() noexcept {
    const std::span<const reasm::Span> d = reasm_->delivered();
    if (d.empty()) return;
    if (d.size() == 1 && !d[0].hole && !d[0].m && readers_ && !reasm_->lent()) {
      flow::Flow& f = *static_cast<flow::Flow*>(d[0].owner);
      stream_data(f, record(f), d[0].dir, d[0].p, d[0].len);
      reasm_->clear_delivered();
      return;
    }
    consume_deliveries();
  }
  void consume_deliveries() noexcept;
  void stream_data(flow::Flow& f, Conn& r, int dir, const uint8_t* p, uint32_t len) noexcept;
  void stream_gap(flow::Flow& f, Conn& r, int dir, uint32_t lost) noexcept;

  Config cfg_;
  unsigned worker_;
  std::unique_ptr<flow::Table> table_;
  Conns conns_;                       // one record per flow slot (held here: one load less per packet)
  std::unique_ptr<reasm::Reassembler> reasm_;
  std::unique_ptr<Streams> streams_;  // fingerprints and streams.jsonl, only with streams
  std::unique_ptr<PcapOut> pcap_;     // packets.pcap, only with pcap
  core::Channel messages_, raw_;      // message records and their capture buffers
  bool readers_ = false;            // streams_ or http_: someone reads delivered bytes
  http::Conn* http_ = nullptr;      // the pool of HTTP connection states, only with http
  uint32_t* http_free_ = nullptr;   // stack of free pool indices
  uint32_t n_http_ = 0, n_http_free_ = 0;
  std::unique_ptr<http::Framer> framer_;
  uint64_t data_ts_ = 0;            // timestamp of the packet being reassembled
  std::vector<PortRss> rss_;
  std::vector<pkt::Decap> decap_;   // per port: cfg_.decap with the port's link type
  port::Steer steer_;
  std::atomic<const ActiveRules*> offered_{nullptr};
  const ActiveRules* rules_ = nullptr;  // the worker's: what it applies now
  std::atomic<uint64_t> rules_seen_{0};
  MirrorSend mirror_;                   // mirror copies of the flows rules chose
  int ts_offset_ = -1;              // mbuf dynfield of the RX timestamp
  uint64_t ts_flag_ = 0;
  uint64_t clock_ns_ = 0;           // latest time seen
  bool packet_clock_ = false;       // time comes from packets (capture replay)
  uint64_t tsc0_ = 0, wall0_ns_ = 0;
  double ns_per_tsc_ = 0;
  core::Waiting waiting_;           // what a full channel does (core/channel.h)
};

}  // namespace inspect
