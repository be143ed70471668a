/* http: HTTP/1.x framing of reassembled streams, request/response pairing,
 * and one record per message.
 *
 * One llhttp parser per connection direction, its state inside the
 * per-flow Conn (no allocation per message: records come from the
 * worker's pool through the Sink). The reassembler feeds bytes in order;
 * headers split over any number of segments are fine, since llhttp is
 * incremental. Framing follows the RFC 9112 rules llhttp implements:
 * Content-Length, chunked (extensions, trailers), close-delimited response
 * bodies (ended by finish() at FIN), no body for HEAD, 1xx, 204 and 304.
 *
 * Pairing is FIFO per connection (HTTP/1.x answers in order): a request
 * waits in the connection's queue until its final response completes;
 * 1xx interim responses share its id. A request's record is emitted when
 * a response to it begins (or at its own end, if a response already began:
 * a 100 Continue comes before the body it invites, so its line precedes
 * the request's).
 * SEQ/ACK never decide a pairing.
 *
 * After a gap, a parse error or a mid-stream start, the direction
 * re-synchronises where a request (method, space, target, " HTTP/1.") or a
 * response ("HTTP/1.x NNN ") starts, wherever it is in the data: a status
 * line may follow a binary body with no newline. A message cut short after
 * its request target or status code is emitted with complete = false; one
 * cut before (bytes that never made a start line, e.g. TLS on a connection
 * seen from its SYN) is not a message and only counted (not_http). The messages
 * found by a resync are marked after_gap. CONNECT and
 * Upgrade stop framing for the connection (bytes keep being relayed and
 * counted).
 *
 * Message ids: 12 bytes, 24 hex digits, as goreplay writes them: client
 * port, server port, a hash of the connection (4-tuple, VLAN, which
 * connection on it, its start time) and the exchange number. The same
 * capture gives the same ids; pipelined requests get distinct ones.
 *
 * Thread: one Framer per worker, used by that worker only (finish() by the
 * main lcore once the worker stopped). Allocates nothing after start-up.
 */
#pragma once

#include <cstdint>
#include <string>

#include <llhttp.h>

#include "core/counter.h"
#include "flow/flow.h"

namespace http {

constexpr size_t kUriMax = 256;
constexpr size_t kHostMax = 128;
constexpr uint32_t kPipelineMax = 16;

enum Flag : uint16_t {
  kIncomplete = 1,      // cut by a gap, an error or the connection's end
  kAfterGap = 2,        // found by re-synchronising
  kAmbiguous = 4,       // both Content-Length and chunked
  kUriTruncated = 8,
  kHostTruncated = 16,
  kParseError = 32,
  kInterim = 64,        // 1xx
  kUnpaired = 128,      // request never answered / response to no request
  kUpgrade = 256,       // CONNECT or Upgrade: framing stops after it
  kRawTruncated = 512,  // raw bytes longer than the capture buffer (cut)
  kNoRaw = 1024,        // no capture buffer was free: no raw bytes
  kOversizeHeaders = 2048,  // header block over the limit: cut, resync
};

/* llhttp's error numbers (HPE_*) are small and dense; one counter each. */
constexpr size_t kNumErrors = 32;

/* One HTTP message, as messages.jsonl reports it. */
struct Message {
  flow::Key key;
  uint8_t client_side;   // key side of the client
  uint8_t request;       // 1: request, 0: response
  uint16_t flags;
  uint32_t generation;   // which connection on this 4-tuple
  uint32_t index;        // position in its direction, from 0
  uint8_t id[12];
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
  uint8_t verdict;           // Verdict the rules hook returned
  uint8_t judged;            // the rules hook has run (requests: as soon as they end)
  int16_t rule_index;        // the rule that decided, -1 the default (set by the hook)
  char rule[64];             // its name, "" for the default
  char tag[64];              // Verdict::kTag: the label, else ""
};

/* What operator rules decide for a message (the matching issue fills the
 * hook in; without one every message is recorded). */
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

/* Called once per finished message, on the worker: a request as soon as
 * it ends (so that a drop verdict can stop the packet that completed it),
 * a response before export — unless its request's headers are complete,
 * in which case it takes the request's verdict, rule and tag (the operator
 * selects exchanges; a request answered before it ends, as with 100
 * Continue, is judged when the answer begins, on what came of it). It sees the method, URI, Host, status and
 * (with raw capture) the header block and a bounded body prefix in m.raw;
 * it must not keep the pointer. It fills m.rule and m.tag. Chosen once at
 * start-up. */
struct RulesHook {
  void* ctx = nullptr;
  Verdict (*on_message)(void* ctx, Message& m) = nullptr;
  // Fills m.rule and m.tag for a response that takes its request's verdict
  // and m.rule_index (the request's record may be gone by then).
  void (*describe)(void* ctx, Message& m) = nullptr;
};

struct Stats {
  core::Counter requests, responses, interim, incomplete, after_gap, resyncs, resync_skipped;
  core::Counter parse_errors, upgrades, unpaired_requests, unpaired_responses;
  core::Counter pipeline_overflow, ambiguous, records_dropped, raw_dropped, raw_truncated;
  core::Counter oversize_headers;
  core::Counter not_http;    // cut before a start line took shape: not reported as messages
  core::Counter verdicts[kNumVerdicts];
  core::Counter errors[kNumErrors];  // parse errors by llhttp reason
};

/* "invalid_method" for HPE_INVALID_METHOD: the counter's name suffix. */
const char* error_name(size_t err) noexcept;

/* Where records go (the inspection stage's pool and ring). */
struct Sink {
  void* ctx = nullptr;
  Message* (*alloc)(void* ctx) = nullptr;  // nullptr: none free (counted by the caller)
  void (*emit)(void* ctx, Message* m) = nullptr;
  void (*release)(void* ctx, Message* m) = nullptr;
  // A buffer for a message's raw bytes (for .gor); nullptr: none free or
  // not wanted. Its size is raw_cap.
  uint8_t* (*alloc_raw)(void* ctx) = nullptr;
  uint32_t raw_cap = 0;
};

/* Per connection direction. */
struct Side {
  llhttp_t parser;
  Message* cur;           // record being built, or nullptr
  uint32_t msgs;          // messages begun in this direction
  uint8_t state;          // Framer::State
  uint8_t after_gap;      // the next message was found by resync
  uint8_t is_host;        // the current header field is Host
  uint8_t field_len;
  char field[5];
  uint8_t slot;           // request being parsed: its pending slot, or kNoSlot
  uint8_t in_msg;         // a message has begun and not ended
  uint8_t has_start;      // ... and its start line got as far as a target/status
  uint32_t hdr_bytes;     // start line and header block so far
  uint8_t carry_len;      // resync: the data's tail that may begin a start line
  uint8_t carry[15];      // ... kept for the next segment ("HTTP/1.1 2" | "00 OK")
};

constexpr uint8_t kNoSlot = 0xFF;

struct Pending {
  Message* rec;           // the request's record until it is emitted
  uint64_t ts_last_ns;
  uint32_t exchange;
  uint8_t method;         // llhttp_method_t, once its headers are parsed
  uint8_t completed;      // the request ended (complete or cut)
  uint8_t answered;       // a response to it has begun
  uint8_t judged;         // the rules have judged it: its responses follow
  uint8_t verdict;        // ... with this Verdict
  int16_t rule;           // ... and rule (RulesHook::describe names it)
};

/* Per flow slot; all-zero is "not started". */
struct Conn {
  Side side[2];           // by key side (flow direction index)
  Pending pending[kPipelineMax];
  uint8_t head, n;
  uint8_t started, off;   // off: framing stopped (upgrade) or never wanted
  uint8_t client;         // key side of the client
  uint32_t exchanges;     // requests begun
  uint32_t conn_hash;
  uint8_t verdict;        // strongest mirror/drop verdict so far (Verdict), 0: none
  uint8_t exported;       // a message of this connection was exported (not skipped)
};

class Framer {
 public:
  /* max_header_bytes bounds a message's start line plus header block
   * (llhttp has no limit of its own); over it, the message is cut. */
  Framer(Stats* s, Sink sink, uint32_t max_header_bytes = 65536);

