#include "http/http.h"

#include <cinttypes>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string_view>

#include <rte_hash_crc.h>

#include "core/json.h"
#include "http/judge.h"
#include "reasm/reasm.h"

namespace http {

const CounterInfo kCounters[] = {
#define HTTP_COUNTER(n, help) {#n, help, &Stats::n},
#include "http/counters.def"
#undef HTTP_COUNTER
};
const size_t kNumCounters = sizeof kCounters / sizeof *kCounters;

namespace {

enum State : uint8_t { kIdle = 0, kParsing = 1, kResync = 2, kOff = 3 };

/* Where the parser is within a message. */
enum PState : uint8_t {
  kStart = 0,  // at a message boundary
  kMethod, kSpTarget, kTarget, kSpVersion, kReqVersion,
  kRespVersion, kSpStatus, kStatus, kEol,
  kHdrStart, kHdrCr, kHdrName, kHdrValueLead, kHdrValue, kHdrSkip,
  kBodyLen, kChunkSize, kChunkExt, kChunkData, kChunkDataEnd, kBodyClose,
};
enum HeaderKind : uint8_t { kHOther = 0, kHHost, kHCl, kHTe, kHConn, kHUpgrade, kHCarry };
enum MethodKind : uint8_t { kMOther = 0, kMHead = 1, kMConnect = 2, kM09 = 0x80 };
enum Pair : uint8_t { kPairNone = 0, kPairHead, kPairLost, kPairHeld };

constexpr bool tchar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
         c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~';
}
struct TcharTable {
  bool t[256];
  constexpr TcharTable() : t{} {
    for (int i = 0; i < 256; i++) t[i] = tchar(uint8_t(i));
  }
};
constexpr TcharTable kTchar;

/* Bytes that end a request target: SP, HT, CR, LF. */
struct WordEndTable {
  bool t[256];
  constexpr WordEndTable() : t{} { t[' '] = t['\t'] = t['\r'] = t['\n'] = true; }
};
constexpr WordEndTable kWordEnd;

inline bool digit(uint8_t c) { return c >= '0' && c <= '9'; }
inline uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? uint8_t(c | 0x20) : c; }
inline bool ieq(const uint8_t* p, const char* s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower(p[i]) != uint8_t(s[i])) return false;
  return true;
}

void append(char* buf, uint16_t& len, size_t cap, const uint8_t* at, size_t n, uint32_t& flags,
            uint32_t trunc) {
  const size_t room = cap - 1 - len;
  if (n > room) {
    flags |= trunc;
    n = room;
  }
  std::memcpy(buf + len, at, n);
  len = uint16_t(len + n);
  buf[len] = 0;
}

void set_id(uint8_t* id, const Message& m, const Conn& c, uint32_t exchange) {
  const uint16_t cport = c.client == 0 ? m.key.pa : m.key.pb;
  const uint16_t sport = c.client == 0 ? m.key.pb : m.key.pa;
  const uint8_t v[12] = {uint8_t(cport >> 8), uint8_t(cport), uint8_t(sport >> 8), uint8_t(sport),
                         uint8_t(c.conn_hash >> 24), uint8_t(c.conn_hash >> 16),
                         uint8_t(c.conn_hash >> 8), uint8_t(c.conn_hash),
                         uint8_t(exchange >> 24), uint8_t(exchange >> 16),
                         uint8_t(exchange >> 8), uint8_t(exchange)};
  std::memcpy(id, v, sizeof v);
}

/* Methods a resync accepts anywhere in the data (a request may follow a
 * binary body with no newline); any other token method only at a line's
 * start, so that the tail of a broken line is not taken for a request. */
constexpr const char* kMethods[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
                                    "PATCH ", "CONNECT ", "TRACE "};
/* RFC 9110's methods and WebDAV's common ones: the rest count as
 * extension_methods (still framed). */
constexpr const char* kKnown[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH",
                                  "CONNECT", "TRACE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY",
                                  "MOVE", "LOCK", "UNLOCK", "REPORT", "SEARCH"};

bool known_method(std::string_view m) {
  if (m == "GET" || m == "POST") return true;  // nearly all of them
  for (const char* km : kKnown)
    if (m == km) return true;
  return false;
}

/* Whether a message starts at p: "HTTP/d.d NNN" (any case) for a
 * response; a method, a space, a target and " HTTP/d" on the same line
 * for a request (when the line is cut by the end of the data, a listed
 * method and the part seen must fit). */
bool starts_message(const uint8_t* p, size_t n, bool request, bool line_start) {
  if (!request) {
    return n >= 13 && ieq(p, "http/", 5) && digit(p[5]) && p[6] == '.' && digit(p[7]) &&
           p[8] == ' ' && digit(p[9]) && digit(p[10]) && digit(p[11]) &&
           (p[12] == ' ' || p[12] == '\r' || p[12] == '\n');
  }
  size_t l = 0;
  bool listed = false;
  for (const char* m : kMethods) {
    const size_t ml = std::strlen(m);
    if (n >= ml && std::memcmp(p, m, ml) == 0) {
      l = ml;
      listed = true;
      break;
    }
  }
  if (!listed) {
    if (!line_start || !(p[0] >= 'A' && p[0] <= 'Z')) return false;
    while (l < n && l < 24 && kTchar.t[p[l]]) l++;
    if (l == n || p[l] != ' ') return false;
    l++;
  }
  if (n < l + 1) return listed;
  const bool connect = l == 8 && std::memcmp(p, "CONNECT ", 8) == 0;
  if (p[l] != '/' && p[l] != '*' && lower(p[l]) != 'h' && !(connect && p[l] != ' ')) return false;
  for (size_t i = l; i + 7 <= n && p[i] != '\n'; i++)
    if (p[i] == ' ' && ieq(p + i + 1, "http/", 5) && digit(p[i + 6])) return true;
  if (!listed) return false;
  return std::memchr(p + l, '\n', n - l) == nullptr && n - l < 8192;
}

/* Whether the last n bytes of the data (too few for starts_message to
 * decide) could begin a start line: kept for the next segment. */
bool may_start_message(const uint8_t* p, size_t n, bool request) {
  if (!request) {
    static const char kPrefix[] = "http/x.x NNN ";
    for (size_t i = 0; i < n; i++) {
      const char want = kPrefix[i];
      if (want == 'x' || want == 'N' ? !digit(p[i]) : (i < 5 ? lower(p[i]) : p[i]) != uint8_t(want)) return false;
    }
    return n < 13;
  }
  for (const char* m : kMethods)
    if (n <= std::strlen(m) && std::memcmp(p, m, n) == 0) return true;
  return false;
}

/* "HTTP/1.1" in any case: 0 for a clean version, else odd. */
bool parse_version(const char* t, size_t n, uint8_t& major, uint8_t& minor) {
  major = 1, minor = 1;
  const uint8_t* u = reinterpret_cast<const uint8_t*>(t);
  if (n >= 8 && ieq(u, "http/", 5) && digit(u[5]) && u[6] == '.' && digit(u[7])) {
    major = uint8_t(u[5] - '0');
    minor = uint8_t(u[7] - '0');
    return n == 8 && std::memcmp(t, "HTTP/", 5) == 0 && major == 1 && minor <= 1;
  }
  if (n >= 6 && ieq(u, "http/", 5) && digit(u[5])) major = uint8_t(u[5] - '0');
  if (major != 1) minor = 0;
  return false;
}

}  // namespace

struct Framer::Ctx {
  Conn& c;
  const flow::Flow& f;
  int dir;
  Side& s;
  uint64_t ts;
  bool request;
  const uint8_t* p = nullptr;  // the data being parsed
  uint32_t raw_from = 0;       // where the message under way begins in it
  const reasm::HalfStream* hs = nullptr;  // the connection's reassembly halves (data() only)
};

/* The framer's steps and their helpers run per byte or per token: they
 * are inlined into parse() (and the message-level ones into theirs), so
 * that splitting them costs no call. */
#define FRAMER_INLINE [[gnu::always_inline]] inline

namespace {

/* How parse() goes on after a step. */
enum Then : uint8_t {
  kOn,    // from where the step stopped; its bytes count toward the header block
  kNext,  // the same, without the count: a message began or ended (counted there)
  kLeft,  // the direction left parsing at the stop (cut, junk, error)
};

/* A flag of the message under way, with or without a record. */
FRAMER_INLINE void flag(Side& s, uint32_t f) noexcept {
  s.mflags |= f;
  if (s.cur) s.cur->flags |= f;
}

/* An LF at p[j] ends a line: flagged if bare (s.cr: the byte before p). */
FRAMER_INLINE void line_end(Side& s, const uint8_t* p, uint32_t j) noexcept {
  const bool cr = j > 0 ? p[j - 1] == '\r' : s.cr;
  if (!cr) flag(s, kBareLf);
}

}  // namespace

