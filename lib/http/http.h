/* http: HTTP/1.x framing of reassembled streams, request/response pairing,
 * and one record per message.
 *
 * Loom's own framer, built for passive monitoring (as libhtp and Zeek's
 * analyzer are): one incremental state machine per connection direction,
 * its state inside the per-flow Conn, fed any split of the stream, down to
 * one byte at a time; memchr-style scans where a line or a body runs long.
 * The endpoints decide: what a real server accepts is framed and flagged,
 * not refused (bare LF, any RFC 9110 token method, any case of "HTTP", a
 * missing or odd version, HTTP/0.9, obs-fold, empty lines and junk before
 * a start line, data after a close-announcing message). Framing follows
 * RFC 9112 6.3: Content-Length, chunked (extensions, trailers),
 * close-delimited response bodies (ended by end() at FIN), no body for
 * HEAD, 1xx, 204, 304 and requests without a length; a 2xx to CONNECT or
 * a 101 begins a tunnel, whose bytes are framed as inner messages when
 * they are HTTP/1.x themselves. Hostile framing resynchronises instead of
 * swallowing the connection: a length past the body limit, or an unknown
 * coding with a Content-Length, ends the message flagged ambiguous and the
 * direction searches for the next start line.
 *
 * Pairing is FIFO per connection (HTTP/1.x answers in order), through a
 * per-worker pool of pending entries linked per connection: any pipeline
 * depth, bounded by the pool, counted (pipeline_overflow) when it runs
 * dry, and then the response is marked unpaired, never given another
 * request's id. 1xx interim responses share their request's id. A request's
 * record is emitted when a response to it begins (or at its own end, if a
 * response already began). A response that begins while its server has
 * acknowledged client bytes not yet delivered (capture timing) waits for
 * that request. SEQ/ACK never decide a pairing otherwise.
 *
 * After a gap, a framing error or a mid-stream start, the direction
 * re-synchronises where a request or a response start line begins,
 * wherever it is in the data. A message cut after its target or status
 * code is emitted with complete = false and every field already seen; one
 * cut before (bytes that never made a start line) is only counted
 * (not_http). Every byte not framed is counted by why (resync_skipped,
 * junk_skipped, tunnel_bytes); every leniency has a counter
 * (lib/http/counters.def).
 *
 * Message ids: 12 bytes, 24 hex digits, as goreplay writes them: client
 * port, server port, a hash of the connection (4-tuple, VLAN, which
 * connection on it, its start time) and the exchange number. The same
 * capture gives the same ids; pipelined requests get distinct ones.
 *
 * Thread: one Framer per worker, used by that worker only (end() by the
 * main lcore once the worker stopped). Allocates its pending pool when it
 * is built, nothing after.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/channel.h"
#include "core/counter.h"
#include "flow/flow.h"
#include "match/match.h"
#include "reasm/reasm.h"

namespace http {

constexpr size_t kUriMax = 256;
constexpr size_t kHostMax = 128;
/* Carried headers ([http] headers): their values, bounded per message. */
constexpr size_t kHeadersMax = 512;
constexpr size_t kCarryMax = 16;       // names in the list
constexpr size_t kCarryNameMax = 19;   // a name split across segments is read into Side::tok
/* Body limit: a Content-Length or chunk size past it cannot be real on one
 * connection (64 GiB is ~55 s of 10 Gbit/s for one message) and is treated
 * as hostile framing: flagged ambiguous, resynchronised. */
constexpr uint64_t kBodyLimit = 64ull << 30;
/* Pending-pool entries per worker unless the stage says: one request in
 * flight on each of 64 Ki connections, or any mix. */
constexpr uint32_t kPendingDefault = 65536;

