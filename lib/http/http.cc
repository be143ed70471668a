#include "http/http.h"

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <algorithm>
#include <cstring>

#include <rte_hash_crc.h>

#include "core/json.h"

namespace http {

namespace {

enum State : uint8_t { kIdle = 0, kParsing = 1, kResync = 2, kOff = 3 };

void append(char* buf, uint16_t& len, size_t cap, const char* at, size_t n, uint16_t& flags,
            uint16_t trunc) {
  const size_t room = cap - 1 - len;
  if (n > room) {
    flags |= trunc;
    n = room;
  }
  std::memcpy(buf + len, at, n);
  len = uint16_t(len + n);
  buf[len] = 0;
}

void set_id(Message& m, const Conn& c, uint32_t exchange) {
  const uint16_t cport = c.client == 0 ? m.key.pa : m.key.pb;
  const uint16_t sport = c.client == 0 ? m.key.pb : m.key.pa;
  const uint8_t v[12] = {uint8_t(cport >> 8), uint8_t(cport), uint8_t(sport >> 8), uint8_t(sport),
                         uint8_t(c.conn_hash >> 24), uint8_t(c.conn_hash >> 16),
                         uint8_t(c.conn_hash >> 8), uint8_t(c.conn_hash),
                         uint8_t(exchange >> 24), uint8_t(exchange >> 16),
                         uint8_t(exchange >> 8), uint8_t(exchange)};
  std::memcpy(m.id, v, sizeof v);
}

/* Request methods a resync accepts as the start of a request line. */
constexpr const char* kMethods[] = {"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
                                    "PATCH ", "CONNECT ", "TRACE "};

inline bool digit(uint8_t c) { return c >= '0' && c <= '9'; }

/* Whether a message starts at p. A message after a hole need not start a
 * line (a binary body ends without one), so the test is on the message's
 * own shape: "HTTP/1.x NNN " for a response; a method, a space, a target
 * and " HTTP/1." on the same line for a request (when the line is cut by
 * the end of the data, the part seen must fit). */
bool starts_message(const uint8_t* p, size_t n, bool request) {
  if (!request) {
    return n >= 13 && std::memcmp(p, "HTTP/1.", 7) == 0 && digit(p[7]) && p[8] == ' ' &&
           digit(p[9]) && digit(p[10]) && digit(p[11]) && (p[12] == ' ' || p[12] == '\r');
  }
  for (const char* m : kMethods) {
    const size_t l = std::strlen(m);
    if (n < l + 1 || std::memcmp(p, m, l) != 0) continue;
    if (p[l] != '/' && p[l] != '*' && p[l] != 'h' && !(m[0] == 'C' && p[l] != ' ')) return false;
    for (size_t i = l; i + 8 <= n && p[i] != '\n'; i++)
      if (std::memcmp(p + i, " HTTP/1.", 8) == 0) return true;
    // The line runs past the data we have: accept if nothing ruled it out.
    return std::memchr(p + l, '\n', n - l) == nullptr && n - l < 8192;
  }
  return false;
}

/* Whether the last n bytes of the data (too few for starts_message to
 * decide) could be the beginning of a start line: they are kept and
 * searched again with the next segment. */
bool may_start_message(const uint8_t* p, size_t n, bool request) {
  if (!request) {
    static const char kPrefix[] = "HTTP/1.x NNN ";
    for (size_t i = 0; i < n; i++) {
      const char want = kPrefix[i];
      if (want == 'x' || want == 'N' ? !digit(p[i]) : p[i] != uint8_t(want)) return false;
    }
    return n < 13;
  }
  for (const char* m : kMethods)
    if (n <= std::strlen(m) && std::memcmp(p, m, n) == 0) return true;
  return false;
}

}  // namespace

struct Framer::Call {
  Framer* fr;
  Conn* c;
  const flow::Flow* f;
  int dir;
  Side* side;
  uint64_t ts;
  // Raw capture: the parser pauses at each message's start and end so
  // feed() knows which bytes belong to it (llhttp reports positions only
  // through a pause).
  bool pause = false;
  int paused = 0;  // 1: at a message's start, 2: at its end
  bool cut = false;  // the message ends incomplete (counted as such)
};

static Framer::Call& call_of(llhttp_t* p) { return *static_cast<Framer::Call*>(p->data); }

const char* verdict_name(Verdict v) noexcept {
  static const char* const names[kNumVerdicts] = {"record", "skip", "tag", "mirror", "drop"};
  return size_t(v) < kNumVerdicts ? names[size_t(v)] : "record";
}

const char* error_name(size_t err) noexcept {
  static char names[kNumErrors][40];
  static bool init = [] {
    for (size_t i = 0; i < kNumErrors; i++) {
      const char* n = llhttp_errno_name(llhttp_errno_t(i));
      if (std::strncmp(n, "HPE_", 4) == 0) n += 4;
      size_t j = 0;
      for (; n[j] && j + 1 < sizeof names[i]; j++) names[i][j] = char(std::tolower((unsigned char)n[j]));
      names[i][j] = 0;
    }
    return true;
  }();
  (void)init;
  return err < kNumErrors ? names[err] : "other";
}

struct Callbacks {
  /* Start line and header bytes: past the limit the message is refused
   * (a hostile or broken peer cannot make a worker parse forever). */
  static int count_header(llhttp_t* p, size_t n) {
    Framer::Call& k = call_of(p);
    k.side->hdr_bytes += uint32_t(n);
    if (k.side->hdr_bytes <= k.fr->max_header_bytes_) return 0;
    if (k.side->cur) k.side->cur->flags |= kOversizeHeaders;
    k.fr->s_->oversize_headers.add(1);
    return HPE_USER;
  }
  static int message_begin(llhttp_t* p) {
    Framer::Call& k = call_of(p);
    k.fr->begin_message(k);
    if (!k.pause) return 0;
    k.paused = 1;
    return HPE_PAUSED;
  }
  static int url(llhttp_t* p, const char* at, size_t n) {
    call_of(p).side->has_start = 1;
    if (Message* m = call_of(p).side->cur) append(m->uri, m->uri_len, kUriMax, at, n, m->flags, kUriTruncated);
    return count_header(p, n);
  }
  static int status(llhttp_t* p, const char*, size_t n) {
    call_of(p).side->has_start = 1;
    return count_header(p, n);
  }
  static int header_field(llhttp_t* p, const char* at, size_t n) {
    if (count_header(p, n)) return HPE_USER;
    // Only "Host" is looked for: keep the name's first bytes, lower-cased
    // (| 0x20 turns no other byte into one of "host"), and its length.
    Side& s = *call_of(p).side;
    for (size_t i = 0; i < n && s.field_len + i < sizeof s.field; i++)
      s.field[s.field_len + i] = char(at[i] | 0x20);
    s.field_len = uint8_t(std::min<size_t>(255, s.field_len + n));
    return 0;
  }
  static int header_field_complete(llhttp_t* p) {
    Side& s = *call_of(p).side;
    s.is_host = s.field_len == 4 && std::memcmp(s.field, "host", 4) == 0;
    s.field_len = 0;
    return 0;
  }
  static int header_value(llhttp_t* p, const char* at, size_t n) {
    Side& s = *call_of(p).side;
    if (s.is_host && s.cur) append(s.cur->host, s.cur->host_len, kHostMax, at, n, s.cur->flags, kHostTruncated);
    return count_header(p, n);
  }
  static int header_value_complete(llhttp_t* p) {
    call_of(p).side->is_host = 0;
    return 0;
  }
  static int headers_complete(llhttp_t* p) {
    Framer::Call& k = call_of(p);
    Conn& c = *k.c;
    Message* m = k.side->cur;
    k.side->has_start = 1;
    const bool chunked = p->flags & F_CHUNKED;
    if (m) {
      m->chunked = chunked;
      m->http_minor = p->http_minor;
      if (chunked && (p->flags & F_CONTENT_LENGTH)) {
        m->flags |= kAmbiguous;
        k.fr->s_->ambiguous.add(1);
      }
    }
    if (p->type == HTTP_REQUEST) {
      if (m) {
        const char* name = llhttp_method_name(llhttp_method_t(p->method));
        const size_t len = strnlen(name, sizeof m->method - 1);
        std::memcpy(m->method, name, len);
        m->method[len] = 0;
        if (p->upgrade) m->flags |= kUpgrade;
      }
      if (k.side->slot != kNoSlot) c.pending[k.side->slot].method = p->method;
      return 0;
    }
    if (m) m->status = p->status_code;
    const Pending* head = c.n ? &c.pending[c.head] : nullptr;
    if (head && m && head->ts_last_ns && m->ts_first_ns >= head->ts_last_ns)
      m->latency_ns = int64_t(m->ts_first_ns - head->ts_last_ns);
    if (p->status_code >= 100 && p->status_code < 200) return 0;  // llhttp: no body
    // RFC 9110 15.3.5, 15.4.5: never a body, whatever Content-Length says
    // (a 304 repeats the representation's length).
    if (p->status_code == 204 || p->status_code == 304) return 1;
    // The response cannot say it answers HEAD or CONNECT; the request can.
    if (head && head->method == HTTP_HEAD) return 1;                        // no body
    if (head && head->method == HTTP_CONNECT && p->status_code / 100 == 2) {
      if (m) m->flags |= kUpgrade;
      return 2;                                                              // tunnel
    }
    return 0;
  }
  static int body(llhttp_t* p, const char*, size_t n) {
    if (Message* m = call_of(p).side->cur) m->body_len += n;
    return 0;
  }
  static int message_complete(llhttp_t* p) {
    Framer::Call& k = call_of(p);
    // An upgrade's end is reported by HPE_PAUSED_UPGRADE right after this
    // callback; a pause here would hide it.
    if (k.pause && !p->upgrade) {
      k.paused = 2;
      return HPE_PAUSED;
    }
    if (k.pause && k.side->cur && k.side->cur->raw) {
      // Upgrade message: ended inside llhttp_execute, before feed() could
      // copy this chunk's part of it.
      k.side->cur->flags |= kRawTruncated;
      k.fr->s_->raw_truncated.add(1);
    }
    k.fr->finish_message(k);
    return 0;
  }
};

Framer::Framer(Stats* s, Sink sink, uint32_t max_header_bytes)
    : s_(s), sink_(sink), max_header_bytes_(max_header_bytes) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = Callbacks::message_begin;
  settings_.on_url = Callbacks::url;
  settings_.on_status = Callbacks::status;
  settings_.on_header_field = Callbacks::header_field;
  settings_.on_header_field_complete = Callbacks::header_field_complete;
  settings_.on_header_value = Callbacks::header_value;
  settings_.on_header_value_complete = Callbacks::header_value_complete;
  settings_.on_headers_complete = Callbacks::headers_complete;
  settings_.on_body = Callbacks::body;
  settings_.on_message_complete = Callbacks::message_complete;
}