struct Framer::Stop {
  uint32_t i;  // where the step stopped in the data
  Then then;
};

/* How a message's body is framed (RFC 9112 6.3); hostile: not at all. */
enum class Framer::Body : uint8_t { kNone, kLength, kChunked, kClose, kTunnel, kHostile };

/* Framing that peers may read differently (RFC 9112 11.2): flagged and
 * counted. */
FRAMER_INLINE void Framer::ambiguous(Side& s) noexcept {
  flag(s, kAmbiguous);
  s_->ambiguous.add(1);
}

const char* verdict_name(Verdict v) noexcept {
  static const char* const names[kNumVerdicts] = {"record", "skip", "tag", "mirror", "drop"};
  return size_t(v) < kNumVerdicts ? names[size_t(v)] : "record";
}

const char* error_name(size_t err) noexcept {
  static const char* const names[] = {"",
#define HTTP_ERROR(n) #n,
#include "http/errors.def"
#undef HTTP_ERROR
  };
  return err < sizeof names / sizeof *names ? names[err] : "";
}

Framer::Framer(Stats* s, Records records, uint32_t max_header_bytes, uint32_t pending, uint64_t body_limit)
    : s_(s), rec_(records), max_header_bytes_(max_header_bytes), body_limit_(body_limit),
      pool_(new Pending[pending ? pending : 1]()) {
  for (uint32_t i = pending; i-- > 0;) {
    pool_[i].next = free_;
    free_ = i;
  }
}

Framer::~Framer() = default;

void Framer::set_carry(const std::vector<std::string>& names, uint32_t max_bytes) {
  carry_n_ = 0;
  carry_lens_ = 0;
  for (const std::string& n : names) {
    if (carry_n_ == kCarryMax || n.empty() || n.size() > kCarryNameMax) continue;  // config checks
    uint8_t w[24] = {}, fold[24] = {};
    for (size_t i = 0; i < n.size(); i++) {
      w[i] = lower(uint8_t(n[i]));
      if (w[i] >= 'a' && w[i] <= 'z') fold[i] = 0x20;
    }
    std::memcpy(carry_w_[carry_n_], w, sizeof w);
    std::memcpy(carry_fold_[carry_n_], fold, sizeof fold);
    carry_len_[carry_n_] = uint8_t(n.size());
    carry_lens_ |= 1u << n.size();
    carry_n_++;
  }
  carry_max_ = uint16_t(std::min<uint32_t>(max_bytes, kHeadersMax));
}

/* Which carried header a name is (-1: none). Most names are none: the
 * length mask turns them away before any comparison. */
int Framer::carry_of(const uint8_t* p, size_t n, bool lower_already) const noexcept {
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  if (n > kCarryNameMax || !(carry_lens_ >> n & 1)) return -1;
  uint64_t w[3] = {};
  std::memcpy(w, p, n);
  for (uint8_t i = 0; i < carry_n_; i++) {
    if (carry_len_[i] != n) continue;
    // Upper-case letters differ from the stored lower case in 0x20 only;
    // non-letters must match exactly ("^" is not "~"). A name read in
    // place may be in any case; one from Side::tok is lower-case already.
    const uint64_t* f = carry_fold_[i];
    const uint64_t* c = carry_w_[i];
    if (lower_already ? (w[0] == c[0]) & (w[1] == c[1]) & (w[2] == c[2])
                      : ((w[0] | f[0]) == c[0]) & ((w[1] | f[1]) == c[1]) & ((w[2] | f[2]) == c[2]))
      return i;
  }
  return -1;
}

/* Opens an entry for a carried header in the message being built; false
 * when there is no room even for its 3-byte head (flagged, counted). */
void Framer::carry_begin(Side& s, uint8_t idx) noexcept {
  Message* m = s.cur;
  if (m->hdrs_len + 3u > carry_max_) {
    if (!(m->flags & kHeadersTruncated)) s_->headers_truncated.add(1);
    m->flags |= kHeadersTruncated;
    s.hdr = kHOther;
    return;
  }
  m->hdr_last = m->hdrs_len;
  m->hdrs[m->hdrs_len] = idx;
  m->hdrs[m->hdrs_len + 1] = m->hdrs[m->hdrs_len + 2] = 0;
  m->hdrs_len = uint16_t(m->hdrs_len + 3);
  s.hdr = kHCarry;
  s.carry_idx = idx;
}

namespace {

/* Value bytes of the carried header being read, cut at the bound. */
void carry_bytes(Stats* st, Side& s, const uint8_t* p, uint32_t n, uint16_t max) noexcept {
  Message* m = s.cur;
  if (!m || !n) return;
  const uint32_t room = max > m->hdrs_len ? max - m->hdrs_len : 0;
  if (n > room) {
    if (!(m->flags & kHeadersTruncated)) st->headers_truncated.add(1);
    m->flags |= kHeadersTruncated;
    n = room;
  }
  if (!n) return;
  std::memcpy(m->hdrs + m->hdrs_len, p, n);
  m->hdrs_len = uint16_t(m->hdrs_len + n);
  uint8_t* len = m->hdrs + m->hdr_last + 1;
  const uint32_t v = (uint32_t(len[0]) | uint32_t(len[1]) << 8) + n;
  len[0] = uint8_t(v);
  len[1] = uint8_t(v >> 8);
}

/* A carried value ends: trailing blanks and CR are not part of it. */
void carry_trim(Side& s) noexcept {
  Message* m = s.cur;
  if (!m) return;
  uint8_t* len = m->hdrs + m->hdr_last + 1;
  uint32_t v = uint32_t(len[0]) | uint32_t(len[1]) << 8;
  while (v && (m->hdrs[m->hdrs_len - 1] == ' ' || m->hdrs[m->hdrs_len - 1] == '\t' ||
               m->hdrs[m->hdrs_len - 1] == '\r')) {
    v--;
    m->hdrs_len--;
  }
  len[0] = uint8_t(v);
  len[1] = uint8_t(v >> 8);
}

}  // namespace

uint32_t Framer::take() noexcept {
  const uint32_t e = free_;
  if (e == kNil) return kNil;
  free_ = pool_[e].next;
  pool_[e] = Pending{};
  pool_[e].next = kNil;
  pool_[e].held = kNil;
  s_->pending_in_use.set(++in_use_);
  return e;
}

void Framer::give(uint32_t e) noexcept {
  pool_[e].next = free_;
  free_ = e;
  s_->pending_in_use.set(--in_use_);
}

void Framer::reset(Side& s) noexcept {
  const uint32_t msgs = s.msgs;
  const uint8_t after_close = s.after_close, inner = s.inner;
  std::memset(static_cast<void*>(&s), 0, sizeof s);
  s.msgs = msgs;
  s.after_close = after_close;
  s.inner = inner;
  s.slot = kNil;
}

void Framer::start(Conn& c, const flow::Flow& f, int client, const bool synced[2]) noexcept {
  if (c.started) {
    // Reused without end(): give its entries back, emit nothing (its
    // records belong to a connection that is gone).
    for (uint32_t e = c.head; e != kNil;) {
      const uint32_t nx = pool_[e].next;
      if (pool_[e].rec) release(pool_[e].rec);
      give(e);
      e = nx;
    }
    for (uint32_t e = c.held; e != kNil;) {
      const uint32_t nx = pool_[e].next;
      if (pool_[e].rec) release(pool_[e].rec);
      give(e);
      e = nx;
    }
  }
  std::memset(static_cast<void*>(&c), 0, sizeof c);
  c.head = c.tail = c.held = c.held_tail = kNil;
  c.started = 1;
  c.client = uint8_t(client);
  uint32_t h = flow::stable_hash(f.key, 0);
  h = rte_hash_crc_4byte(f.generation, h);
  c.conn_hash = rte_hash_crc_8byte(f.created_ns, h);
  c.conn_id = flow::connection_id(f.key, f.generation, f.created_ns);
  for (int d = 0; d < 2; d++) {
    reset(c.side[d]);
    if (synced[d]) {
      c.side[d].state = kParsing;
    } else {
      // Mid-stream: the first bytes may be the middle of a message.
      c.side[d].state = kResync;
      c.side[d].after_gap = 1;
      c.side[d].last_lf = 1;
    }
  }
}

Verdict Framer::judge(Conn& c, Message* m) noexcept {
  if (m->judged) return Verdict(m->verdict);
  Verdict v = Verdict::kRecord;
  if (rules_) {
    const match::Result r = http::judge(*rules_, *m);
    v = Verdict(r.action);
    if (v == Verdict::kDrop && !(c.acts & kActDrop)) {
      c.acts |= kActDrop;
      c.reject = r.reject;
    }
    if (v == Verdict::kMirror) c.acts |= kActMirror;
  }
  m->verdict = uint8_t(v);
  m->judged = 1;
  s_->verdicts[size_t(v)].add(1);
  return v;
}