enum Flag : uint32_t {
  kIncomplete = 1,      // cut by a gap, an error or the connection's end
  kAfterGap = 2,        // found by re-synchronising
  kAmbiguous = 4,       // both Content-Length and chunked, differing lengths, ...
  kUriTruncated = 8,
  kHostTruncated = 16,
  kParseError = 32,
  kInterim = 64,        // 1xx
  kUnpaired = 128,      // request never answered / response to no request
  kUpgrade = 256,       // CONNECT or Upgrade asked, or the answer that began a tunnel
  kRawTruncated = 512,  // raw bytes longer than the capture buffer (cut)
  kNoRaw = 1024,        // no capture buffer was free: no raw bytes
  kOversizeHeaders = 2048,  // header block over the limit: cut, resync
  kBareLf = 4096,       // a line ended in LF alone
  kHttp09 = 8192,       // HTTP/0.9 simple request, or the raw response to one
  kOddVersion = 16384,  // version missing, lower-case or unknown; or no target
  kJunkSkipped = 32768, // junk (not a start line) was skipped before it
  kAfterClose = 65536,  // after a close-announcing message on the connection
  kInner = 131072,      // inside a CONNECT/Upgrade tunnel (Message::outer)
  kHeadersTruncated = 262144,  // carried headers past the bound: cut
};

/* Why the framer gave up on a message: http_errors, llhttp's names. */
enum Error : uint8_t {
  kErrNone = 0,
#define HTTP_ERROR(n) kErr_##n,
#include "http/errors.def"
#undef HTTP_ERROR
  kNumErrorsUsed
};
constexpr size_t kNumErrors = 32;
static_assert(kNumErrorsUsed <= kNumErrors);

/* One HTTP message, as messages.jsonl reports it. */
struct Message {
  flow::Key key;
  uint8_t client_side;   // key side of the client
  uint8_t request;       // 1: request, 0: response
  uint32_t flags;
  uint32_t generation;   // which connection on this 4-tuple
  uint32_t index;        // position in its direction, from 0
  uint8_t id[12];
  uint8_t outer[12];     // kInner: the id of the exchange that began the tunnel
  uint64_t conn_id;      // flow::connection_id: the Kafka key, "conn_id"
  uint16_t hdrs_len;     // bytes used in hdrs
  uint16_t hdr_last;     // offset of the entry being written
  uint16_t status;
  uint8_t chunked;
  uint8_t http_minor;
  uint16_t uri_len, host_len;
  char method[16];
  char uri[kUriMax];
  char host[kHostMax];
  uint64_t body_len;         // decoded (de-chunked) body bytes
  uint64_t ts_first_ns, ts_last_ns;
  int64_t latency_ns;        // response: first byte - request's last byte; -1 unknown
  uint8_t* raw;              // the message as on the wire (capture buffer), or nullptr
  uint32_t raw_len, raw_cap;
  uint8_t verdict;           // Verdict the rules gave it
  uint8_t judged;            // the rules have judged it (requests: as soon as they end)
  int16_t rule_index;        // the rule that decided, -1 the default (set by http::judge)
  char rule[64];             // its name, "" for the default
  char tag[64];              // Verdict::kTag: the label, else ""
  // Carried headers, entries laid end to end: the name's index in the
  // list (Framer::set_carry), the value's length (2 bytes, little
  // endian), the value. Read up to hdrs_len.
  uint8_t hdrs[kHeadersMax];
};
/* What operator rules decide for a message, and when (http/judge.h): a
 * request as soon
 * it ends (so that a drop verdict can stop the packet that completed
 * it), a response before export — unless its request's headers are
 * complete, in which case it takes the request's verdict, rule and tag
 * (the operator selects exchanges; a request answered before it ends, as
 * with 100 Continue, is judged when the answer begins, on what came of
 * it). Rules see the method, URI, Host, status and (with raw capture) the
 * header block and a bounded body prefix in m.raw.
 * Without rules (Framer::set_rules) every message is recorded. */
enum class Verdict : uint8_t {
  kRecord,   // export it
  kSkip,     // do not export it
  kTag,      // export it with Message::tag set
  kMirror,   // export it; its flow's packets go to the mirror output
  kDrop,     // export it; inline, stop relaying its flow
};
constexpr size_t kNumVerdicts = 5;
/* "record", "skip", "tag", "mirror", "drop": messages.jsonl and counters. */
const char* verdict_name(Verdict v) noexcept;

