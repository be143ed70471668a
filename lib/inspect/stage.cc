#include "inspect/stage.h"

#include <time.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <rte_cycles.h>
#include "core/mem.h"
#include <rte_mbuf_dyn.h>

#include "http/client_hint.h"
#include "http/judge.h"
#include "inspect/reset.h"
#include "port/rss.h"

namespace inspect {

using tcp::kAck, tcp::kFin, tcp::kRst, tcp::kSyn;

Stage::Stage(const Config& cfg, unsigned worker, int socket, std::vector<PortRss> rss)
    : cfg_(cfg), worker_(worker), conns_(cfg.table.max_flows, cfg.streams, worker, socket),
      rss_(std::move(rss)), steer_(cfg.steering),
      mirror_(cfg.mirror, worker, &stats, &mirror_stats) {
  table_ = std::make_unique<flow::Table>(cfg.table, worker, socket, &flow_stats);
  waiting_.lossless = cfg.lossless;
  waiting_.grown = &stats.pool_grown;
  reasm_ = std::make_unique<reasm::Reassembler>(cfg.limits, cfg.ofo_nodes, &reasm_stats);
  if (cfg.streams)
    streams_ = std::make_unique<Streams>(cfg.record_ring, cfg.empty_sample, worker, socket, &waiting_,
                                         &stats);
  if (cfg.http) {
    n_http_ = cfg.http_conns ? std::min(cfg.http_conns, cfg.table.max_flows) : cfg.table.max_flows;
    http_ = static_cast<http::Conn*>(
        core::mem::zalloc("loom_http_conns", sizeof(http::Conn) * size_t(n_http_), socket));
    http_free_ = static_cast<uint32_t*>(
        core::mem::zalloc("loom_http_conn_free", sizeof(uint32_t) * size_t(n_http_), socket));
    for (uint32_t i = 0; http_free_ && i < n_http_; i++) http_free_[i] = n_http_ - 1 - i;
    n_http_free_ = n_http_;
    if (!http_ || !http_free_)
      throw std::runtime_error("cannot allocate HTTP parser state for worker " +
                               std::to_string(worker) + "; raise eal.memory_mb");
    messages_.open("loom_msgs_" + std::to_string(worker), sizeof(http::Message), socket,
                   cfg.record_ring, &waiting_, &http_stats.records_dropped);
    messages_.caller_counts();
    if (cfg.raw_bytes && cfg.raw_buffers) {
      raw_.open_pool("loom_raw_" + std::to_string(worker), cfg.raw_bytes, socket, cfg.raw_buffers,
                     &waiting_, &http_stats.raw_dropped);
      raw_.caller_counts();
    }
    http::Records rec;
    // No reader for the records (no output asked for them): frame and
    // count, but make none; a lossless worker would otherwise wait forever.
    if (cfg.http_records) rec.messages = &messages_;
    if (raw_.open() && cfg.http_records) {
      rec.raw = &raw_;
      rec.raw_cap = cfg.raw_bytes;
    }
    rec.files = cfg.message_files;
    framer_ = std::make_unique<http::Framer>(&http_stats, rec, cfg.max_header_bytes);
    framer_->set_carry(cfg.carry_headers, cfg.carry_bytes);
  }
  if (cfg.pcap)
    pcap_ = std::make_unique<PcapOut>(cfg.pcap_snaplen, cfg.pcap_lookback, cfg.pcap_ring, worker,
                                      socket, &waiting_, &stats);
  readers_ = streams_ || http_;
  ts_offset_ = rte_mbuf_dynfield_lookup(RTE_MBUF_DYNFIELD_TIMESTAMP_NAME, nullptr);
  const int bit = rte_mbuf_dynflag_lookup(RTE_MBUF_DYNFLAG_RX_TIMESTAMP_NAME, nullptr);
  ts_flag_ = bit >= 0 && ts_offset_ >= 0 ? 1ull << bit : 0;
  for (const PortRss& p : rss_) packet_clock_ |= p.ts_unit_ns != 0;
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  wall0_ns_ = uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
  tsc0_ = rte_rdtsc();
  ns_per_tsc_ = 1e9 / double(rte_get_tsc_hz());
  for (const PortRss& p : rss_) {
    decap_.push_back(cfg_.decap);
    decap_.back().link = p.link_type;
    decap_.back().snaplen = p.snaplen;
    decap_.back().cut_records = p.cut_records;
  }
}

void Stage::release_message(void* self, void* message) {
  auto* m = static_cast<http::Message*>(message);
  (void)self;
  if (m->raw) put(m->raw);
}

http::Conn* Stage::take_http(Conn& r) noexcept {
  if (r.http == Conn::kNoHttp) return nullptr;
  if (!n_http_free_) {
    http_stats.conns_exhausted.add(1);
    r.http = Conn::kNoHttp;
    return nullptr;
  }
  const uint32_t i = http_free_[--n_http_free_];
  std::memset(static_cast<void*>(&http_[i]), 0, sizeof(http::Conn));  // all-zero: not started
  r.http = i + 1;
  http_stats.conns_in_use.set(n_http_ - n_http_free_);
  return &http_[i];
}

void Stage::give_http(Conn& r) noexcept {
  if (r.http && r.http != Conn::kNoHttp) {
    http_free_[n_http_free_++] = r.http - 1;
    http_stats.conns_in_use.set(n_http_ - n_http_free_);
  }
  r.http = 0;
}

Stage::~Stage() {
  table_.reset();
  reasm_.reset();
  core::mem::free(http_);
  core::mem::free(http_free_);
}

uint64_t Stage::tsc_clock() const noexcept {
  return wall0_ns_ + uint64_t(double(rte_rdtsc() - tsc0_) * ns_per_tsc_);
}

uint16_t Stage::burst_hook(void* self, core::WorkerCtx& w, const core::RxQueue& q,
                           rte_mbuf** pkts, uint16_t n) {
  return static_cast<Stage*>(self)->burst(w, q, pkts, n);
}

void Stage::idle_hook(void* self, core::WorkerCtx&) {
  Stage& s = *static_cast<Stage*>(self);
  s.take_rules();
  if (s.cfg_.idle_sweep) {
    // Without RX timestamps the clock is the TSC's; with them (a capture
    // replayed through net_pcap) it only moves with traffic, so a quiet
    // capture does not age its flows.
    if (!s.packet_clock_) s.clock_ns_ = s.tsc_clock();
    s.sweep(s.cfg_.table.sweep_per_idle);
  }
  s.reasm_->commit();  // what the sweep delivered
}

void Stage::sweep(uint32_t budget) noexcept {
  flow::Sweep out;
  while (budget && table_->active()) {
    const uint32_t step = budget < flow::Sweep::kMax ? budget : flow::Sweep::kMax;
    table_->sweep(clock_ns_, step, out);
    for (uint32_t i = 0; i < out.n; i++) {
      flow::Flow& f = *out.flow[i];
      if (out.due[i]) {
        end_connection(f, flow::End::kTimeout, clock_ns_);
        table_->remove(f);
      } else {
        check_timers(f);
      }
    }
    budget -= step;
  }
}

flow::Flow* Stage::admit(const flow::Key& k) noexcept {
  sweep(cfg_.table.sweep_per_insert);
  if (table_->full() && cfg_.table.evict_when_full) {
    if (flow::Flow* v = table_->victim()) {
      end_connection(*v, flow::End::kEvicted, clock_ns_);
      table_->remove(*v);
    }
  }
  return table_->insert(k, clock_ns_);
}

bool Stage::wrong_core(const core::RxQueue& q, const pkt::Parsed& p) const noexcept {
  if (q.port >= rss_.size() || !rss_[q.port].active) return false;
  // The NIC hashed the outer headers of an encapsulated frame, not the
  // connection Loom keys: nothing to compare.
  if (p.encap) return false;
  const PortRss& r = rss_[q.port];
  uint8_t t[36];
  const size_t alen = p.ip_version == 6 ? 16 : 4;
  std::memcpy(t, p.src, alen);
  std::memcpy(t + alen, p.dst, alen);
  t[2 * alen] = uint8_t(p.sport >> 8);
  t[2 * alen + 1] = uint8_t(p.sport);
  t[2 * alen + 2] = uint8_t(p.dport >> 8);
  t[2 * alen + 3] = uint8_t(p.dport);
  // Hash what the port hashes: addresses only when TCP hashing is off.
  const size_t len = r.l4 ? 2 * alen + 4 : 2 * alen;
  const uint32_t h = port::toeplitz(r.key.data(), r.key.size(), t, len);
  const uint16_t queue = r.reta[h % r.reta.size()];
  return queue < r.queue_owner.size() && r.queue_owner[queue] >= 0 &&
         unsigned(r.queue_owner[queue]) != worker_;
}

/* One RX burst, in order: the control path's offers, then parse and
 * steer every frame, one bulk flow lookup, each TCP packet's connection
 * work in arrival order, the mirror copies, and what drops withhold. */
uint16_t Stage::burst(core::WorkerCtx& w, const core::RxQueue& q, rte_mbuf** pkts,
                      uint16_t n) noexcept {
  take_rules();
  mirror_.take_offer();
  Burst b;
  classify(q, pkts, n, b);
  if (b.nt) {
    table_->lookup_bulk(b.kp, b.nt, b.pos);  // one for the burst (l3fwd's habit)
    uint64_t burst_ts = ts_flag_ ? 0 : tsc_clock();
    for (uint32_t j = 0; j < b.nt; j++) {
      const uint16_t i = b.which[j];
      const uint64_t ts = packet_time(q, pkts[i], burst_ts);
      uint32_t slot;
      flow::Flow* f = resolve(q, b, j, ts, slot);
      if (!f) continue;
      tcp(*f, conns_.at(slot), b.dirs[j], pkts[i], b.parsed[i], ts);
      if (f->flags & flow::kMirrored && mirror_.enabled()) mirror_.copy(pkts[i]);
      if (f->flags & flow::kDropped) drop_packet(w, q, b, i, *f, pkts, ts);
    }
  }
  mirror_.flush();
  reasm_->commit();
  return b.any_drop ? withhold(w, pkts, n, b.drop) : n;
}

inline void Stage::classify(const core::RxQueue& q, rte_mbuf** pkts, uint16_t n, Burst& b) noexcept {
  pkt::Tally tally;
  uint32_t unsteered = 0;
  const pkt::Decap& dec = q.port < decap_.size() ? decap_[q.port] : cfg_.decap;
  for (uint16_t i = 0; i < n; i++) {
    pkt::Malformed why{};
    const pkt::Kind k = pkt::parse_mbuf(pkts[i], b.parsed[i], &why, dec);
    tally.add(k, b.parsed[i], why);
    b.drop[i] = 0;
    // Steering (port/steer.h): the same choice the NIC makes when it can.
    const bool ip = k == pkt::Kind::kTcp || k == pkt::Kind::kUdp || k == pkt::Kind::kOtherIp ||
                    k == pkt::Kind::kIpFragment;
    const bool service =
        k == pkt::Kind::kTcp && steer_.service(b.parsed[i].sport, b.parsed[i].dport);
    if (ip && !service && steer_.rest_dropped()) {
      b.drop[i] = 1 + uint8_t(core::Drop::steer_drop);
      b.any_drop = true;
    }
    if (k != pkt::Kind::kTcp) continue;
    if (!service) {
      unsteered++;
      continue;
    }
    b.dirs[b.nt] = uint8_t(flow::make_key(b.parsed[i], b.keys[b.nt]));
    b.kp[b.nt] = &b.keys[b.nt];
    b.which[b.nt] = i;
    b.nt++;
  }
  tally.commit(pkt_stats);
  stats.tcp_packets.add(b.nt);
  stats.unsteered_packets.add(unsteered);
  stats.non_tcp_packets.add(n - b.nt - unsteered);
}

inline uint64_t Stage::packet_time(const core::RxQueue& q, const rte_mbuf* m, uint64_t& burst_ts) noexcept {
  uint64_t ts = burst_ts;
  if (ts_flag_ && (m->ol_flags & ts_flag_) && q.port < rss_.size() && rss_[q.port].ts_unit_ns)
    ts = *RTE_MBUF_DYNFIELD(m, ts_offset_, const uint64_t*) * rss_[q.port].ts_unit_ns;
  else if (!burst_ts)
    ts = burst_ts = tsc_clock();
  if (ts > clock_ns_) clock_ns_ = ts;
  return ts;
}

inline flow::Flow* Stage::resolve(const core::RxQueue& q, const Burst& b, uint32_t j, uint64_t ts,
                                  uint32_t& slot) noexcept {
  flow::Flow* f = b.pos[j] >= 0 ? &table_->at(b.pos[j]) : nullptr;
  // The bulk lookup ran before this burst's inserts, and admit()'s sweep
  // or eviction may have ended the flow found for this packet and handed
  // its slot to another connection (the free stack reuses it first): check
  // the slot still holds this key. A miss may likewise be a flow an
  // earlier packet of this burst created.
  if (f && (f->flags & flow::kInUse) && flow::same(f->key, b.keys[j])) [[likely]] {
    slot = uint32_t(b.pos[j]);
    if (f->flags & flow::kWrongCore) flow_stats.wrong_core.add(1);
    return f;
  }
  f = table_->active() ? table_->find(b.keys[j]) : nullptr;
  if (!f) {
    const pkt::Parsed& p = b.parsed[b.which[j]];
    if ((p.tcp_flags & kRst) && !p.payload_len) {
      stats.rst_without_flow.add(1);  // nothing to track: the flow is gone or never seen
      return nullptr;
    }
    f = admit(b.keys[j]);
    if (!f) return nullptr;  // table full: counted by the table
    start_connection(*f, ts);
    if (wrong_core(q, p)) f->flags |= flow::kWrongCore;
  }
  slot = table_->index_of(*f);
  if (f->flags & flow::kWrongCore) flow_stats.wrong_core.add(1);
  return f;
}

void Stage::drop_packet(core::WorkerCtx& w, const core::RxQueue& q, Burst& b, uint16_t i,
                        flow::Flow& f, rte_mbuf** pkts, uint64_t ts) noexcept {
  bool replaced = false;
  if (f.reject == 1) {
    f.reject = 2;
    replaced = reset_both_ways(w, q, b.parsed[i], pkts + i, stats, pkt_stats);
    end_connection(f, flow::End::kRst, ts);  // reset: over for both ends
  }
  if (!replaced) {
    b.drop[i] = 1 + uint8_t(core::Drop::rule_drop);
    b.any_drop = true;
  }
}

uint16_t Stage::withhold(core::WorkerCtx& w, rte_mbuf** pkts, uint16_t n,
                         const uint8_t* drop) noexcept {
  uint16_t kept = 0;
  for (uint16_t i = 0; i < n; i++) {
    if (drop[i]) {
      w.stats.drops[drop[i] - 1].add(1);
      rte_pktmbuf_free(pkts[i]);  // the stage's own references (OFO) stay valid
    } else {
      pkts[kept++] = pkts[i];
    }
  }
  return kept;
}

void Stage::start_connection(flow::Flow& f, uint64_t ts) noexcept {
  f.created_ns = ts;
  Conn& r = record(f);
  if (http_) give_http(r);  // a slot's last connection gave its state back at its end
  Conns::reset(r);
  if (streams_) Streams::start(r.sides());
}

/* A 4-tuple reused (RFC 6191): report the old connection, start the new
 * one in the same slot. */
void Stage::renew(flow::Flow& f, uint64_t ts) noexcept {
  end_connection(f, flow::End::kReuse, ts);
  flow_stats.reused.add(1);
  const flow::Key key = f.key;
  const uint32_t gen = f.generation + 1;
  // A 4-tuple in packets.pcap stays there: what follows a selected
  // connection on it (a late duplicate SYN, its RST) belongs with it.
  const uint8_t keep = f.flags & flow::kPcap;
  // tcp::judge read the new connection's SYN options already.
  const uint8_t auth = f.tcp & (tcp::kAuthMd5 | tcp::kAuthAo);
  std::memset(static_cast<void*>(&f), 0, sizeof f);
  f.key = key;
  f.generation = gen;
  f.tcp = auth;
  f.flags = flow::kInUse | keep;
  f.state = flow::State::kNew;
  start_connection(f, ts);
}

/* One TCP segment of a tracked connection, RFC 9293's order: what its
 * control bits did (tcp::judge), the handshake, the per-connection
 * accounts, then the segment's bytes, ACK and FIN into reassembly. */
void Stage::tcp(flow::Flow& f, Conn& r, int dir, rte_mbuf* m, const pkt::Parsed& p,
                uint64_t ts) noexcept {
  // The endpoints decide what a control bit did (tcp/track.h): a rejected
  // one is cleared from d.flags, and the segment's data still counts.
  const tcp::Decision d = tcp::judge(f, r.hs, dir, p, m, tcp_stats);
  data_ts_ = ts;
  const uint32_t seq = handshake(f, r, dir, p, d, ts);
  if (f.rules == flow::kRulesUnjudged) judge_flow(f);
  if (cfg_.pcap) pcap_packet(f, r, m, ts);
  f.last_ns = ts;
  f.pkts[dir]++;
  f.bytes[dir] += m->pkt_len;
  if (streams_) Streams::seen(r.sides(), dir, ts);
  if (f.flags & flow::kEnded) return;  // late ACKs and retransmissions of a closed connection
  if (d.act != tcp::Act::kTrack && d.act != tcp::Act::kReuse) [[unlikely]] {
    if (d.act == tcp::Act::kEnd) {
      end_connection(f, flow::End::kRst, ts);
    } else if (d.act == tcp::Act::kHold) {
      // Closed unless the endpoints use it again: the closed timeout runs.
      f.tcp |= tcp::kRstHeld;
      f.state = flow::State::kClosed;
    }
    return;  // kIgnore: the receiver dropped it
  }
  if ((p.payload_len || (d.flags & kFin)) && tcp::clear_hold(f, tcp_stats)) [[unlikely]]
    f.state = flow::State::kEstablished;
  if (!cfg_.reassemble) [[unlikely]] {
    flags_only(f, r, dir, p, d.flags, ts);
    return;
  }
  reassemble(f, r, dir, m, p, d.flags, seq, ts);
  if (cfg_.pcap) pcap_check(f, r);
}

/* Port reuse and SYNs; returns the sequence number of the segment's first
 * data byte (a SYN takes one). */
inline uint32_t Stage::handshake(flow::Flow& f, Conn& r, int dir, const pkt::Parsed& p,
                                 const tcp::Decision& d, uint64_t ts) noexcept {
  const uint8_t fl = d.flags;
  uint32_t seq = p.seq;
  if (d.act == tcp::Act::kReuse) {
    renew(f, ts);
    if (fl & kAck) {  // a SYN-ACK proved the new connection: its SYN went unseen or ignored
      f.client = uint8_t(1 - dir);
      f.flags |= flow::kClientKnown;
      reasm_->syn(r.hs[1 - dir], d.client_isn);
    }
  }
  if (fl & kSyn) {
    if (!(f.flags & flow::kClientKnown)) {
      f.client = uint8_t((fl & kAck) ? 1 - dir : dir);
      f.flags |= flow::kClientKnown;
    }
    reasm_->syn(r.hs[dir], seq);
    seq += 1;  // data on a SYN starts after it
    // A SYN-ACK acknowledges the client's ISN: the client's stream starts
    // there, at a message boundary, even when its SYN went uncaptured.
    reasm::HalfStream& c = r.hs[1 - dir];
    if ((fl & kAck) && !c.syn_seen && !c.seq_known) reasm_->syn(c, p.ack - 1);
  }
  return seq;
}

/* Flow tracking alone (perf/pipeline measures each stage's cost): states
 * from the flags, the connection ends at its second FIN. */
void Stage::flags_only(flow::Flow& f, Conn& r, int dir, const pkt::Parsed& p, uint8_t fl,
                       uint64_t ts) noexcept {
  if (f.state == flow::State::kNew && (p.payload_len || ((fl & kAck) && !(fl & kSyn))))
    f.state = flow::State::kEstablished;
  if (!(fl & kFin)) return;
  r.hs[dir].fin_done = 1;
  f.state = flow::State::kClosing;
  if (r.hs[0].fin_done && r.hs[1].fin_done) end_connection(f, flow::End::kFin, ts);
}

/* The peer's ACK, the bytes (and what the capture cut off), the FIN or
 * the hole timers, each followed by what it delivered; the connection
 * ends once both directions delivered up to their FIN. */
inline void Stage::reassemble(flow::Flow& f, Conn& r, int dir, rte_mbuf* m, const pkt::Parsed& p,
                              uint8_t fl, uint32_t seq, uint64_t ts) noexcept {
  reasm::HalfStream& h = r.hs[dir];
  if (fl & kAck) {
    reasm_->ack(r.hs[1 - dir], &f, 1 - dir, p.ack, ts);
    consume();
  }
  if (p.payload_len) {
    reasm_->data(h, &f, dir, m, p.payload_off, seq, p.payload_len, ts);
    consume();
    // Bytes the capture cut off (its snap length) were sent all the same:
    // a gap now, where the captured part ended in order.
    if (p.missing) [[unlikely]] {
      reasm_->uncaptured(h, &f, dir, seq + p.payload_len, p.missing);
      consume();
    }
    if (f.state == flow::State::kNew) f.state = flow::State::kEstablished;
  } else if (f.state == flow::State::kNew && (fl & kAck) && !(fl & kSyn)) {
    f.state = flow::State::kEstablished;
  }
  if (fl & kFin) {
    reasm_->fin(h, &f, dir, seq + p.payload_len + p.missing, ts);
    consume();
    if (f.state != flow::State::kClosed) f.state = flow::State::kClosing;
  } else if (h.ofo_head != reasm::kNil || h.ack_hole_since_ns) {
    reasm_->check_timers(h, &f, dir, ts);
    consume();
  }
  if (r.hs[0].fin_done && r.hs[1].fin_done) end_connection(f, flow::End::kFin, ts);
}

void Stage::end_connection(flow::Flow& f, flow::End why, uint64_t ts) noexcept {
  if (f.flags & flow::kEnded) return;
  // A held RST that nothing contradicted before the end: it did end it.
  if ((f.tcp & tcp::kRstHeld) && (why == flow::End::kTimeout || why == flow::End::kCaptureEnd ||
                                   why == flow::End::kShutdown))
    why = flow::End::kRst;
  if (ts > data_ts_) data_ts_ = ts;
  Conn& r = record(f);
  for (int d = 0; d < 2; d++) {
    reasm_->flush(r.hs[d], &f, d);
    consume();
    f.end[d] = uint8_t(r.hs[d].fin_done ? flow::End::kFin : why);
  }
  http::Conn* c = http_ ? http_of(r) : nullptr;
  if (c) {
    framer_->end(*c, f, data_ts_);
    apply_verdicts(f, *c);
  }
  if (cfg_.pcap) pcap_check(f, r);  // reads the state's `exported`: before it goes back
  if (http_) give_http(r);
  f.flags |= flow::kEnded;
  f.state = flow::State::kClosed;
  switch (why) {
    case flow::End::kFin: flow_stats.ended_fin.add(1); break;
    case flow::End::kRst: flow_stats.ended_rst.add(1); break;
    case flow::End::kCaptureEnd:
    case flow::End::kShutdown: flow_stats.ended_at_stop.add(1); break;
    default: break;  // timeout, evicted, reuse: counted by the table
  }
  if (streams_) streams_->end(f, r, why);
}

void Stage::pcap_packet(flow::Flow& f, Conn& r, rte_mbuf* m, uint64_t ts) noexcept {
  if (!http_) f.flags |= flow::kPcap;  // no framing, no selection by message: every connection
  pcap_->packet(f, r.lookback, m, ts);
}

void Stage::pcap_check(flow::Flow& f, Conn& r) noexcept {
  if (f.flags & flow::kPcap || !http_) return;
  if (const http::Conn* c = http_of(r); c && c->exported) pcap_->select(f, r.lookback);
}

void Stage::take_rules() noexcept {
  const ActiveRules* o = offered_.load(std::memory_order_acquire);
  if (o == rules_) return;
  rules_ = o;
  if (framer_) framer_->set_rules(o);
  rules_seen_.store(o ? o->generation : 0, std::memory_order_release);
}

/* Flow conditions, once per connection at its first packet: a rule that
 * needs nothing but addresses and ports acts before any HTTP work. */
void Stage::judge_flow(flow::Flow& f) noexcept {
  f.rules = flow::kRulesPerMessage;
  if (!rules_) return;
  const match::Result r = rules_->db->match_flow(http::flow_view(f.key, flow::client_side(f)), nullptr);
  if (r.rule == match::kUndecided || r.rule == match::kNoRule) return;  // messages decide
  rules_->counters->hits[size_t(r.rule)].add(1);
  rules_->counters->actions[size_t(r.action)].add(1);
  act_on(f, r.action == match::Action::kDrop, r.reject, r.action == match::Action::kMirror);
  const bool no_http = r.action == match::Action::kSkip || r.action == match::Action::kDrop;
  f.rules = no_http ? flow::kRulesNoHttp : flow::kRulesDecided;
}

/* What a drop or mirror decision does to the flow's later frames. */
void Stage::act_on(flow::Flow& f, bool drop, bool reject, bool mirror) noexcept {
  if (drop && !(f.flags & flow::kDropped)) {  // the first drop decides about resets
    f.flags |= flow::kDropped;
    f.reject = reject;
  }
  if (mirror) f.flags |= flow::kMirrored;
}

/* What the framer's verdicts asked of the connection (http::Acts), on
 * the stage's own flow record: after every framer call, before the burst
 * relays, mirrors or withholds the packet that completed the message. */
inline void Stage::apply_verdicts(flow::Flow& f, const http::Conn& c) noexcept {
  if (!c.acts) [[likely]] return;
  act_on(f, c.acts & http::kActDrop, c.reject, c.acts & http::kActMirror);
}

void Stage::check_timers(flow::Flow& f) noexcept {
  // A hole whose later packets never come must still be declared on time.
  if (f.flags & flow::kEnded) return;
  Conn& r = record(f);
  for (int d = 0; d < 2; d++)
    if (r.hs[d].ofo_head != reasm::kNil || r.hs[d].ack_hole_since_ns) {
      reasm_->check_timers(r.hs[d], &f, d, clock_ns_);
      consume();
    }
  if (r.hs[0].fin_done && r.hs[1].fin_done) end_connection(f, flow::End::kFin, clock_ns_);
}

/* What reassembly delivered, to the stream fingerprints and the framer,
 * in order; then its memory goes back. */
void Stage::consume_deliveries() noexcept {
  if (!readers_) {  // nobody reads the bytes (perf/pipeline's reassembly row)
    reasm_->done();
    return;
  }
  for (const reasm::Span& sp : reasm_->delivered()) {
    flow::Flow& f = *static_cast<flow::Flow*>(sp.owner);
    Conn& r = record(f);
    if (sp.hole)
      stream_gap(f, r, sp.dir, sp.lost);
    else if (!sp.m) [[likely]]
      stream_data(f, r, sp.dir, sp.p, sp.len);
    else
      reasm::each_piece(sp, [&](const uint8_t* p, uint32_t len) { stream_data(f, r, sp.dir, p, len); });
  }
  reasm_->done();
}

void Stage::stream_data(flow::Flow& f, Conn& r, int dir, const uint8_t* p, uint32_t len) noexcept {
  if (streams_) Streams::data(r.sides(), dir, p, len);
  if (!http_ || f.rules == flow::kRulesNoHttp) return;
  http::Conn* cp = http_of(r);
  if (!cp) {
    if (f.flags & flow::kEnded) return;
    cp = take_http(r);
    if (!cp) return;  // pool empty: counted
  }
  http::Conn& c = *cp;
  if (!c.started && !(f.flags & flow::kEnded)) {
    // The first payload of the connection decides who is the client (the
    // SYN's sender, else what the bytes say, else the ports) and which
    // directions start at a message boundary (those whose SYN was seen).
    if (!(f.flags & flow::kClientKnown)) {
      const int says = http::client_hint(p, len);
      if (says) {
        f.client = uint8_t(says > 0 ? dir : 1 - dir);
        f.flags |= flow::kClientByBytes;
      }
    }
    const int client = flow::client_side(f);
    const bool synced[2] = {r.hs[0].syn_seen, r.hs[1].syn_seen};
    framer_->start(c, f, client, synced);
  }
  framer_->data(c, f, r.hs, dir, p, len, data_ts_);
  apply_verdicts(f, c);
}

void Stage::stream_gap(flow::Flow& f, Conn& r, int dir, uint32_t lost) noexcept {
  if (streams_) Streams::hole(r.sides(), dir, lost);
  http::Conn* c = http_ ? http_of(r) : nullptr;
  if (!c) return;  // not started: nothing to cut
  framer_->gap(*c, f, dir, data_ts_);
  apply_verdicts(f, *c);
}

void Stage::finish(flow::End why, void (*drain)(void*), void* drain_ctx) {
  waiting_.drain = drain;
  waiting_.drain_ctx = drain_ctx;
  for (uint32_t i = 0; i < table_->capacity() && table_->active(); i++) {
    flow::Flow& f = table_->at(int32_t(i));
    if (!(f.flags & flow::kInUse)) continue;
    end_connection(f, why, clock_ns_);
    table_->remove(f);
  }
  reasm_->commit();
  waiting_.drain = nullptr;
  waiting_.drain_ctx = nullptr;
}

}  // namespace inspect