Message* Framer::take_record() noexcept {
  return rec_.messages ? static_cast<Message*>(rec_.messages->take()) : nullptr;
}

void Framer::release(Message* m) noexcept {
  if (m->raw) rec_.raw->put_back(m->raw);
  rec_.messages->put_back(m);
}

void Framer::export_record(Message* m) noexcept {
  if (!rec_.files) {
    release(m);
    return;
  }
  uint8_t* raw = m->raw;
  const bool ok = rec_.messages->push(m);
  if (raw) {
    rec_.raw->handed_on();  // travels with its record now, or goes back
    if (!ok) core::Channel::put(raw);
  }
}

void Framer::deliver(Conn& c, Message* m) noexcept {
  const Verdict v = judge(c, m);
  if (v == Verdict::kSkip) {
    release(m);
    return;
  }
  c.exported = 1;
  export_record(m);
}

void Framer::judge_request(Conn& c, Pending& p) noexcept {
  if (p.judged || !p.rec) return;
  p.verdict = uint8_t(judge(c, p.rec));
  p.rule = p.rec->rule_index;
  p.judged = 1;
}

void Framer::emit_request(Conn& c, Pending& p) noexcept {
  if (!p.rec) return;
  deliver(c, p.rec);
  p.rec = nullptr;
}

/* Responses held before their request: delivered in order, paired or not. */
void Framer::release_held(Conn& c, uint32_t e, bool paired) noexcept {
  while (e != kNil) {
    Pending& h = pool_[e];
    const uint32_t nx = h.next;
    if (h.rec) {
      if (!paired) h.rec->flags |= kUnpaired;
      deliver(c, h.rec);
    }
    if (!paired && h.final) s_->unpaired_responses.add(1);
    give(e);
    e = nx;
  }
}

void Framer::begin_message(Ctx& k) noexcept {
  Side& s = k.s;
  Message* m = take_record();
  if (!m) s_->records_dropped.add(1);
  s.mflags = (s.after_gap ? uint32_t(kAfterGap) : 0u) | (s.junk ? uint32_t(kJunkSkipped) : 0u) |
             (s.after_close ? uint32_t(kAfterClose) : 0u) | (s.inner ? uint32_t(kInner) : 0u);
  if (m) open_record(k, m);
  if (s.after_gap) s_->after_gap.add(1);
  if (s.after_close) s_->after_close.add(1);
  if (s.inner) s_->inner_messages.add(1);
  s.after_gap = 0;
  s.junk = 0;
  s.tunnel = 0;
  s.msgs++;
  s.cur = m;
  s.in_msg = 1;
  s.has_start = 0;
  s.hdr_bytes = 0;
  s.pair = kPairNone;
  // Per-message framing state.
  s.remaining = s.cl = 0;
  s.status = 0;
  s.hdr = kHOther;
  s.tok_len = s.wtok_len = 0;
  s.major = 1, s.minor = 1;
  s.has_cl = s.cl_bad = s.cl_in = s.chunked = s.te = s.te_other = 0;
  s.conn_close = s.conn_keep = s.conn_upgrade = s.upgrade_hdr = s.method_kind = 0;
  s.http09 = s.trailers = s.cl_conflict = s.cl_big = 0;
  if (k.request) queue_request(k, m);
  else pair_response(k, m);
}

/* A new message's record: what is known when its first byte is. */
FRAMER_INLINE void Framer::open_record(Ctx& k, Message* m) noexcept {
  const Conn& c = k.c;
  const Side& s = k.s;
  // Zero the fields, not the ~500 bytes of text arrays: those are read up
  // to their recorded length or NUL. The record crosses to the sink
  // thread and comes back through the pool, so each cache line written
  // here is a miss on another core's line.
  static_assert(offsetof(Message, uri) < offsetof(Message, body_len) &&
                offsetof(Message, body_len) < offsetof(Message, rule) &&
                offsetof(Message, rule) < offsetof(Message, tag));
  std::memset(static_cast<void*>(m), 0, offsetof(Message, uri));
  std::memset(static_cast<void*>(&m->body_len), 0, offsetof(Message, rule) - offsetof(Message, body_len));
  m->uri[0] = m->host[0] = m->rule[0] = m->tag[0] = 0;
  m->key = k.f.key;
  m->client_side = c.client;
  m->request = k.request;
  m->generation = k.f.generation;
  m->conn_id = c.conn_id;
  m->index = s.msgs;
  m->ts_first_ns = k.ts;
  m->latency_ns = -1;
  m->rule_index = -1;
  m->flags = s.mflags;
  if (s.inner) set_id(m->outer, *m, c, c.outer);
  if (rec_.raw) {
    // No record of a message may differ between two offline runs, so
    // offline waits for a buffer like for a record; live goes without.
    m->raw = static_cast<uint8_t*>(rec_.raw->take());
    m->raw_cap = m->raw ? rec_.raw_cap : 0;
    if (!m->raw) {
      m->flags |= kNoRaw;
      s_->raw_dropped.add(1);
    }
  }
}

/* A request begins: the next exchange, at the tail of the connection's
 * queue (its pending entry), and the answer to responses that came
 * before it. */
FRAMER_INLINE void Framer::queue_request(Ctx& k, Message* m) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  const uint32_t exchange = c.exchanges++;
  if (m) set_id(m->id, *m, c, exchange);
  const uint32_t e = take();
  s.slot = e;
  if (e == kNil) {
    s_->pipeline_overflow.add(1);  // its response is marked unpaired (Conn::answer)
    return;
  }
  Pending& p = pool_[e];
  p.rec = m;
  p.exchange = exchange;
  p.method = 0xFF;
  p.rule = -1;
  if (c.tail == kNil) c.head = e; else pool_[c.tail].next = e;
  c.tail = e;
  c.n++;
  if (c.held != kNil) take_held(c, p);
}

/* Responses that came first answer this request: up to the first final
 * one, which they get the id of. It is emitted before them, when it ends. */
FRAMER_INLINE void Framer::take_held(Conn& c, Pending& p) noexcept {
  uint32_t last = c.held;
  while (!pool_[last].final && pool_[last].next != kNil) last = pool_[last].next;
  p.held = c.held;
  c.held = pool_[last].next;
  if (c.held == kNil) c.held_tail = kNil;
  pool_[last].next = kNil;
  p.answered = 1;
  for (uint32_t h = p.held; h != kNil; h = pool_[h].next) {
    if (pool_[h].rec) set_id(pool_[h].rec->id, *pool_[h].rec, c, p.exchange);
    if (pool_[h].final) c.answer = p.exchange + 1;
  }
}

/* A response begins: which request it answers (Pair), decided now. */
FRAMER_INLINE void Framer::pair_response(Ctx& k, Message* m) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  if (c.n && pool_[c.head].exchange == c.answer) return answer_head(k, m);
  const reasm::HalfStream* cs = k.hs ? &k.hs[c.client] : nullptr;
  if (cs && cs->ack_known && cs->seq_known && reasm::seq_gt(cs->peer_ack, cs->next_seq) &&
      cs->peer_ack - cs->next_seq < (1u << 30)) {
    // The server acknowledged client bytes not delivered yet: its request
    // is on its way (capture timing). Held until it begins.
    s.pair = kPairHeld;
    s_->early_responses.add(1);
    return;
  }
  if (c.answer < c.exchanges) {
    // Its request found the pool empty: the right id, but unpaired.
    s.pair = kPairLost;
    if (m) set_id(m->id, *m, c, c.answer);
    return;
  }
  if (m) set_id(m->id, *m, c, 0x80000000u | s.msgs);
}

/* The response answers the oldest request waiting. The exchange is what
 * the operator selects: a response takes its request's verdict. A request
 * answered before it ended (100 Continue, an early error) is judged now,
 * on its headers and what came of its body. */
FRAMER_INLINE void Framer::answer_head(Ctx& k, Message* m) noexcept {
  Conn& c = k.c;
  Pending& p = pool_[c.head];
  k.s.pair = kPairHead;
  if (p.method != 0xFF) judge_request(c, p);
  if (m && p.judged) {
    m->judged = 1;
    m->verdict = p.verdict;
    m->rule_index = p.rule;
    if (rules_) http::describe(*rules_, *m);
    s_->verdicts[m->verdict].add(1);
  }
  p.answered = 1;
  if (p.completed) emit_request(c, p);
  if (m) set_id(m->id, *m, c, p.exchange);
}