/* Conn::acts: what verdicts so far ask of the connection's packets. The
 * framer notes them; the stage applies them to its flow record after each
 * call (a drop stops relaying, a mirror copies). */
enum Acts : uint8_t { kActMirror = 1, kActDrop = 2 };

struct Stats {
#define HTTP_COUNTER(n, help) core::Counter n;
#include "http/counters.def"
#undef HTTP_COUNTER
  core::Counter verdicts[kNumVerdicts];
  core::Counter errors[kNumErrors];  // by Error
};

/* The counters of Stats in counters.def order, for stats.json and
 * telemetry: name, description, and where each lives in a Stats. */
struct CounterInfo {
  const char* name;
  const char* help;
  core::Counter Stats::*field;
};
extern const CounterInfo kCounters[];
extern const size_t kNumCounters;

/* "invalid_method" for kErr_invalid_method: the counter's name suffix;
 * "" for 0 and past the list. */
const char* error_name(size_t err) noexcept;

/* Where records go: the worker's message channel to the sink thread and,
 * for .gor, its channel of capture buffers (core/channel.h: a full one
 * drops and counts live, waits offline). The framer takes a record when a
 * message begins and pushes it when it is judged and finished. */
struct Records {
  core::Channel* messages = nullptr;  // nullptr: frame and count, make no records
  core::Channel* raw = nullptr;       // nullptr: no raw bytes
  uint32_t raw_cap = 0;               // bytes of each capture buffer
  // false: no file reads the records (made for the rules and packets.pcap's
  // selection only): each goes back to its pool once judged.
  bool files = true;
};

/* Per connection direction: where the framer is in the stream. */
struct Side {
  Message* cur;           // record being built, or nullptr
  uint64_t remaining;     // body: bytes left in the body or chunk
  uint64_t cl;            // Content-Length being read / read
  uint32_t msgs;          // messages begun in this direction
  uint32_t hdr_bytes;     // start line and header block so far
  uint32_t mflags;        // flags of the message under way (also without a record)
  uint32_t slot;          // request being parsed: its pending entry, or kNil
  uint16_t status;
  uint8_t state;          // Framer's: parsing, resync, off
  uint8_t ps;             // the parser's state within a message
  uint8_t after_gap;      // the next message was found by resync
  uint8_t junk;           // ... after junk where a message was due
  uint8_t in_msg;         // a message has begun and not ended
  uint8_t has_start;      // ... and its start line got as far as a target/status
  uint8_t hdr;            // the header being read (HeaderKind)
  uint8_t tok_len;        // start-line token / header name, first bytes
  char tok[20];
  uint8_t cr;             // the last byte was CR (bare-LF detection)
  uint8_t major, minor;
  uint8_t has_cl, cl_bad, cl_in, chunked, te, te_other, conn_close, conn_keep, conn_upgrade;
  uint8_t upgrade_hdr, method_kind, http09, trailers, after_close, inner, tunnel;
  uint8_t pair;           // response: how it pairs (Pair), decided when it began
  uint8_t cl_conflict, cl_big, last_lf;
  uint8_t wtok_len;       // Connection/Transfer-Encoding value token
  char wtok[12];
  uint8_t carry_idx;      // kHCarry: the header's index in the carry list
  uint8_t carry_len;      // resync: the data's tail that may begin a start line
  uint8_t carry[15];      // ... kept for the next segment ("HTTP/1.1 2" | "00 OK")
};

constexpr uint32_t kNil = 0xFFFFFFFFu;

/* A request waiting for its answer, or a response waiting for its
 * request; entries of the Framer's pool, linked per connection. */
struct Pending {
  Message* rec;           // the request's record until it is emitted (or a held response)
  uint64_t ts_last_ns;
  uint32_t exchange;
  uint32_t next;          // next entry of the connection's list, or kNil
  uint8_t method;         // MethodKind, once its headers are parsed (0xFF before)
  uint8_t completed;      // the request ended (complete or cut)
  uint8_t answered;       // a response to it has begun
  uint8_t judged;         // the rules have judged it: its responses follow
  uint8_t verdict;        // ... with this Verdict
  uint8_t final;          // held response: final (not 1xx)
  uint32_t held;          // request: responses seen before it that answer it (chain)
  int16_t rule;           // ... and rule (http::describe names it)
};