  /* First bytes of a connection: `synced[d]` says direction d starts at a
   * message boundary (its SYN was seen); otherwise it resyncs. */
  void start(Conn& c, const flow::Flow& f, int client, const bool synced[2]) noexcept;
  void data(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
            uint64_t ts) noexcept;
  void gap(Conn& c, const flow::Flow& f, int dir, uint64_t ts) noexcept;
  /* Connection end: close-delimited bodies complete, cut messages and
   * unanswered requests are emitted. */
  void end(Conn& c, const flow::Flow& f, uint64_t ts) noexcept;

  void set_rules(RulesHook h) noexcept { rules_ = h; }
  /* The last mirror/drop verdict for the connection (0: none): what the
   * stage acts on. */
  static uint8_t flow_verdict(const Conn& c) noexcept { return c.verdict; }

  struct Call;  // one llhttp_execute's context (parser->data)

 private:
  friend struct Callbacks;
  void feed(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
            uint64_t ts) noexcept;
  bool resume_carry(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
                    uint64_t ts) noexcept;
  void capture(Message* m, const uint8_t* p, uint32_t n) noexcept;
  Verdict judge(Conn& c, Message* m) noexcept;  // the rules' verdict, once per message
  void deliver(Conn& c, Message* m) noexcept;   // judge, then export or release
  void cut(Conn& c, const flow::Flow& f, int dir, uint64_t ts, uint16_t why) noexcept;
  void finish_message(Call& k) noexcept;
  void begin_message(Call& k) noexcept;
  void emit_request(Conn& c, Pending& p) noexcept;
  void judge_request(Conn& c, Pending& p) noexcept;
  void reset(Side& s, bool request) noexcept;

  Stats* s_;
  Sink sink_;
  RulesHook rules_;
  uint32_t max_header_bytes_;
  llhttp_settings_t settings_;
};

/* messages.jsonl line for a record, newline included. */
std::string message_json(const Message& m);

/* goreplay's record separator, written after every record (anchors.md). */
inline constexpr const char kGorSeparator[] = "\n\xF0\x9F\x90\xB5\xF0\x9F\x99\x88\xF0\x9F\x99\x89\n";

/* The record in goreplay's .gor format ("1 <id> <ts_ns> <latency_ns>\n",
 * the raw message, the separator); empty for a record with no raw bytes
 * or an interim response. */
std::string message_gor(const Message& m);

}  // namespace http