void Framer::finish_message(Ctx& k, bool cut) noexcept {
  Side& s = k.s;
  Message* m = s.cur;
  s.cur = nullptr;
  s.in_msg = 0;
  if (m) m->ts_last_ns = k.ts;
  if (s.mflags & kBareLf) s_->bare_lf.add(1);
  if (s.mflags & kOddVersion) s_->odd_version.add(1);
  if (k.request) finish_request(k, m, cut);
  else finish_response(k, m, cut);
}

/* A request ends: judged now, while the packet that ended it can still be
 * withheld; emitted if a response to it began, with the responses held
 * for it. */
FRAMER_INLINE void Framer::finish_request(Ctx& k, Message* m, bool cut) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  if (!cut) s_->requests.add(1);
  if (s.slot == kNil) {
    if (m) {
      m->flags |= kUnpaired;
      deliver(c, m);
    }
    return;
  }
  Pending& p = pool_[s.slot];
  const uint32_t e = s.slot;
  s.slot = kNil;
  p.completed = 1;
  p.ts_last_ns = k.ts;
  if (s.http09) p.method = kM09;
  judge_request(c, p);
  if (p.answered) emit_request(c, p);
  if (p.held == kNil) return;
  bool final = false;
  for (uint32_t h = p.held; h != kNil; h = pool_[h].next) final |= pool_[h].final;
  release_held(c, p.held, true);
  p.held = kNil;
  if (final && c.head == e) drop_head(c);  // answered in full: off the queue
}

/* The oldest pending request is done with: off the queue, back to the pool. */
FRAMER_INLINE void Framer::drop_head(Conn& c) noexcept {
  const uint32_t e = c.head;
  c.head = pool_[e].next;
  if (c.head == kNil) c.tail = kNil;
  c.n--;
  give(e);
}

/* A response ends: counted, held if its request is still to come, and a
 * final one settles its exchange. */
FRAMER_INLINE void Framer::finish_response(Ctx& k, Message* m, bool cut) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  const uint16_t status = s.status;
  const bool interim = s.has_start && status >= 100 && status < 200 && status != 101;
  if (interim) {
    if (!cut) s_->interim.add(1);
    if (m) m->flags |= kInterim;
  } else if (!cut) {
    s_->responses.add(1);
  }
  if (s.pair == kPairHeld && c.n && pool_[c.head].exchange == c.answer) {
    // Its request began while it was being read.
    Pending& p = pool_[c.head];
    p.answered = 1;
    if (p.completed) emit_request(c, p);
    if (m) set_id(m->id, *m, c, p.exchange);
    s.pair = kPairHead;
  }
  if (s.pair == kPairHeld && hold_response(c, s, m, interim)) return;
  if (!interim) settle_exchange(c, s, m);
  if (m) deliver(c, m);
}

/* A response whose request is on its way waits for it in the connection's
 * held list; false when the pool is dry (then it goes unpaired). */
FRAMER_INLINE bool Framer::hold_response(Conn& c, Side& s, Message* m, bool interim) noexcept {
  const uint32_t e = take();
  if (e != kNil) {
    pool_[e].rec = m;
    pool_[e].final = !interim;
    if (c.held_tail == kNil) c.held = e; else pool_[c.held_tail].next = e;
    c.held_tail = e;
    return true;
  }
  s_->pipeline_overflow.add(1);
  s.pair = kPairNone;
  return false;
}

/* A final response ends its exchange: the request it answers is off the
 * queue (emitted now if it had not been), or it answers none. */
FRAMER_INLINE void Framer::settle_exchange(Conn& c, const Side& s, Message* m) noexcept {
  if (!(s.pair == kPairHead && c.n)) {
    if (s.pair == kPairLost) c.answer++;
    s_->unpaired_responses.add(1);
    if (m) m->flags |= kUnpaired;
    return;
  }
  const uint32_t e = c.head;
  Pending& p = pool_[e];
  Side& rq = c.side[c.client];
  if (p.rec) {
    // Answered before it ended (an early error response): report it now.
    if (rq.cur == p.rec) {
      // The request side keeps parsing it, without a record.
      rq.cur = nullptr;
      rq.slot = kNil;
    }
    if (!p.completed) {
      p.rec->flags |= kIncomplete;
      s_->incomplete.add(1);
    }
    emit_request(c, p);
  }
  if (rq.slot == e) rq.slot = kNil;
  c.answer = p.exchange + 1;
  drop_head(c);
}

/* The message under way ends here, cut; then the direction searches. */
void Framer::cut(Ctx& k, uint32_t why) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  if (s.in_msg && !s.has_start) {
    // Never a start line: not a message. Take it back.
    s_->not_http.add(1);
    if (s.cur) release(s.cur);
    s.cur = nullptr;
    if (k.request && s.slot != kNil) {
      // It was the newest request in the queue.
      const uint32_t e = s.slot;
      Pending& p = pool_[e];
      if (p.held != kNil) {  // responses it took: back to waiting
        uint32_t last = p.held;
        while (pool_[last].next != kNil) last = pool_[last].next;
        pool_[last].next = c.held;
        if (c.held == kNil) c.held_tail = last;
        c.held = p.held;
        c.answer = p.exchange;
      }
      uint32_t prev = kNil;
      for (uint32_t x = c.head; x != e && x != kNil; x = pool_[x].next) prev = x;
      if (prev == kNil) c.head = kNil; else pool_[prev].next = kNil;
      c.tail = prev;
      c.n--;
      give(e);
    }
    if (k.request) c.exchanges--;
    s.slot = kNil;
    s.in_msg = 0;
  } else if (s.in_msg) {
    // A message was under way: end it here, incomplete.
    s.mflags |= kIncomplete | why;
    if (s.cur) s.cur->flags |= kIncomplete | why;
    s_->incomplete.add(1);
    finish_message(k, true);
  }
  reset(s);
  s.state = kResync;
  s.after_gap = 1;
  s.last_lf = 1;
}

void Framer::fail(Ctx& k, Error e, uint32_t why) noexcept {
  s_->parse_errors.add(1);
  s_->errors[e].add(1);
  cut(k, why);
}

/* Where a start line was due, something else: skipped to the next start
 * line, counted, and the message found there flagged. Inside a tunnel the
 * bytes are another protocol: the direction stops. */
void Framer::junk(Ctx& k) noexcept {
  Side& s = k.s;
  const bool fresh_tunnel = s.tunnel;
  if (s.in_msg) {
    cut(k, 0);
  } else {
    s_->not_http.add(1);
    reset(s);
  }
  if (fresh_tunnel) {
    s.state = kOff;
    return;
  }
  s.state = kResync;
  s.after_gap = 0;
  s.junk = 1;
  s.last_lf = 0;
}

void Framer::gap(Conn& c, const flow::Flow& f, int dir, uint64_t ts) noexcept {
  if (!c.started || c.off || c.side[dir].state == kOff) return;
  Ctx k{c, f, dir, c.side[dir], ts, dir == c.client};
  cut(k, 0);
}

void Framer::capture(Message* m, const uint8_t* p, uint32_t n) noexcept {
  if (!m || !m->raw || n == 0) return;
  uint32_t take = n;
  if (take > m->raw_cap - m->raw_len) {
    take = m->raw_cap - m->raw_len;
    if (!(m->flags & kRawTruncated)) s_->raw_truncated.add(1);
    m->flags |= kRawTruncated;
  }
  std::memcpy(m->raw + m->raw_len, p, take);
  m->raw_len += take;
}

/* Headers ended: how long the body is (RFC 9112 6.3), and what the
 * message says about the connection. */
void Framer::headers_done(Ctx& k) noexcept {
  Conn& c = k.c;
  Side& s = k.s;
  Message* m = s.cur;
  if (s.trailers) {
    s.ps = kStart;
    finish_message(k, false);
    return;
  }
  if (m) {
    m->http_minor = s.minor;
    m->chunked = s.chunked;
  }
  const bool close = s.conn_close || s.major == 0 || (s.major == 1 && s.minor == 0 && !s.conn_keep);
  if (s.cl_bad) return fail(k, kErr_invalid_content_length, kParseError);
  if (s.cl_conflict) {
    ambiguous(s);
    return fail(k, kErr_unexpected_content_length, kParseError);
  }
  const Body body = length_body(k, k.request ? request_body(k) : response_body(k));
  if (m && body == Body::kChunked) m->chunked = 1;
  if (!frame_body(k, body)) return;
  if (close && body != Body::kClose) {
    if (k.request) s.after_close = 1;
    else if (s.status >= 200) c.side[0].after_close = c.side[1].after_close = 1;
  }
}

/* A request has a body only if its headers give a length (RFC 9112 6.3
 * item 7); what its method and Upgrade say is kept for its response. */