/* Per flow slot; all-zero is "not started". */
struct Conn {
  Side side[2];           // by key side (flow direction index)
  uint32_t head, tail, n; // pending requests (Framer's pool), oldest first
  uint32_t held, held_tail; // responses seen before their request
  uint32_t answer;        // exchange the next final response answers
  uint32_t exchanges;     // requests begun
  uint32_t outer;         // the exchange that began the tunnel
  uint32_t conn_hash;
  uint64_t conn_id;       // flow::connection_id, copied into every message
  uint8_t started, off;   // off: framing stopped (never wanted)
  uint8_t client;         // key side of the client
  uint8_t tunnel;         // a tunnel began: messages are inner ones
  uint8_t exported;       // a message of this connection was exported (not skipped)
  uint8_t acts;           // Acts the verdicts asked for
  uint8_t reject;         // the first drop verdict's rule wants resets
};

class Framer {
 public:
  /* max_header_bytes bounds a message's start line plus header block;
   * over it, the message is cut. pending: the pool of requests awaiting
   * their answer, for all the worker's connections. body_limit: lengths
   * past it are hostile framing. Control path (allocates the pool). */
  Framer(Stats* s, Records records, uint32_t max_header_bytes = 65536,
         uint32_t pending = kPendingDefault, uint64_t body_limit = kBodyLimit);
  ~Framer();

  /* First bytes of a connection: `synced[d]` says direction d starts at a
   * message boundary (its SYN was seen); otherwise it resyncs. */
  void start(Conn& c, const flow::Flow& f, int client, const bool synced[2]) noexcept;
  /* In-order bytes of direction `dir`; `hs`, the connection's reassembly
   * halves, tells a response that comes before its request was captured
   * (the server acknowledged it) from one that answers nothing. */
  void data(Conn& c, const flow::Flow& f, const reasm::HalfStream* hs, int dir, const uint8_t* p,
            uint32_t len, uint64_t ts) noexcept;
  void gap(Conn& c, const flow::Flow& f, int dir, uint64_t ts) noexcept;
  /* Connection end: close-delimited bodies complete, cut messages and
   * unanswered requests are emitted, pending entries go back. */
  void end(Conn& c, const flow::Flow& f, uint64_t ts) noexcept;

  /* The rules messages are judged by from now on (nullptr: none, every
   * message is recorded). The worker's, between calls. */
  void set_rules(const match::Active* r) noexcept { rules_ = r; }
  /* Headers to carry in the records (lower-case names of at most
   * kCarryNameMax characters, at most kCarryMax of them), within
   * max_bytes (<= kHeadersMax) per message. Control path, before use. */
  void set_carry(const std::vector<std::string>& names, uint32_t max_bytes);

  struct Ctx;  // one data() call's context

 private:
  void feed(Ctx& k, const uint8_t* p, uint32_t len) noexcept;
  uint32_t parse(Ctx& k, const uint8_t* p, uint32_t len) noexcept;
  uint32_t search(Ctx& k, const uint8_t* p, uint32_t len) noexcept;
  bool resume_carry(Ctx& k, const uint8_t* p, uint32_t len) noexcept;
  void capture(Message* m, const uint8_t* p, uint32_t n) noexcept;
  Verdict judge(Conn& c, Message* m) noexcept;  // the rules' verdict, once per message
  void deliver(Conn& c, Message* m) noexcept;   // judge, then export or release
  void cut(Ctx& k, uint32_t why) noexcept;
  void fail(Ctx& k, Error e, uint32_t why) noexcept;
  void junk(Ctx& k) noexcept;
  void begin_message(Ctx& k) noexcept;
  void headers_done(Ctx& k) noexcept;
  void finish_message(Ctx& k, bool cut) noexcept;