void Framer::reset(Side& s, bool request) noexcept {
  llhttp_init(&s.parser, request ? HTTP_REQUEST : HTTP_RESPONSE, &settings_);
  // Content-Length with chunked: frame it as chunked (RFC 9112 6.3: the
  // transfer coding wins, as at most servers) and flag it ambiguous, rather
  // than lose the connection's framing to an error.
  llhttp_set_lenient_chunked_length(&s.parser, 1);
  s.cur = nullptr;
  s.field_len = 0;
  s.is_host = 0;
  s.slot = kNoSlot;
  s.in_msg = 0;
  s.carry_len = 0;  // bytes before a cut never join what comes after it
}

void Framer::start(Conn& c, const flow::Flow& f, int client, const bool synced[2]) noexcept {
  std::memset(static_cast<void*>(&c), 0, sizeof c);
  c.started = 1;
  c.client = uint8_t(client);
  uint32_t h = flow::stable_hash(f.key, 0);
  h = rte_hash_crc_4byte(f.generation, h);
  c.conn_hash = rte_hash_crc_8byte(f.created_ns, h);
  for (int d = 0; d < 2; d++) {
    reset(c.side[d], d == client);
    if (synced[d]) {
      c.side[d].state = kParsing;
    } else {
      // Mid-stream: the first bytes may be the middle of a message.
      c.side[d].state = kResync;
      c.side[d].after_gap = 1;
    }
  }
}