FRAMER_INLINE Framer::Body Framer::request_body(Ctx& k) noexcept {
  Side& s = k.s;
  if (s.slot != kNil) pool_[s.slot].method = s.method_kind;
  if (s.method_kind == kMConnect || (s.upgrade_hdr && s.conn_upgrade)) flag(s, kUpgrade);
  return Body::kNone;
}

/* A response's body by its status and its request (before its headers
 * have a say); its latency, now that its headers are in. */
FRAMER_INLINE Framer::Body Framer::response_body(Ctx& k) noexcept {
  const Conn& c = k.c;
  const Side& s = k.s;
  Message* m = s.cur;
  const Pending* head = s.pair == kPairHead && c.n ? &pool_[c.head] : nullptr;
  if (head && m && head->ts_last_ns && m->ts_first_ns >= head->ts_last_ns)
    m->latency_ns = int64_t(m->ts_first_ns - head->ts_last_ns);
  if (s.status == 101 || (head && head->method == kMConnect && s.status / 100 == 2)) return Body::kTunnel;
  // RFC 9110 15.3.5, 15.4.5: never a body, whatever Content-Length says
  // (a 304 repeats the representation's length). The response cannot say
  // it answers HEAD; the request can.
  if (s.status < 200 || s.status == 204 || s.status == 304 || (head && head->method == kMHead))
    return Body::kNone;
  return Body::kClose;
}

/* What Transfer-Encoding and Content-Length make of the body, where they
 * have a say (not for a tunnel or a bodiless response). */
FRAMER_INLINE Framer::Body Framer::length_body(Ctx& k, Body body) noexcept {
  Side& s = k.s;
  if (body == Body::kTunnel || (!k.request && body == Body::kNone)) return body;
  if (s.te) {
    if (s.chunked) {
      // Content-Length with chunked: the transfer coding wins (RFC 9112
      // 6.3, as at most servers); flagged.
      if (s.has_cl) ambiguous(s);
      return Body::kChunked;
    }
    if (k.request || s.has_cl) {
      s_->unknown_coding.add(1);
      return Body::kHostile;
    }
    return Body::kClose;  // RFC 9112 6.3 item 4: a response runs to the close
  }
  if (!s.has_cl) return body;
  if (s.cl_big || s.cl > body_limit_) {
    s_->implausible_length.add(1);
    return Body::kHostile;
  }
  s.remaining = s.cl;
  return s.cl ? Body::kLength : Body::kNone;
}

/* The parser goes on to the body; false when the message is over and
 * the direction is elsewhere (a tunnel, hostile framing cut). */
FRAMER_INLINE bool Framer::frame_body(Ctx& k, Body body) noexcept {
  Side& s = k.s;
  switch (body) {
    case Body::kNone:
      s.ps = kStart;
      finish_message(k, false);
      break;
    case Body::kLength: s.ps = kBodyLen; break;
    case Body::kChunked:
      s.ps = kChunkSize;
      s.remaining = 0;
      s.tok_len = 0;
      break;
    case Body::kClose: s.ps = kBodyClose; break;
    case Body::kTunnel:
      begin_tunnel(k);
      return false;
    case Body::kHostile:
      // Not a length a peer can mean: flagged, cut, and the framing goes
      // on at the next start line (a request hidden in the "body" shows).
      ambiguous(s);
      cut(k, 0);
      return false;
  }
  return true;
}

/* A 101 or a 2xx to CONNECT: both directions now carry the tunnel,
 * framed as inner messages if HTTP, else stopped (junk()). */
FRAMER_INLINE void Framer::begin_tunnel(Ctx& k) noexcept {
  Conn& c = k.c;
  flag(k.s, kUpgrade);
  const uint32_t outer = c.n ? pool_[c.head].exchange : c.answer;
  k.s.ps = kStart;
  finish_message(k, false);
  s_->upgrades.add(1);
  c.tunnel = 1;
  c.outer = outer;
  for (Side& x : c.side) {
    x.inner = 1;
    x.tunnel = 1;
    if (!x.in_msg) {
      x.state = kParsing;
      x.ps = kStart;
    }
  }
}

/* One header line's value bytes, for the few headers framing depends on. */
FRAMER_INLINE static void header_bytes(Side& s, const uint8_t* p, uint32_t n, uint32_t& flags);

FRAMER_INLINE static void word_done(Side& s) {
  if (!s.wtok_len) return;
  const std::string_view w(s.wtok, s.wtok_len);
  if (s.hdr == kHTe) {
    s.te = 1;
    s.chunked = w == "chunked";
    if (!s.chunked && w != "identity") s.te_other = 1;
  } else if (s.hdr == kHConn) {
    if (w == "close") s.conn_close = 1;
    else if (w == "keep-alive") s.conn_keep = 1;
    else if (w == "upgrade") s.conn_upgrade = 1;
  }
  s.wtok_len = 0;
}

FRAMER_INLINE static void cl_done(Side& s) {
  if (!s.cl_in) return;
  if (s.cl_bad == 2) s.cl_bad = 0;  // an empty line continued by obs-fold
  if (s.has_cl && s.remaining != s.cl) s.cl_conflict = 1;
  s.cl = s.remaining;
  s.has_cl = 1;
  s.cl_in = 0;
  s.remaining = 0;
}

FRAMER_INLINE static void header_bytes(Side& s, const uint8_t* p, uint32_t n, uint32_t&) {
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t ch = p[i];
    if (s.hdr == kHCl) {
      if (digit(ch)) {
        if (s.remaining > (UINT64_MAX - 9) / 10) s.cl_big = 1;
        else s.remaining = s.remaining * 10 + (ch - '0');
        s.cl_in = 1;
      } else if (ch == ',') {
        if (!s.cl_in) s.cl_bad = 1;
        cl_done(s);
      } else if (ch != ' ' && ch != '\t' && ch != '\r') {
        s.cl_bad = 1;
      }
    } else if (s.hdr == kHUpgrade) {
      if (ch != ' ' && ch != '\t' && ch != '\r') s.upgrade_hdr = 1;
    } else if (ch == ',' || ch == ' ' || ch == '\t' || ch == '\r' || ch == ';') {
      word_done(s);
    } else if (s.wtok_len < sizeof s.wtok) {
      s.wtok[s.wtok_len++] = char(lower(ch));
    } else {
      s.wtok_len = sizeof s.wtok;  // too long to be a word we look for
      s.wtok[0] = '#';
    }
  }
}

static uint8_t header_kind(const Side& s) {
  size_t n = s.tok_len;
  while (n && (s.tok[n - 1] == ' ' || s.tok[n - 1] == '\t')) n--;
  if (s.trailers || n >= sizeof s.tok) return kHOther;
  // By length first: most header lines are none of these.
  switch (n) {
    case 4: return std::memcmp(s.tok, "host", 4) == 0 ? kHHost : kHOther;
    case 7: return std::memcmp(s.tok, "upgrade", 7) == 0 ? kHUpgrade : kHOther;
    case 10: return std::memcmp(s.tok, "connection", 10) == 0 ? kHConn : kHOther;
    case 14: return std::memcmp(s.tok, "content-length", 14) == 0 ? kHCl : kHOther;
    case 16: return std::memcmp(s.tok, "proxy-connection", 16) == 0 ? kHConn : kHOther;
    case 17: return std::memcmp(s.tok, "transfer-encoding", 17) == 0 ? kHTe : kHOther;
    default: return kHOther;
  }
}

/* The same for a name read in place (any case). */
static uint8_t header_kind_ci(const uint8_t* p, size_t n) {
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  switch (n) {
    case 4: return ieq(p, "host", 4) ? kHHost : kHOther;
    case 7: return ieq(p, "upgrade", 7) ? kHUpgrade : kHOther;
    case 10: return ieq(p, "connection", 10) ? kHConn : kHOther;
    case 14: return ieq(p, "content-length", 14) ? kHCl : kHOther;
    case 16: return ieq(p, "proxy-connection", 16) ? kHConn : kHOther;
    case 17: return ieq(p, "transfer-encoding", 17) ? kHTe : kHOther;
    default: return kHOther;
  }
}

/* The end of a header line (its LF at p[j]). */
FRAMER_INLINE static void header_line_done(Side& s) {
  if (s.hdr == kHCl) {
    if (!s.cl_in && !s.has_cl && !s.cl_bad) s.cl_bad = 2;  // empty: bad unless folded on
    cl_done(s);
  } else if (s.hdr == kHTe || s.hdr == kHConn) {
    word_done(s);
  } else if (s.hdr == kHCarry) {
    carry_trim(s);
  } else if (s.hdr == kHHost && s.cur) {
    while (s.cur->host_len && (s.cur->host[s.cur->host_len - 1] == ' ' ||
                               s.cur->host[s.cur->host_len - 1] == '\t' ||
                               s.cur->host[s.cur->host_len - 1] == '\r'))
      s.cur->host[--s.cur->host_len] = 0;
  }
}