  // parse()'s steps (http.cc, all inlined into it), one per part of a
  // message, in the order a message runs: each frames direction s from
  // p[i] and says where it stopped and how parse() goes on.
  struct Stop;
  inline Stop step(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop start_line(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop method(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop before_target(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop target(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop before_version(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop version(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop before_status(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop status(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop line_rest(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop header_start(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop header_line(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t lf) noexcept;
  inline Stop header_cr(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop header_name(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop value_lead(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop header_value(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop headers_end(Ctx& k, Side& s, uint32_t i) noexcept;
  inline Stop obs_fold(Ctx& k, Side& s, uint32_t i) noexcept;
  inline Stop body_length(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop chunk_size(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop chunk_line(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop chunk_data(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop chunk_data_end(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline Stop body_close(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept;
  inline bool header_overflow(Ctx& k, Side& s, uint32_t i, uint32_t used) noexcept;
  inline void capture_upto(Ctx& k, uint32_t end) noexcept;
  inline bool answers_http09(const Ctx& k) const noexcept;
  inline void mark_http09(Side& s) noexcept;
  inline void one_word_request(Side& s) noexcept;
  inline void ambiguous(Side& s) noexcept;
  // The parts of begin_message, finish_message and headers_done (inlined
  // into them): who a message pairs with, and how its body is framed.
  enum class Body : uint8_t;
  inline void open_record(Ctx& k, Message* m) noexcept;
  inline void queue_request(Ctx& k, Message* m) noexcept;
  inline void take_held(Conn& c, Pending& p) noexcept;
  inline void pair_response(Ctx& k, Message* m) noexcept;
  inline void answer_head(Ctx& k, Message* m) noexcept;
  inline void finish_request(Ctx& k, Message* m, bool cut) noexcept;
  inline void finish_response(Ctx& k, Message* m, bool cut) noexcept;
  inline bool hold_response(Conn& c, Side& s, Message* m, bool interim) noexcept;
  inline void settle_exchange(Conn& c, const Side& s, Message* m) noexcept;
  inline void drop_head(Conn& c) noexcept;
  inline Body request_body(Ctx& k) noexcept;
  inline Body response_body(Ctx& k) noexcept;
  inline Body length_body(Ctx& k, Body body) noexcept;
  inline bool frame_body(Ctx& k, Body body) noexcept;
  inline void begin_tunnel(Ctx& k) noexcept;

  void emit_request(Conn& c, Pending& p) noexcept;
  void judge_request(Conn& c, Pending& p) noexcept;
  void release_held(Conn& c, uint32_t e, bool paired) noexcept;
  void reset(Side& s) noexcept;
  uint32_t take() noexcept;
  void give(uint32_t e) noexcept;

  Message* take_record() noexcept;
  void release(Message* m) noexcept;       // taken, not exported: back to the pools
  void export_record(Message* m) noexcept;  // to the writer (or back, without files)

  Stats* s_;
  Records rec_;
  const match::Active* rules_ = nullptr;
  uint32_t max_header_bytes_;
  uint64_t body_limit_;
  std::unique_ptr<Pending[]> pool_;
  uint32_t free_ = kNil, in_use_ = 0;
  int carry_of(const uint8_t* name, size_t n, bool lower_already) const noexcept;
  void carry_begin(Side& s, uint8_t idx) noexcept;
  // Each name in three 8-byte words, zero-padded, and which bits a case
  // difference may flip (0x20 of its letters only): a name is compared in
  // three ORs and compares instead of a byte loop (perf/pipeline --carry).
  uint64_t carry_w_[kCarryMax][3] = {};
  uint64_t carry_fold_[kCarryMax][3] = {};
  uint8_t carry_n_ = 0;
  uint8_t carry_len_[kCarryMax] = {};
  uint32_t carry_lens_ = 0;   // bit n: some name has length n (a cheap first test)
  uint16_t carry_max_ = 0;
};

/* A record's messages.jsonl and http.gor bytes are join::message_json's
 * and join::message_gor's (join/format.h), on the sink thread. */

}  // namespace http