Verdict Framer::judge(Conn& c, Message* m) noexcept {
  if (m->judged) return Verdict(m->verdict);
  Verdict v = Verdict::kRecord;
  if (rules_.on_message) v = rules_.on_message(rules_.ctx, *m);
  m->verdict = uint8_t(v);
  m->judged = 1;
  s_->verdicts[size_t(v)].add(1);
  if ((v == Verdict::kMirror || v == Verdict::kDrop) && uint8_t(v) > c.verdict) c.verdict = uint8_t(v);
  return v;
}

void Framer::deliver(Conn& c, Message* m) noexcept {
  const Verdict v = judge(c, m);
  if (v == Verdict::kSkip) {
    if (sink_.release) sink_.release(sink_.ctx, m);
    return;
  }
  c.exported = 1;
  sink_.emit(sink_.ctx, m);
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

void Framer::begin_message(Call& k) noexcept {
  Conn& c = *k.c;
  Side& s = *k.side;
  const bool req = k.dir == c.client;
  Message* m = sink_.alloc ? sink_.alloc(sink_.ctx) : nullptr;
  if (!m) s_->records_dropped.add(1);
  if (m) {
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
    m->key = k.f->key;
    m->client_side = c.client;
    m->request = req;
    m->generation = k.f->generation;
    m->index = s.msgs;
    m->ts_first_ns = k.ts;
    m->latency_ns = -1;
    m->rule_index = -1;
    if (sink_.alloc_raw) {
      m->raw = sink_.alloc_raw(sink_.ctx);
      m->raw_cap = m->raw ? sink_.raw_cap : 0;
      if (!m->raw) {
        m->flags |= kNoRaw;
        s_->raw_dropped.add(1);
      }
    }
    if (s.after_gap) m->flags |= kAfterGap;
  }
  if (s.after_gap) s_->after_gap.add(1);
  s.after_gap = 0;
  s.msgs++;
  s.cur = m;
  s.in_msg = 1;
  s.has_start = 0;
  s.hdr_bytes = 0;
  if (req) {
    const uint32_t exchange = c.exchanges++;
    if (m) set_id(*m, c, exchange);
    if (c.n == kPipelineMax) {
      s_->pipeline_overflow.add(1);  // answered out of our sight: emitted unpaired
      s.slot = kNoSlot;
      return;
    }
    s.slot = uint8_t((c.head + c.n) % kPipelineMax);
    c.n++;
    Pending& p = c.pending[s.slot];
    p = Pending{m, 0, exchange, 0xFF, 0, 0, 0, 0, -1};
    return;
  }
  if (c.n) {
    Pending& p = c.pending[c.head];
    // The exchange is what the operator selects: a response takes its
    // request's verdict. A request answered before it ended (100 Continue,
    // an early error) is judged now, on its headers and what came of its
    // body.
    if (p.method != 0xFF) judge_request(c, p);
    if (m && p.judged) {
      m->judged = 1;
      m->verdict = p.verdict;
      m->rule_index = p.rule;
      if (rules_.describe) rules_.describe(rules_.ctx, *m);
      s_->verdicts[m->verdict].add(1);
    }
    p.answered = 1;
    if (p.completed) emit_request(c, p);
    if (m) set_id(*m, c, p.exchange);
  } else if (m) {
    set_id(*m, c, 0x80000000u | s.msgs);
  }
}

void Framer::finish_message(Call& k) noexcept {
  Conn& c = *k.c;
  Side& s = *k.side;
  Message* m = s.cur;
  s.cur = nullptr;
  s.in_msg = 0;
  if (m) m->ts_last_ns = k.ts;
  if (k.dir == c.client) {
    if (!k.cut) s_->requests.add(1);
    if (s.slot == kNoSlot) {
      if (m) {
        m->flags |= kUnpaired;
        deliver(c, m);
      }
      return;
    }
    Pending& p = c.pending[s.slot];
    s.slot = kNoSlot;
    p.completed = 1;
    p.ts_last_ns = k.ts;
    judge_request(c, p);  // now, while the packet that ended it can still be withheld
    if (p.answered) emit_request(c, p);
    return;
  }
  const uint16_t status = k.side->parser.status_code;
  const bool interim = status >= 100 && status < 200 && status != 101;
  if (interim) {
    if (!k.cut) s_->interim.add(1);
    if (m) m->flags |= kInterim;
  } else {
    if (!k.cut) s_->responses.add(1);
    if (c.n) {
      Pending& p = c.pending[c.head];
      if (p.rec) {
        // Answered before it ended (an early error response): report it now.
        if (c.side[c.client].cur == p.rec) {
          // The request side keeps parsing it, without a record.
          c.side[c.client].cur = nullptr;
          c.side[c.client].slot = kNoSlot;
        }
        if (!p.completed) {
          p.rec->flags |= kIncomplete;
          s_->incomplete.add(1);
        }
        emit_request(c, p);
      }
      c.head = uint8_t((c.head + 1) % kPipelineMax);
      c.n--;
    } else {
      s_->unpaired_responses.add(1);
      if (m) m->flags |= kUnpaired;
    }
  }
  if (m) deliver(c, m);
}

void Framer::cut(Conn& c, const flow::Flow& f, int dir, uint64_t ts, uint16_t why) noexcept {
  Side& s = c.side[dir];
  if (s.in_msg && !s.has_start) {
    // Never a start line: not a message. Take it back.
    s_->not_http.add(1);
    if (s.cur && sink_.release) sink_.release(sink_.ctx, s.cur);
    s.cur = nullptr;
    if (dir == c.client && s.slot != kNoSlot) {
      c.n--;  // it was the newest request in the queue
      c.exchanges--;
    }
    s.slot = kNoSlot;
    s.in_msg = 0;
  } else if (s.in_msg) {
    // A message was under way: end it here, incomplete.
    if (s.cur) s.cur->flags |= kIncomplete | why;
    s_->incomplete.add(1);
    Call k{this, &c, &f, dir, &s, ts};
    k.cut = true;
    finish_message(k);
  }
  reset(s, dir == c.client);
  s.state = kResync;
  s.after_gap = 1;
}

void Framer::gap(Conn& c, const flow::Flow& f, int dir, uint64_t ts) noexcept {
  if (!c.started || c.off || c.side[dir].state == kOff) return;
  cut(c, f, dir, ts, 0);
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

void Framer::feed(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
                  uint64_t ts) noexcept {
  Side& s = c.side[dir];
  const bool request = dir == c.client;
  while (len && !c.off) {
    if (s.state == kResync) {
      if (s.carry_len && resume_carry(c, f, dir, p, len, ts)) continue;
      // Candidates begin with 'H' (responses) or a method's capital.
      uint32_t i = 0;
      for (; i < len; i++) {
        const uint8_t ch = p[i];
        if (!(request ? (ch >= 'C' && ch <= 'T') : ch == 'H')) continue;
        if (starts_message(p + i, len - i, request)) break;
        if (len - i < sizeof s.carry && may_start_message(p + i, len - i, request)) {
          // Too short to tell: the next segment decides.
          s.carry_len = uint8_t(len - i);
          std::memcpy(s.carry, p + i, s.carry_len);
          s_->resync_skipped.add(i);
          return;
        }
      }
      s_->resync_skipped.add(i);
      if (i == len) return;
      s_->resyncs.add(1);
      s.state = kParsing;
      p += i;
      len -= i;
    }
    Call k{this, &c, &f, dir, &s, ts};
    k.pause = sink_.alloc_raw != nullptr;
    s.parser.data = &k;
    const llhttp_errno_t e = llhttp_execute(&s.parser, reinterpret_cast<const char*>(p), len);
    if (e == HPE_OK) {
      capture(s.cur, p, len);  // all of it belongs to the message under way
      return;
    }
    if (e == HPE_PAUSED) {
      const char* pos = llhttp_get_error_pos(&s.parser);
      uint32_t used = pos ? uint32_t(pos - reinterpret_cast<const char*>(p)) : 0;
      if (used > len) used = len;
      if (k.paused == 2) {
        capture(s.cur, p, used);
        finish_message(k);
      }
      llhttp_resume(&s.parser);
      p += used;
      len -= used;
      continue;
    }
    if (e == HPE_PAUSED_UPGRADE) {
      // CONNECT or Upgrade. The request side stops at once: what the client
      // sends next belongs to the new protocol if the server agrees. The
      // response side goes on to the answer; when that one switches too
      // (101, or 2xx to CONNECT), framing ends for the connection. The
      // bytes are still relayed and reassembled.
      s.state = kOff;
      if (!request) {
        c.off = 1;
        s_->upgrades.add(1);
      }
      return;
    }
    s_->parse_errors.add(1);
    s_->errors[size_t(e) < kNumErrors ? size_t(e) : 0].add(1);
    if (e == HPE_UNEXPECTED_CONTENT_LENGTH && s.cur) {  // several Content-Length values
      s.cur->flags |= kAmbiguous;
      s_->ambiguous.add(1);
    }
    const char* pos = llhttp_get_error_pos(&s.parser);
    uint32_t used = pos ? uint32_t(pos - reinterpret_cast<const char*>(p)) : len;
    if (used >= len) used = len - 1;
    capture(s.cur, p, used);
    cut(c, f, dir, ts, kParseError);
    // Resume the search just past the offending byte.
    p += used + 1;
    len -= used + 1;
  }
}

/* A resync kept the tail of the last segment (carry): look for a start
 * line that begins there and runs into this segment. Found: the carried
 * bytes from there are parsed first, and the caller goes on parsing p.
 * Not found: they are dropped (counted as skipped). */
bool Framer::resume_carry(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
                          uint64_t ts) noexcept {
  Side& s = c.side[dir];
  const bool request = dir == c.client;
  uint8_t joined[sizeof s.carry + 64];
  const uint32_t n = s.carry_len, more = std::min<uint32_t>(len, 64);
  std::memcpy(joined, s.carry, n);
  std::memcpy(joined + n, p, more);
  s.carry_len = 0;
  for (uint32_t j = 0; j < n; j++) {
    if (!starts_message(joined + j, n - j + more, request)) continue;
    s_->resync_skipped.add(j);
    s_->resyncs.add(1);
    s.state = kParsing;
    uint8_t head[sizeof s.carry];
    std::memcpy(head, joined + j, n - j);
    feed(c, f, dir, head, n - j, ts);
    return true;
  }
  s_->resync_skipped.add(n);
  return false;
}

void Framer::data(Conn& c, const flow::Flow& f, int dir, const uint8_t* p, uint32_t len,
                  uint64_t ts) noexcept {
  if (!c.started || c.off || c.side[dir].state == kOff || len == 0) return;
  feed(c, f, dir, p, len, ts);
}

void Framer::end(Conn& c, const flow::Flow& f, uint64_t ts) noexcept {
  if (!c.started) return;
  for (int d = 0; d < 2; d++) {
    Side& s = c.side[d];
    if (!c.off && s.state == kParsing) {
      // EOF completes a close-delimited response body.
      Call k{this, &c, &f, d, &s, ts};
      s.parser.data = &k;
      llhttp_finish(&s.parser);
    }
    if (s.in_msg) cut(c, f, d, ts, 0);
  }
  while (c.n) {
    Pending& p = c.pending[c.head];
    if (p.rec) {
      if (!p.answered) {
        p.rec->flags |= kUnpaired;
        s_->unpaired_requests.add(1);
      }
      emit_request(c, p);
    }
    c.head = uint8_t((c.head + 1) % kPipelineMax);
    c.n--;
  }
  c.started = 0;
}

std::string message_gor(const Message& m) {
  // Interim (1xx) responses are not separate exchanges to a replayer: the
  // final response carries the id. No raw bytes, no record.
  if (!m.raw || (m.flags & kInterim)) return {};
  static const char* x = "0123456789abcdef";
  char meta[96];
  char id[25];
  for (int i = 0; i < 12; i++) {
    id[2 * i] = x[m.id[i] >> 4];
    id[2 * i + 1] = x[m.id[i] & 15];
  }
  id[24] = 0;
  const uint64_t span = m.ts_last_ns >= m.ts_first_ns ? m.ts_last_ns - m.ts_first_ns : 0;
  std::snprintf(meta, sizeof meta, "%c %s %" PRIu64 " %" PRIu64 "\n", m.request ? '1' : '2', id,
                m.ts_first_ns, span);
  std::string o = meta;
  o.append(reinterpret_cast<const char*>(m.raw), m.raw_len);
  o += kGorSeparator;
  return o;
}

std::string message_json(const Message& m) {
  namespace j = core::json;
  std::string o;
  o.reserve(512);
  char ep[64];
  j::lit(o, "{\"id\":\"");
  j::hex(o, m.id, 12);
  j::lit(o, "\",\"kind\":\"");
  o += m.request ? "request" : "response";
  j::lit(o, "\",\"client\":\"");
  o.append(ep, flow::endpoint_str(m.key, m.client_side, ep, sizeof ep));
  j::lit(o, "\",\"server\":\"");
  o.append(ep, flow::endpoint_str(m.key, 1 - m.client_side, ep, sizeof ep));
  j::lit(o, "\",\"index\":");
  j::num(o, uint64_t(m.index));
  o += ',';
  if (m.request) {
    j::lit(o, "\"method\":");
    j::str(o, m.method, std::strlen(m.method));
    j::lit(o, ",\"uri\":");
    j::str(o, m.uri, m.uri_len);
    j::lit(o, ",\"host\":");
    j::str(o, m.host, m.host_len);
    o += ',';
  } else {
    j::lit(o, "\"status\":");
    j::num(o, uint64_t(m.status));
    j::lit(o, ",\"interim\":");
    j::boolean(o, m.flags & kInterim);
    o += ',';
  }
  j::lit(o, "\"body_len\":");
  j::num(o, uint64_t(m.body_len));
  j::lit(o, ",\"chunked\":");
  j::boolean(o, m.chunked);
  j::lit(o, ",\"complete\":");
  j::boolean(o, !(m.flags & kIncomplete));
  j::lit(o, ",\"ts_first_ns\":");
  j::num(o, uint64_t(m.ts_first_ns));
  j::lit(o, ",\"ts_last_ns\":");
  j::num(o, uint64_t(m.ts_last_ns));
  o += ',';
  if (!m.request && m.latency_ns >= 0) {
    j::lit(o, "\"latency_ns\":");
    j::num(o, int64_t(m.latency_ns));
    o += ',';
  }
  if (m.rule[0]) {
    j::lit(o, "\"rule\":");
    j::str(o, m.rule, std::strlen(m.rule));
    j::lit(o, ",\"action\":\"");
    o += verdict_name(Verdict(m.verdict));
    j::lit(o, "\",");
  }
  if (m.tag[0]) {
    j::lit(o, "\"tag\":");
    j::str(o, m.tag, std::strlen(m.tag));
    o += ',';
  }
  j::lit(o, "\"after_gap\":");
  j::boolean(o, m.flags & kAfterGap);
  j::lit(o, ",\"paired\":");
  j::boolean(o, !(m.flags & kUnpaired));
  j::lit(o, ",\"connection\":");
  j::num(o, uint64_t(m.generation));
  j::lit(o, ",\"vlan\":");
  j::num(o, uint64_t(m.key.vlan));
  j::lit(o, ",\"flags\":[");
  static const char* names[] = {"incomplete", "after_gap", "ambiguous_framing", "uri_truncated",
                                "host_truncated", "parse_error", "interim", "unpaired", "upgrade",
                                "raw_truncated", "no_raw", "oversize_headers"};
  bool first = true;
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
    if (!(m.flags & (1u << i))) continue;
    if (!first) o += ',';
    first = false;
    o += '"';
    o += names[i];
    o += '"';
  }
  j::lit(o, "]");
  flow::encap_json(o, m.key);
  j::lit(o, "}\n");
  return o;
}

}  // namespace http