/* Frames from p until the data ends or the direction must search;
 * returns the bytes used. One step per part of a message (below, in the
 * order a message runs), all inlined here so that the framing stays one
 * loop: hot steps scan with memchr or take a whole body run, the rest go
 * a byte at a time (start lines and the headers framing depends on are
 * short). */
uint32_t Framer::parse(Ctx& k, const uint8_t* p, uint32_t len) noexcept {
  Side& s = k.s;
  uint32_t i = 0;
  k.p = p;
  k.raw_from = 0;
  while (i < len && s.state == kParsing) {
    const uint32_t i0 = i;
    const Stop r = step(k, s, p, i, len);
    i = r.i;
    // The direction left parsing at p[i] (cut or junk): the message's
    // bytes up to there are already captured where it mattered.
    if (r.then == kLeft) return i;
    if (r.then == kOn && s.ps <= kHdrSkip && s.in_msg && header_overflow(k, s, i, i - i0)) return i;
  }
  if (s.in_msg) capture(s.cur, p + k.raw_from, i - k.raw_from);
  if (i) s.cr = p[i - 1] == '\r';
  return i;
}

FRAMER_INLINE Framer::Stop Framer::step(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  switch (s.ps) {
    case kStart: return start_line(k, s, p, i, len);
    case kMethod: return method(k, s, p, i, len);
    case kSpTarget: return before_target(k, s, p, i, len);
    case kTarget: return target(k, s, p, i, len);
    case kSpVersion: return before_version(k, s, p, i, len);
    case kReqVersion:
    case kRespVersion: return version(k, s, p, i, len);
    case kSpStatus: return before_status(k, s, p, i, len);
    case kStatus: return status(k, s, p, i, len);
    case kEol:
    case kHdrSkip:
    case kChunkExt: return line_rest(k, s, p, i, len);
    case kHdrStart: return header_start(k, s, p, i, len);
    case kHdrCr: return header_cr(k, s, p, i, len);
    case kHdrName: return header_name(k, s, p, i, len);
    case kHdrValueLead: return value_lead(k, s, p, i, len);
    case kHdrValue: return header_value(k, s, p, i, len);
    case kBodyLen: return body_length(k, s, p, i, len);
    case kChunkSize: return chunk_size(k, s, p, i, len);
    case kChunkData: return chunk_data(k, s, p, i, len);
    case kChunkDataEnd: return chunk_data_end(k, s, p, i, len);
    case kBodyClose: return body_close(k, s, p, i, len);
  }
  return {i, kOn};  // not a PState: nothing read
}

/* The start line and the header block are bounded (max_header_bytes):
 * past it the message is cut and counted, as a server would refuse it,
 * so that a peer cannot make the framer hold a header block forever. */
FRAMER_INLINE bool Framer::header_overflow(Ctx& k, Side& s, uint32_t i, uint32_t used) noexcept {
  s.hdr_bytes += used;
  if (s.hdr_bytes <= max_header_bytes_ || s.trailers) return false;
  flag(s, kOversizeHeaders);
  s_->oversize_headers.add(1);
  capture_upto(k, i);
  fail(k, kErr_user, kOversizeHeaders);
  return true;
}

/* The message under way ends before p[end]: its raw bytes so far. */
FRAMER_INLINE void Framer::capture_upto(Ctx& k, uint32_t end) noexcept {
  capture(k.s.cur, k.p + k.raw_from, end - k.raw_from);
  k.raw_from = end;
}

/* At a message boundary. Empty lines between messages are tolerated (and
 * counted), as servers do; a request begins with a token, a response with
 * "h" (any case); anything else is junk. */
FRAMER_INLINE Framer::Stop Framer::start_line(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t) noexcept {
  const uint8_t ch = p[i];
  if (ch == '\r' || ch == '\n') {
    if (ch == '\n') s_->empty_lines.add(1);
    k.raw_from = i + 1;
    return {i + 1, kNext};
  }
  k.raw_from = i;
  if (k.request ? !kTchar.t[ch] : (lower(ch) != 'h' && !answers_http09(k))) {
    junk(k);
    return {i, kLeft};
  }
  begin_message(k);
  if (k.request || lower(ch) == 'h') {
    s.ps = k.request ? kMethod : kRespVersion;
    s.tok_len = 0;
    return {i, kNext};
  }
  // The raw answer to an HTTP/0.9 request: no status line, no headers,
  // the body runs to the close.
  s.has_start = 1;
  mark_http09(s);
  s.ps = kBodyClose;
  return {i, kNext};
}

/* Whether the response due answers an HTTP/0.9 request (which has no
 * status line to wait for). */
FRAMER_INLINE bool Framer::answers_http09(const Ctx& k) const noexcept {
  return k.c.n && pool_[k.c.head].method != 0xFF && (pool_[k.c.head].method & kM09);
}

/* An HTTP/0.9 message: flagged and counted, whichever side. */
FRAMER_INLINE void Framer::mark_http09(Side& s) noexcept {
  s.http09 = 1;
  flag(s, kHttp09);
  s_->http09.add(1);
}

/* The method: its first bytes are kept for the record and its kind
 * decides the response's framing (HEAD, CONNECT). */
FRAMER_INLINE Framer::Stop Framer::method(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && kTchar.t[p[i]]) {
    if (s.tok_len < 15) s.tok[s.tok_len++] = char(p[i]);
    i++;
  }
  if (i == len) return {i, kOn};
  if (p[i] != ' ' && p[i] != '\t') {
    junk(k);
    return {i, kLeft};
  }
  s.tok[s.tok_len] = 0;
  const std::string_view mv(s.tok, s.tok_len);
  if (Message* m = s.cur) std::memcpy(m->method, s.tok, s.tok_len + 1u);
  s.method_kind = mv == "HEAD" ? kMHead : mv == "CONNECT" ? kMConnect : kMOther;
  if (!known_method(mv)) s_->extension_methods.add(1);
  s.ps = kSpTarget;
  return {i + 1, kOn};
}

/* Blanks after the method; a line that ends there is no request. */
FRAMER_INLINE Framer::Stop Framer::before_target(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t) noexcept {
  const uint8_t ch = p[i];
  if (ch == ' ' || ch == '\t') return {i + 1, kOn};
  if (ch == '\r' || ch == '\n') {
    junk(k);  // a method and nothing else
    return {i, kLeft};
  }
  s.ps = kTarget;
  s.has_start = 1;
  s.tok_len = 0;
  return {i, kOn};
}

/* The target, into the record (cut at kUriMax); its first bytes are kept
 * in case the line ends after it (one_word_request). */
FRAMER_INLINE Framer::Stop Framer::target(Ctx&, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  uint32_t j = i;
  while (j < len && !kWordEnd.t[p[j]]) j++;
  if (Message* m = s.cur) append(m->uri, m->uri_len, kUriMax, p + i, j - i, m->flags, kUriTruncated);
  const uint32_t keep = std::min<uint32_t>(j - i, uint32_t(sizeof s.tok - s.tok_len));
  std::memcpy(s.tok + s.tok_len, p + i, keep);
  s.tok_len = uint8_t(s.tok_len + keep);
  if (j == len) return {j, kOn};
  if (p[j] == ' ' || p[j] == '\t') {
    s.ps = kSpVersion;
    return {j, kOn};
  }
  one_word_request(s);
  return {j, kOn};
}

/* The line ends after one word: "GET HTTP/1.1" (no target, the word is
 * the version) or an HTTP/0.9 simple request. */
FRAMER_INLINE void Framer::one_word_request(Side& s) noexcept {
  const uint8_t* t = reinterpret_cast<const uint8_t*>(s.tok);
  if (s.tok_len >= 6 && ieq(t, "http/", 5) && digit(t[5])) {
    parse_version(s.tok, s.tok_len, s.major, s.minor);
    flag(s, kOddVersion);
    if (Message* m = s.cur) {
      m->uri_len = 0;
      m->uri[0] = 0;
    }
    s_->no_target.add(1);
  } else {
    s.major = 0;
    s.minor = 9;
    mark_http09(s);
  }
  s.ps = kEol;
}

/* Blanks after the target; "GET / " with no version is HTTP/0.9. */
FRAMER_INLINE Framer::Stop Framer::before_version(Ctx&, Side& s, const uint8_t* p, uint32_t i, uint32_t) noexcept {
  const uint8_t ch = p[i];
  if (ch == ' ' || ch == '\t') return {i + 1, kOn};
  if (ch == '\r' || ch == '\n') {
    s.major = 0;
    s.minor = 9;
    mark_http09(s);
    s.ps = kEol;
  } else {
    s.ps = kReqVersion;
    s.tok_len = 0;
  }
  return {i, kOn};
}

/* "HTTP/x.y" of a request or a response; any other version is framed as
 * written and flagged, but a response must start with "http/" (else it
 * is not one). */
FRAMER_INLINE Framer::Stop Framer::version(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && p[i] != ' ' && p[i] != '\r' && p[i] != '\n') {
    if (s.tok_len < sizeof s.tok) s.tok[s.tok_len++] = char(p[i]);
    i++;
  }
  if (i == len) return {i, kOn};
  if (s.ps == kRespVersion) {
    if (p[i] != ' ' || s.tok_len < 5 || !ieq(reinterpret_cast<const uint8_t*>(s.tok), "http/", 5)) {
      junk(k);
      return {i, kLeft};
    }
    s.ps = kSpStatus;
  } else {
    s.ps = kEol;
  }
  if (!parse_version(s.tok, s.tok_len, s.major, s.minor)) flag(s, kOddVersion);
  return {i, kOn};
}

FRAMER_INLINE Framer::Stop Framer::before_status(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && p[i] == ' ') i++;
  if (i == len) return {i, kOn};
  s.ps = kStatus;
  s.status = 0;
  s.tok_len = 0;
  return status(k, s, p, i, len);
}

/* Three digits, then a space or the line's end: anything else is an
 * error, since the body's framing depends on the code. Whole status
 * codes are the rule: one pass, not one step per digit. */
FRAMER_INLINE Framer::Stop Framer::status(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && digit(p[i]) && s.tok_len < 3) {
    s.status = uint16_t(s.status * 10 + (p[i] - '0'));
    s.tok_len++;
    i++;
  }
  if (i == len) return {i, kOn};
  if (s.tok_len != 3 || (p[i] != ' ' && p[i] != '\r' && p[i] != '\n')) {
    fail(k, kErr_invalid_status, kParseError);
    return {i, kLeft};
  }
  s.has_start = 1;
  if (s.cur) s.cur->status = s.status;
  s.ps = kEol;
  return {i, kOn};
}

/* The rest of a line nothing is read from (the start line's reason or
 * tail, a header line to skip, chunk extensions): one scan to its LF. */
FRAMER_INLINE Framer::Stop Framer::line_rest(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  const void* lf = std::memchr(p + i, '\n', len - i);
  if (!lf) return {len, kOn};
  const uint32_t j = uint32_t(static_cast<const uint8_t*>(lf) - p);
  line_end(s, p, j);
  i = j + 1;
  if (s.ps == kChunkExt) return chunk_line(k, s, p, i, len);
  if (s.ps == kHdrSkip) {
    s.ps = kHdrStart;
  } else if (!k.request || !s.http09) {
    s.ps = kHdrStart;
    s.tok_len = 0;  // no header yet for an obs-fold to continue
    s.hdr = kHOther;
  } else {
    s.ps = kStart;  // HTTP/0.9: the request is its line
    capture_upto(k, i);
    finish_message(k, false);
  }
  return {i, kOn};
}

/* A header line begins, or the empty line that ends the block. */
FRAMER_INLINE Framer::Stop Framer::header_start(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  const uint8_t ch = p[i];
  if (ch == '\r') {
    s.ps = kHdrCr;
    return {i + 1, kOn};
  }
  if (ch == '\n') {
    line_end(s, p, i);
    return headers_end(k, s, i + 1);
  }
  if (ch == ' ' || ch == '\t') return obs_fold(k, s, i);
  if (const void* lf = std::memchr(p + i, '\n', len - i))
    return header_line(k, s, p, i, uint32_t(static_cast<const uint8_t*>(lf) - p));
  // The line runs past the data: its name is read a byte at a time.
  s.ps = kHdrName;
  s.tok_len = 0;
  s.hdr = kHOther;
  return {i, kOn};
}

/* The header block ended before p[i] (its LF was the step's one byte). */
FRAMER_INLINE Framer::Stop Framer::headers_end(Ctx& k, Side& s, uint32_t i) noexcept {
  s.hdr_bytes += 1;
  capture_upto(k, i);
  headers_done(k);
  return {i, kNext};
}

/* obs-fold (RFC 9112 5.2): the previous value goes on, after a space. */
FRAMER_INLINE Framer::Stop Framer::obs_fold(Ctx&, Side& s, uint32_t i) noexcept {
  const uint8_t* sp = reinterpret_cast<const uint8_t*>(" ");
  s_->obs_fold.add(1);
  s.ps = s.tok_len ? kHdrValue : kHdrSkip;
  if (s.hdr == kHHost && s.cur) append(s.cur->host, s.cur->host_len, kHostMax, sp, 1, s.cur->flags, kHostTruncated);
  if (s.hdr == kHCarry) carry_bytes(s_, s, sp, 1, carry_max_);
  return {i + 1, kOn};
}

/* The whole line p[i..j] is here (the common case): find the colon,
 * classify the name by its length, and skip the lines framing and the
 * record do not depend on in one step. */
FRAMER_INLINE Framer::Stop Framer::header_line(Ctx&, Side& s, const uint8_t* p, uint32_t i, uint32_t j) noexcept {
  const void* colon = std::memchr(p + i, ':', j - i);
  line_end(s, p, j);
  if (!colon) {
    s_->header_no_colon.add(1);
    s.tok_len = 0;
    return {j + 1, kOn};
  }
  const uint32_t c = uint32_t(static_cast<const uint8_t*>(colon) - p);
  uint8_t kind = s.trailers ? uint8_t(kHOther) : header_kind_ci(p + i, c - i);
  if (kind == kHHost && s.cur && s.cur->host_len) kind = kHOther;  // the first Host counts
  s.hdr = kind;
  s.tok_len = 1;  // a header was seen (obs-fold continues it)
  if (kind == kHOther && carry_n_ && s.cur && !s.trailers) {
    const int ci = carry_of(p + i, c - i, false);
    if (ci >= 0) carry_begin(s, uint8_t(ci));
    kind = s.hdr;
  }
  if (kind == kHOther) return {j + 1, kOn};
  s.ps = kHdrValueLead;
  return {c + 1, kOn};
}

/* After a CR at a line's start: LF ends the header block; a lone CR is
 * part of a (broken) header line. */
FRAMER_INLINE Framer::Stop Framer::header_cr(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t) noexcept {
  if (p[i] == '\n') return headers_end(k, s, i + 1);
  s.ps = kHdrName;
  s.tok_len = 0;
  s.hdr = kHOther;
  return {i, kOn};
}

/* A name read a byte at a time (its line was cut by the data's end),
 * lower-cased into tok: classified at its colon as header_line does. */
FRAMER_INLINE Framer::Stop Framer::header_name(Ctx&, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && p[i] != ':' && p[i] != '\n') {
    if (s.tok_len < sizeof s.tok) s.tok[s.tok_len++] = char(lower(p[i]));
    i++;
  }
  if (i == len) return {i, kOn};
  if (p[i] == '\n') {
    s_->header_no_colon.add(1);
    line_end(s, p, i);
    s.tok_len = 0;
    s.ps = kHdrStart;
    return {i + 1, kOn};
  }
  s.hdr = header_kind(s);
  if (s.hdr == kHOther && carry_n_ && s.cur && !s.trailers && s.tok_len < sizeof s.tok) {
    const int ci = carry_of(reinterpret_cast<const uint8_t*>(s.tok), s.tok_len, true);
    if (ci >= 0) carry_begin(s, uint8_t(ci));
  }
  s.tok_len = 1;  // a header was seen (obs-fold continues it)
  if (s.hdr == kHHost && s.cur && s.cur->host_len) s.hdr = kHOther;  // the first Host counts
  s.ps = kHdrValueLead;
  return {i + 1, kOn};
}

FRAMER_INLINE Framer::Stop Framer::value_lead(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
  if (i == len) return {i, kOn};
  s.ps = kHdrValue;
  return header_value(k, s, p, i, len);
}

/* The value of a header framing or the record reads (Host, the carried
 * ones, the few framing depends on), to its LF or the data's end. */
FRAMER_INLINE Framer::Stop Framer::header_value(Ctx&, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  const void* lf = std::memchr(p + i, '\n', len - i);
  const uint32_t j = lf ? uint32_t(static_cast<const uint8_t*>(lf) - p) : len;
  if (s.hdr == kHHost) {
    if (s.cur) append(s.cur->host, s.cur->host_len, kHostMax, p + i, j - i, s.cur->flags, kHostTruncated);
  } else if (s.hdr == kHCarry) {
    carry_bytes(s_, s, p + i, j - i, carry_max_);
  } else if (s.hdr != kHOther) {
    header_bytes(s, p + i, j - i, s.mflags);
  }
  if (!lf) return {j, kOn};
  line_end(s, p, j);
  header_line_done(s);
  s.ps = kHdrStart;
  return {j + 1, kOn};
}

/* Body bytes from p[i] up to what the length or the chunk has left:
 * counted, not read. Returns how many. */
FRAMER_INLINE static uint32_t body_run(Side& s, uint32_t i, uint32_t len) noexcept {
  const uint32_t n = uint32_t(std::min<uint64_t>(s.remaining, len - i));
  if (s.cur) s.cur->body_len += n;
  s.remaining -= n;
  return n;
}

FRAMER_INLINE Framer::Stop Framer::body_length(Ctx& k, Side& s, const uint8_t*, uint32_t i, uint32_t len) noexcept {
  i += body_run(s, i, len);
  if (s.remaining) return {i, kOn};
  s.ps = kStart;
  capture_upto(k, i);
  finish_message(k, false);
  return {i, kNext};
}

/* A chunk size, one hex digit a step (sizes are short); a line with no
 * digit or with other bytes after them is an error, since a wrong size
 * would frame the rest of the connection wrong. */
FRAMER_INLINE Framer::Stop Framer::chunk_size(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t len) noexcept {
  const uint8_t ch = p[i];
  const uint8_t d = lower(ch);
  if (digit(d) || (d >= 'a' && d <= 'f')) {
    if (s.remaining >> 60) s.cl_big = 1;
    else s.remaining = s.remaining * 16 + (digit(d) ? d - '0' : d - 'a' + 10);
    s.tok_len = 1;
    return {i + 1, kOn};
  }
  if (s.tok_len && ch == '\n') {
    line_end(s, p, i);
    return chunk_line(k, s, p, i + 1, len);
  }
  if (s.tok_len && (ch == '\r' || ch == ';' || ch == ' ' || ch == '\t')) {
    s.ps = kChunkExt;  // extensions: skipped to the line's end
    return {i, kOn};
  }
  fail(k, kErr_invalid_chunk_size, kParseError);
  return {i, kLeft};
}

/* A chunk-size line ended before p[i]: the chunk's data follows, or the
 * trailers after the last chunk. A size past the body limit is no size a
 * peer can mean: flagged, and the message is cut there (as headers_done
 * does with such a length). */
FRAMER_INLINE Framer::Stop Framer::chunk_line(Ctx& k, Side& s, const uint8_t*, uint32_t i, uint32_t) noexcept {
  if (s.cl_big || s.remaining > body_limit_) {
    s_->implausible_length.add(1);
    ambiguous(s);
    capture_upto(k, i);
    cut(k, 0);
    return {i, kLeft};
  }
  if (s.remaining == 0) {
    s.trailers = 1;
    s.tok_len = 0;
    s.hdr = kHOther;
    s.ps = kHdrStart;
  } else {
    s.ps = kChunkData;
  }
  return {i, kOn};
}

FRAMER_INLINE Framer::Stop Framer::chunk_data(Ctx&, Side& s, const uint8_t*, uint32_t i, uint32_t len) noexcept {
  i += body_run(s, i, len);
  if (!s.remaining) s.ps = kChunkDataEnd;
  return {i, kOn};
}

/* The CRLF after a chunk's data (a bare LF is taken). */
FRAMER_INLINE Framer::Stop Framer::chunk_data_end(Ctx& k, Side& s, const uint8_t* p, uint32_t i, uint32_t) noexcept {
  if (p[i] == '\r') return {i + 1, kOn};
  if (p[i] != '\n') {
    fail(k, kErr_lf_expected, kParseError);
    return {i, kLeft};
  }
  s.ps = kChunkSize;
  s.remaining = 0;
  s.tok_len = 0;
  return {i + 1, kOn};
}

/* A body that runs to the close (end() finishes it): all of the data. */
FRAMER_INLINE Framer::Stop Framer::body_close(Ctx&, Side& s, const uint8_t*, uint32_t i, uint32_t len) noexcept {
  if (s.cur) s.cur->body_len += len - i;
  return {len, kOn};
}

/* The search for a start line (after a gap, an error, junk): returns the
 * bytes passed over; the direction parses again when one is found. */
uint32_t Framer::search(Ctx& k, const uint8_t* p, uint32_t len) noexcept {
  Side& s = k.s;
  const bool request = k.request;
  uint32_t i = 0;
  for (; i < len; i++) {
    const uint8_t ch = p[i];
    const bool line_start = i ? p[i - 1] == '\n' : s.last_lf;
    if (request ? !(ch >= 'A' && ch <= 'Z') : lower(ch) != 'h') continue;
    if (starts_message(p + i, len - i, request, line_start)) break;
    if (len - i < sizeof s.carry && may_start_message(p + i, len - i, request)) {
      // Too short to tell: the next segment decides.
      s.carry_len = uint8_t(len - i);
      std::memcpy(s.carry, p + i, s.carry_len);
      (s.junk ? s_->junk_skipped : s_->resync_skipped).add(i);
      return len;
    }
  }
  (s.junk ? s_->junk_skipped : s_->resync_skipped).add(i);
  if (i == len) {
    s.last_lf = p[len - 1] == '\n';
    return len;
  }
  s_->resyncs.add(1);
  s.state = kParsing;
  s.ps = kStart;
  return i;
}

void Framer::feed(Ctx& k, const uint8_t* p, uint32_t len) noexcept {
  Side& s = k.s;
  while (len) {
    uint32_t used;
    if (s.state == kResync) {
      if (s.carry_len && resume_carry(k, p, len)) continue;
      used = search(k, p, len);
    } else if (s.state == kParsing) {
      used = parse(k, p, len);
    } else {
      if (s.inner) s_->tunnel_bytes.add(len);
      return;
    }
    p += used;
    len -= used;
  }
}

/* A resync kept the tail of the last segment (carry): look for a start
 * line that begins there and runs into this segment. Found: the carried
 * bytes from there are parsed first, and the caller goes on parsing p.
 * Not found: they are dropped (counted as skipped). */
bool Framer::resume_carry(Ctx& k, const uint8_t* p, uint32_t len) noexcept {
  Side& s = k.s;
  uint8_t joined[sizeof s.carry + 64];
  const uint32_t n = s.carry_len, more = std::min<uint32_t>(len, 64);
  std::memcpy(joined, s.carry, n);
  std::memcpy(joined + n, p, more);
  s.carry_len = 0;
  for (uint32_t j = 0; j < n; j++) {
    if (!starts_message(joined + j, n - j + more, k.request, j ? joined[j - 1] == '\n' : s.last_lf)) continue;
    (s.junk ? s_->junk_skipped : s_->resync_skipped).add(j);
    s_->resyncs.add(1);
    s.state = kParsing;
    s.ps = kStart;
    uint8_t head[sizeof s.carry];
    std::memcpy(head, joined + j, n - j);
    feed(k, head, n - j);
    return true;
  }
  (s.junk ? s_->junk_skipped : s_->resync_skipped).add(n);
  s.last_lf = n && s.carry[n - 1] == '\n';
  return false;
}

void Framer::data(Conn& c, const flow::Flow& f, const reasm::HalfStream* hs, int dir,
                  const uint8_t* p, uint32_t len, uint64_t ts) noexcept {
  if (!c.started || c.off || len == 0) return;
  Ctx k{c, f, dir, c.side[dir], ts, dir == c.client};
  k.hs = hs;
  feed(k, p, len);
}

void Framer::end(Conn& c, const flow::Flow& f, uint64_t ts) noexcept {
  if (!c.started) return;
  for (int d = 0; d < 2; d++) {
    Side& s = c.side[d];
    Ctx k{c, f, d, s, ts, d == c.client};
    if (s.in_msg && s.state == kParsing && s.ps == kBodyClose) {
      // EOF completes a close-delimited response body.
      s.ps = kStart;
      finish_message(k, false);
    }
    if (s.in_msg) cut(k, 0);
  }
  while (c.head != kNil) {
    const uint32_t e = c.head;
    Pending& p = pool_[e];
    if (p.rec) {
      if (!p.answered) {
        p.rec->flags |= kUnpaired;
        s_->unpaired_requests.add(1);
      }
      emit_request(c, p);
    }
    if (p.held != kNil) release_held(c, p.held, true);
    c.head = p.next;
    give(e);
  }
  c.tail = kNil;
  c.n = 0;
  release_held(c, c.held, false);
  c.held = c.held_tail = kNil;
  c.started = 0;
}

}  // namespace http
