// loom_gen: deterministic HTTP/1.x-over-TCP traffic generator for Loom's
// reassembly benchmarks. Writes a classic libpcap file (Ethernet, usec
// timestamps, snaplen 65535) and prints its exact ground truth.
//
//   loom_gen --flows N --pairs K [--concurrency C] [--ofo-pct P] [--dup-pct D]
//            [--body-mean BYTES] [--ipv6] [--vlan VID] [--seed S]
//            [--streams FILE] --out FILE
//
// What a connection looks like:
//   - 3-way handshake; SYN and SYN-ACK carry MSS (1460; 1440 over IPv6),
//     SACK-permitted, timestamps and window scale 7. Every later segment
//     carries the timestamp option (12 bytes), so a data segment holds at
//     most 1448 payload bytes (1428 over IPv6): 1514-byte frames.
//   - K keep-alive request/response exchanges: GET (Content-Length or chunked
//     response, some with trailers), HEAD, POST with a Content-Length body
//     (some with Expect: 100-continue: headers, 100 Continue, body), PUT with
//     a chunked body, conditional GET (304), 204, 404. About 8% of the
//     connections pipeline all their requests in one write (no HEAD and no
//     Expect there). Response bodies: exponential, mean --body-mean, capped
//     at 64 KiB.
//   - ACKs as a delayed-ACK stack sends them: the receiver of data ACKs every
//     second segment, piggybacks on its own data when it answers, and
//     otherwise sends a (delayed) ACK after a message.
//   - Close: FIN from the client (~72%), FIN from the server after a
//     "Connection: close" request (~25%, half of them with the FIN on the
//     last data segment), RST from the client (~3%).
//   - Distinct client address/port per connection (198.18.0.0/16, or
//     2001:2:0:1::/64), servers 198.19.0.1-64 (2001:2:0:2::1-64) port 80.
// Impairments:
//   - --ofo-pct P: that percentage of data segments (of all data segments)
//     is swapped with the next data segment of the same direction; the one
//     moved ahead may pass pure ACKs of the other direction, never data of
//     the other direction nor SYN/FIN-only/RST packets. Only a segment
//     followed by another one of the same direction can be swapped, so a
//     credit carried across phases keeps the ratio at P% of all data
//     segments; it saturates at about 35% (every other such segment).
//   - --dup-pct D: that percentage of data segments is re-sent as an exact
//     copy 1-3 packets later in capture order (never after the connection's
//     last packet).
// Up to C connections are interleaved packet by packet (C slots; each step
// picks a slot at random; a finished connection's slot takes the next one).
// IPv4 header and TCP checksums are valid; IP IDs and TCP timestamps rise
// in capture order; capture time advances 1-4 us per packet.
//
// Determinism: one fixed PRNG (splitmix64), integer arithmetic only (the
// exponential distribution uses a fixed-point logarithm), no unordered
// containers, no clocks. Same options, same bytes, on any platform. Each
// connection's content depends only on (seed, connection number), so
// captures made with the same seed and different --ofo-pct / --dup-pct
// carry the same streams.
//
// Ground truth on stdout, "key value" per line (packets, bytes, connections,
// requests, responses, stream_bytes_c2s, stream_bytes_s2c, ofo_swaps,
// duplicates, then details). stream_bytes_* count TCP payload bytes per
// direction without the duplicates: what a perfect reassembler delivers.
// --streams FILE also writes one line per connection direction:
// "src dst dir bytes sha256" (addresses formatted as Loom's streams.jsonl).
#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// ---------------------------------------------------------------- PRNG
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed = 0) : s(seed) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint32_t u32() { return uint32_t(next() >> 32); }
  // Uniform in [0, n) (Lemire's multiply-shift; bias < n / 2^32).
  uint32_t below(uint32_t n) { return uint32_t((uint64_t(u32()) * n) >> 32); }
  // True with probability thr / 2^32.
  bool chance(uint64_t thr) { return uint64_t(u32()) < thr; }
};

uint64_t mix(uint64_t a, uint64_t b, uint64_t c) {
  Rng r(a ^ 0x5851f42d4c957f2dULL);
  uint64_t x = r.next() ^ (b * 0xd1342543de82ef95ULL);
  Rng r2(x);
  return r2.next() ^ (c * 0x9e3779b97f4a7c15ULL);
}

// Probability in percent -> threshold for Rng::chance.
uint64_t pct_thr(double pct) {
  if (pct <= 0) return 0;
  if (pct >= 100) return uint64_t(1) << 32;
  return uint64_t(pct / 100.0 * 4294967296.0);
}

// -ln(k / 2^32) in Q32 fixed point, k in [1, 2^32): integer-only, so the
// exponential draws are identical everywhere.
uint64_t neg_ln_q32(uint32_t k) {
  const int e = 31 - __builtin_clz(k);                   // k = 2^e * m, m in [1, 2)
  const uint64_t mq = uint64_t(k) << (32 - e);          // m in Q32, [2^32, 2^33)
  const uint64_t one = uint64_t(1) << 32;
  const uint64_t s = ((mq - one) << 32) / (mq + one);  // (m-1)/(m+1) in Q32, <= 1/3
  const uint64_t s2 = (s * s) >> 32;
  uint64_t term = s, sum = 0;
  for (uint64_t i = 1; term; i += 2) {  // atanh series: ln m = 2 (s + s^3/3 + ...)
    sum += term / i;
    term = (term * s2) >> 32;
  }
  const uint64_t ln2_q32 = 2977044472ULL;
  return uint64_t(32 - e) * ln2_q32 - 2 * sum;
}

// Exponential with the given mean, capped.
uint32_t draw_exp(Rng& r, uint32_t mean, uint32_t cap) {
  uint32_t k = r.u32();
  if (k == 0) k = 1;
  const uint64_t x = neg_ln_q32(k);  // < 23 * 2^32
  const uint64_t v = (uint64_t(mean) * (x >> 12)) >> 20;
  return v > cap ? cap : uint32_t(v);
}

// ---------------------------------------------------------------- SHA-256
// Its own SHA-256 on purpose, not Loom's lib/core one: this file writes the
// ground truth Loom's streams.jsonl is checked against, and a bug shared by
// both sides would pass unseen.
struct Sha256 {
  uint32_t h[8];
  uint8_t buf[64];
  uint64_t len;
  size_t n;
  void init() {
    static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::memcpy(h, iv, sizeof h);
    len = 0;
    n = 0;
  }
  static uint32_t ror(uint32_t x, int k) { return (x >> k) | (x << (32 - k)); }
  void block(const uint8_t* p) {
    static const uint32_t K[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
      w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 |
             p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
      const uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      const uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      const uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  }
  void update(const void* data, size_t l) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    len += l;
    if (n) {
      const size_t t = std::min(l, 64 - n);
      std::memcpy(buf + n, p, t);
      n += t; p += t; l -= t;
      if (n < 64) return;
      block(buf);
      n = 0;
    }
    for (; l >= 64; p += 64, l -= 64) block(p);
    std::memcpy(buf, p, l);
    n = l;
  }
  std::string hex() {
    const uint64_t bits = len * 8;
    const uint8_t pad = 0x80;
    update(&pad, 1);
    const uint8_t z[64] = {};
    update(z, (n <= 56 ? 56 - n : 120 - n));
    uint8_t lb[8];
    for (int i = 0; i < 8; i++) lb[i] = uint8_t(bits >> (56 - 8 * i));
    update(lb, 8);
    static const char* x = "0123456789abcdef";
    std::string s;
    for (int i = 0; i < 8; i++)
      for (int k = 28; k >= 0; k -= 4) s += x[(h[i] >> k) & 15];
    return s;
  }
};

// ---------------------------------------------------------------- options
struct Opts {
  uint64_t flows = 1000;
  uint32_t pairs = 5;
  uint32_t concurrency = 256;
  double ofo_pct = 0;
  double dup_pct = 0;
  uint32_t body_mean = 6400;
  bool ipv6 = false;
  int vlan = -1;
  uint64_t seed = 1;
  std::string out;
  std::string streams;
};

[[noreturn]] void usage(int rc) {
  std::fprintf(rc ? stderr : stdout,
               "usage: loom_gen [options] --out FILE.pcap\n"
               "  --flows N          connections (default 1000)\n"
               "  --pairs K          request/response exchanges per connection (default 5)\n"
               "  --concurrency C    connections interleaved at once (default 256)\n"
               "  --ofo-pct P        %% of data segments swapped with the next one of the same\n"
               "                     direction, of all data segments (default 0; at most ~35%%\n"
               "                     can be swapped)\n"
               "  --dup-pct D        %% of data segments re-sent 1-3 packets later (default 0)\n"
               "  --body-mean BYTES  mean response body size, exponential, capped at 64 KiB\n"
               "                     (default 6400: frames average ~650 bytes)\n"
               "  --ipv6             IPv6 instead of IPv4\n"
               "  --vlan VID         802.1Q-tag every frame\n"
               "  --seed S           (default 1)\n"
               "  --streams FILE     also write 'src dst dir bytes sha256' per stream direction\n"
               "  --out FILE         the pcap to write\n"
               "Prints the ground truth on stdout, 'key value' per line.\n");
  std::exit(rc);
}

uint64_t parse_u64(const char* opt, const char* v, uint64_t lo, uint64_t hi) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long x = std::strtoull(v, &end, 10);
  if (!*v || *end || errno || x < lo || x > hi || *v == '-') {
    std::fprintf(stderr, "loom_gen: %s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'\n",
                 opt, lo, hi, v);
    std::exit(2);
  }
  return x;
}

double parse_pct(const char* opt, const char* v) {
  char* end = nullptr;
  const double x = std::strtod(v, &end);
  if (!*v || *end || !(x >= 0 && x <= 100)) {
    std::fprintf(stderr, "loom_gen: %s wants a percentage 0..100, got '%s'\n", opt, v);
    std::exit(2);
  }
  return x;
}

// ---------------------------------------------------------------- traffic model
enum : uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10 };

struct Pkt {
  uint32_t seq, ack;
  uint32_t off, len;  // payload: buf[dir][off, off+len)
  uint8_t dir;        // 0 client->server, 1 server->client
  uint8_t flags;
};

struct Totals {
  uint64_t packets = 0, file_bytes = 24, frame_bytes = 0;
  uint64_t connections = 0, requests = 0, responses = 0, interim = 0;
  uint64_t stream[2] = {0, 0};
  uint64_t ofo_swaps = 0, duplicates = 0;
  uint64_t data_segments = 0, pure_acks = 0;
  uint64_t head = 0, pipelined = 0, rst_closed = 0, server_closed = 0, client_closed = 0;
  uint64_t resp_cl = 0, resp_chunked = 0, resp_nobody = 0, resp_trailers = 0;
  uint64_t req_bodies = 0, req_chunked = 0, expect100 = 0;
  uint64_t req_body_bytes = 0, resp_body_bytes = 0;
  uint64_t max_ofo_gap_packets = 0;
};

enum class Close : uint8_t { kClient, kServer, kServerFinOnData, kRst };

struct Conn {
  uint64_t id = 0;
  Rng rng, tcp_rng, ofo_rng;  // content; segmentation and ACK choices; swaps
  std::vector<Pkt> script;
  size_t pos = 0;
  std::string buf[2];
  uint32_t nxt[2] = {0, 0};
  int unacked[2] = {0, 0};
  uint32_t tsoff[2] = {0, 0};
  uint32_t last_tsval[2] = {0, 0};
  uint16_t ipid[2] = {0, 0};
  uint16_t win[2] = {0, 0};
  uint8_t ip[2][16];  // client, server
  uint16_t port[2];
  uint32_t srv = 0;
  bool pipelined = false;
  Close close = Close::kClient;
  int phase = 0;  // 0 handshake, 1..K exchanges (1: all, when pipelined), then close
  bool final_phase = false;
  bool done = false;
  Sha256 sha[2];
};

constexpr uint32_t kBodyCap = 65536;
constexpr size_t kFillSize = 2 * kBodyCap + 4096;

struct Gen {
  Opts o;
  Totals t;
  std::vector<char> fill;  // body bytes
  uint64_t ofo_thr = 0, dup_thr = 0;
  int64_t ofo_credit = 0;  // see apply_swaps
  uint32_t mss = 1448;
  bool want_sha = false;
  FILE* streams_f = nullptr;

  explicit Gen(const Opts& opts) : o(opts) {
    ofo_thr = pct_thr(o.ofo_pct);
    dup_thr = pct_thr(o.dup_pct);
    mss = o.ipv6 ? 1428 : 1448;
    want_sha = !o.streams.empty();
    fill.resize(kFillSize);
    Rng r(0x10036e6e);  // fixed: body text does not depend on the seed
    static const char alpha[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:-_/\n";
    for (size_t i = 0; i < fill.size(); i++) fill[i] = alpha[r.below(sizeof alpha - 1)];
  }

  // ---- connection start
  void start(Conn& c, uint64_t id) {
    c.id = id;
    c.rng = Rng(mix(o.seed, id, 1));
    c.ofo_rng = Rng(mix(o.seed, id, 2));
    c.tcp_rng = Rng(mix(o.seed, id, 6));
    c.script.clear();
    c.pos = 0;
    c.buf[0].clear();
    c.buf[1].clear();
    c.unacked[0] = c.unacked[1] = 0;
    c.last_tsval[0] = c.last_tsval[1] = 0;
    c.phase = 0;
    c.final_phase = false;
    c.done = false;
    Rng& r = c.rng;
    for (int d = 0; d < 2; d++) {
      c.nxt[d] = r.u32();
      c.tsoff[d] = r.u32();
      c.ipid[d] = uint16_t(r.u32());
    }
    c.win[0] = uint16_t(500 + r.below(12));
    c.win[1] = uint16_t(500 + r.below(12));
    c.pipelined = r.below(100) < 8;
    const uint32_t k = r.below(100);
    c.close = k < 3 ? Close::kRst : k < 15 ? Close::kServer : k < 28 ? Close::kServerFinOnData
                                                                     : Close::kClient;
    if (o.pairs == 0 && c.close == Close::kServerFinOnData) c.close = Close::kServer;
    // Addresses: client index spreads over a /16, ports make the tuple
    // unique for 2^32 connections.
    const uint32_t cidx = uint32_t(1 + id % 65534);
    const uint32_t q = uint32_t(id / 65534);
    c.port[0] = uint16_t(1024 + (q + cidx * 2654435761u % 64512u) % 64512u);
    c.port[1] = 80;
    c.srv = uint32_t(1 + r.below(64));
    std::memset(c.ip, 0, sizeof c.ip);
    if (!o.ipv6) {
      c.ip[0][0] = 198; c.ip[0][1] = 18; c.ip[0][2] = uint8_t(cidx >> 8); c.ip[0][3] = uint8_t(cidx);
      c.ip[1][0] = 198; c.ip[1][1] = 19; c.ip[1][2] = 0; c.ip[1][3] = uint8_t(c.srv);
    } else {
      const uint8_t pre[8] = {0x20, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01};
      std::memcpy(c.ip[0], pre, 8);
      std::memcpy(c.ip[1], pre, 8);
      c.ip[1][7] = 2;
      c.ip[0][14] = uint8_t(cidx >> 8);
      c.ip[0][15] = uint8_t(cidx);
      c.ip[1][15] = uint8_t(c.srv);
    }
    if (want_sha) {
      c.sha[0].init();
      c.sha[1].init();
    }
    t.connections++;
    if (c.pipelined) t.pipelined++;
    switch (c.close) {
      case Close::kRst: t.rst_closed++; break;
      case Close::kServer:
      case Close::kServerFinOnData: t.server_closed++; break;
      case Close::kClient: t.client_closed++; break;
    }
    build_phase(c);
  }

  // ---- script building helpers
  void pkt(Conn& c, int dir, uint8_t flags, uint32_t off = 0, uint32_t len = 0) {
    Pkt p;
    p.dir = uint8_t(dir);
    p.flags = flags;
    p.seq = c.nxt[dir];
    p.ack = (flags & kAck) ? c.nxt[1 - dir] : 0;
    p.off = off;
    p.len = len;
    c.script.push_back(p);
  }
  void pure_ack(Conn& c, int dir) {
    pkt(c, dir, kAck);
    c.unacked[dir] = 0;
  }
  void maybe_ack(Conn& c, int dir, uint32_t pct) {
    if (c.tcp_rng.below(100) < pct && c.unacked[dir] > 0) pure_ack(c, dir);
  }
  // Sends buf[dir][from, end) as one write: full segments, PSH on the last,
  // optional FIN on the last. The receiver ACKs every second segment.
  void send(Conn& c, int dir, size_t from, bool fin = false) {
    const size_t end = c.buf[dir].size();
    c.unacked[dir] = 0;  // our segments carry the ACK for what we received
    size_t off = from;
    while (off < end) {
      const uint32_t len = uint32_t(std::min<size_t>(mss, end - off));
      const bool last = off + len == end;
      uint8_t fl = kAck;
      if (last) fl |= kPsh;
      if (last && fin) fl |= kFin;
      pkt(c, dir, fl, uint32_t(off), len);
      c.nxt[dir] += len;
      if (last && fin) c.nxt[dir] += 1;
      t.stream[dir] += len;
      t.data_segments++;
      off += len;
      if (++c.unacked[1 - dir] >= 2 && !(last && fin)) pure_ack(c, 1 - dir);
    }
  }
  void fin(Conn& c, int dir) {
    pkt(c, dir, kFin | kAck);
    c.nxt[dir] += 1;
    c.unacked[dir] = 0;
  }

  void body(std::string& s, uint32_t n, Rng& r) {
    const size_t at = r.below(kBodyCap);
    s.append(&fill[at], n);
  }
  static void appendf(std::string& s, const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    const int n = std::vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    s.append(b, size_t(std::min(n, int(sizeof b) - 1)));
  }
  void chunked_body(std::string& s, uint32_t n, Rng& r, bool trailer) {
    uint32_t left = n;
    while (left) {
      const uint32_t cs = std::min(left, 64 + r.below(8192));
      appendf(s, "%x\r\n", cs);
      body(s, cs, r);
      s += "\r\n";
      left -= cs;
    }
    s += "0\r\n";
    if (trailer) appendf(s, "X-Checksum: %08x\r\n", r.u32());
    s += "\r\n";
  }

  // What one exchange is.
  enum Kind { kGetCl, kGetChunked, kHead, kPostCl, kPutChunked, kCond304, kNoContent, kNotFound };
  Kind pick_kind(Conn& c) {
    static const struct { Kind k; uint32_t w; } W[] = {
        {kGetCl, 38}, {kGetChunked, 14}, {kHead, 6},   {kPostCl, 12},
        {kPutChunked, 5}, {kCond304, 10}, {kNoContent, 5}, {kNotFound, 10}};
    uint32_t x = c.rng.below(100);
    Kind k = kGetCl;
    for (const auto& e : W) {
      if (x < e.w) { k = e.k; break; }
      x -= e.w;
    }
    if (c.pipelined && k == kHead) k = kGetCl;  // tshark mis-frames pipelined HEAD
    return k;
  }

  struct Exchange {
    Kind kind;
    bool expect = false;
    size_t req_hdr_end = 0;  // offsets in buf[0] / buf[1]
    size_t resp_hdr_end = 0;
  };

  // Appends the request (headers, and body unless expect) to buf[0].
  void write_request(Conn& c, Exchange& x, int idx, bool last, bool want_expect) {
    std::string& s = c.buf[0];
    Rng& r = c.rng;
    static const char* const method[] = {"GET", "GET", "HEAD", "POST", "PUT", "GET", "GET", "GET"};
    const char* m = method[x.kind];
    appendf(s, "%s /obj/%" PRIu64 "/%d/%08x HTTP/1.1\r\nHost: h%u.example\r\n", m, c.id, idx,
            r.u32(), c.srv);
    s += "User-Agent: loom-gen/1.0\r\nAccept: */*\r\n";
    if (x.kind == kCond304) appendf(s, "If-None-Match: \"%08x\"\r\n", r.u32());
    if (last && (c.close == Close::kServer || c.close == Close::kServerFinOnData))
      s += "Connection: close\r\n";
    uint32_t blen = 0;
    if (x.kind == kPostCl) {
      blen = draw_exp(r, 2048, kBodyCap);
      appendf(s, "Content-Type: application/octet-stream\r\nContent-Length: %u\r\n", blen);
      x.expect = want_expect && blen > 1024 && r.below(100) < 30;
      if (x.expect) s += "Expect: 100-continue\r\n";
      t.req_bodies++;
    } else if (x.kind == kPutChunked) {
      s += "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n";
      t.req_bodies++;
      t.req_chunked++;
    }
    s += "\r\n";
    x.req_hdr_end = s.size();
    if (x.kind == kPostCl) {
      body(s, blen, r);
      t.req_body_bytes += blen;
    } else if (x.kind == kPutChunked) {
      const uint32_t n = draw_exp(r, 2048, kBodyCap);
      chunked_body(s, n, r, false);
      t.req_body_bytes += n;
    }
    if (x.expect) t.expect100++;
    if (x.kind == kHead) t.head++;
    t.requests++;
  }

  void write_response(Conn& c, Exchange& x, bool last) {
    std::string& s = c.buf[1];
    Rng& r = c.rng;
    const bool closing = last && (c.close == Close::kServer || c.close == Close::kServerFinOnData);
    const char* conn_hdr = closing ? "Connection: close\r\n" : "";
    const char* common = "Server: loom-gen\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n";
    uint32_t n = 0;
    switch (x.kind) {
      case kGetCl:
      case kPostCl:
      case kHead:
        n = draw_exp(r, o.body_mean, kBodyCap);
        appendf(s, "HTTP/1.1 200 OK\r\n%sContent-Type: application/octet-stream\r\n"
                   "ETag: \"%08x\"\r\nContent-Length: %u\r\n%s\r\n",
                common, r.u32(), n, conn_hdr);
        x.resp_hdr_end = s.size();
        if (x.kind == kHead) {
          t.resp_nobody++;
        } else {
          body(s, n, r);
          t.resp_body_bytes += n;
          t.resp_cl++;
        }
        break;
      case kGetChunked: {
        n = draw_exp(r, o.body_mean, kBodyCap);
        const bool tr = r.below(100) < 20;
        appendf(s, "HTTP/1.1 200 OK\r\n%sContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n%s%s\r\n",
                common, tr ? "Trailer: X-Checksum\r\n" : "", conn_hdr);
        x.resp_hdr_end = s.size();
        chunked_body(s, n, r, tr);
        t.resp_body_bytes += n;
        t.resp_chunked++;
        if (tr) t.resp_trailers++;
        break;
      }
      case kPutChunked:
        appendf(s, "HTTP/1.1 201 Created\r\n%sContent-Type: text/plain\r\nContent-Length: 8\r\n%s\r\ncreated\n",
                common, conn_hdr);
        x.resp_hdr_end = s.size() - 8;
        t.resp_body_bytes += 8;
        t.resp_cl++;
        break;
      case kCond304:
        appendf(s, "HTTP/1.1 304 Not Modified\r\n%sETag: \"%08x\"\r\n%s\r\n", common, r.u32(), conn_hdr);
        x.resp_hdr_end = s.size();
        t.resp_nobody++;
        break;
      case kNoContent:
        appendf(s, "HTTP/1.1 204 No Content\r\n%s%s\r\n", common, conn_hdr);
        x.resp_hdr_end = s.size();
        t.resp_nobody++;
        break;
      case kNotFound: {
        n = 100 + r.below(200);
        appendf(s, "HTTP/1.1 404 Not Found\r\n%sContent-Type: text/html\r\nContent-Length: %u\r\n%s\r\n",
                common, n, conn_hdr);
        x.resp_hdr_end = s.size();
        body(s, n, r);
        t.resp_body_bytes += n;
        t.resp_cl++;
        break;
      }
    }
    t.responses++;
  }

  void build_exchange(Conn& c, int idx, bool last) {
    Exchange x;
    x.kind = pick_kind(c);
    // Client: request (after a delayed ACK of the previous response, or not).
    const size_t q0 = c.buf[0].size();
    write_request(c, x, idx, last, true);
    if (x.expect) {
      // Headers only; the body waits for 100 Continue.
      std::string body_part = c.buf[0].substr(x.req_hdr_end);
      c.buf[0].resize(x.req_hdr_end);
      send(c, 0, q0);
      const size_t i0 = c.buf[1].size();
      c.buf[1] += "HTTP/1.1 100 Continue\r\n\r\n";
      t.interim++;
      send(c, 1, i0);
      const size_t b0 = c.buf[0].size();
      c.buf[0] += body_part;
      send(c, 0, b0);
    } else if (c.tcp_rng.below(100) < 30 && x.kind == kPostCl) {
      // Headers and body as two writes (curl's habit for larger bodies).
      std::string body_part = c.buf[0].substr(x.req_hdr_end);
      c.buf[0].resize(x.req_hdr_end);
      send(c, 0, q0);
      const size_t b0 = c.buf[0].size();
      c.buf[0] += body_part;
      send(c, 0, b0);
    } else {
      send(c, 0, q0);
    }
    // Server: sometimes a delayed ACK before it answers.
    maybe_ack(c, 1, 15);
    const size_t r0 = c.buf[1].size();
    write_response(c, x, last);
    const bool fin_on_data = last && c.close == Close::kServerFinOnData;
    if (c.tcp_rng.below(100) < 20 && x.resp_hdr_end < c.buf[1].size()) {
      // Headers in their own segment, then the body.
      std::string body_part = c.buf[1].substr(x.resp_hdr_end);
      c.buf[1].resize(x.resp_hdr_end);
      send(c, 1, r0);
      const size_t b0 = c.buf[1].size();
      c.buf[1] += body_part;
      send(c, 1, b0, fin_on_data);
    } else {
      send(c, 1, r0, fin_on_data);
    }
    if (!last) maybe_ack(c, 0, 60);  // delayed ACK, or piggybacked on the next request
  }

  void build_pipelined(Conn& c) {
    const int k = int(o.pairs);
    std::vector<Exchange> xs(static_cast<size_t>(k));
    const size_t q0 = c.buf[0].size();
    for (int i = 0; i < k; i++) {
      xs[size_t(i)].kind = pick_kind(c);
      write_request(c, xs[size_t(i)], i, i == k - 1, false);
    }
    send(c, 0, q0);
    maybe_ack(c, 1, 15);
    const size_t r0 = c.buf[1].size();
    for (int i = 0; i < k; i++) write_response(c, xs[size_t(i)], i == k - 1);
    send(c, 1, r0, c.close == Close::kServerFinOnData);
  }

  void build_close(Conn& c) {
    Rng& r = c.tcp_rng;
    switch (c.close) {
      case Close::kClient:
        if (r.below(100) < 50) maybe_ack(c, 0, 100);
        fin(c, 0);
        fin(c, 1);
        pure_ack(c, 0);
        break;
      case Close::kServer:
        fin(c, 1);
        [[fallthrough]];
      case Close::kServerFinOnData:
        if (r.below(100) < 50) pure_ack(c, 0);  // ACK of data+FIN, then the client's FIN
        fin(c, 0);
        pure_ack(c, 1);
        break;
      case Close::kRst:
        maybe_ack(c, 0, 100);
        pkt(c, 0, kRst | kAck);
        break;
    }
  }

  // Out-of-order: swap data segments with the next data segment of the same
  // direction (which may pass pure ACKs of the other direction on the way).
  void apply_swaps(Conn& c) {
    if (!ofo_thr) return;
    std::vector<Pkt>& s = c.script;
    const size_t n = s.size();
    auto is_data = [](const Pkt& p) { return p.len > 0; };
    auto is_pure_ack = [](const Pkt& p) { return p.len == 0 && p.flags == kAck; };
    auto partner = [&](size_t i) -> size_t {
      size_t j = i + 1;
      while (j < n && is_pure_ack(s[j]) && s[j].dir != s[i].dir) j++;
      if (j < n && is_data(s[j]) && s[j].dir == s[i].dir) return j;
      return n;
    };
    uint64_t ndata = 0, nelig = 0;
    for (size_t i = 0; i < n; i++) {
      if (!is_data(s[i])) continue;
      ndata++;
      if (partner(i) < n) nelig++;
    }
    // Only segments followed by another one of the same direction can be
    // swapped, and phases differ in how many there are: a credit carried
    // from phase to phase (in 2^-32 swaps; deterministic, as phases are
    // built in a fixed order) keeps swaps / all data segments at P%.
    const int64_t one = int64_t(1) << 32;
    int64_t target = ofo_credit + int64_t(ofo_thr * ndata);
    if (target > 64 * one) target = 64 * one;
    if (!nelig || target <= 0) {
      ofo_credit = target;
      return;
    }
    uint64_t thr = uint64_t(target) / nelig;
    if (thr > uint64_t(one)) thr = uint64_t(one);
    int64_t swaps = 0;
    for (size_t i = 0; i < n; i++) {
      if (!is_data(s[i])) continue;
      const size_t j = partner(i);
      if (j >= n) continue;
      if (!c.ofo_rng.chance(thr)) continue;
      std::rotate(s.begin() + long(i), s.begin() + long(j), s.begin() + long(j) + 1);
      t.ofo_swaps++;
      swaps++;
      i++;  // the delayed segment (now at i+1) is not swapped again
    }
    ofo_credit = target - swaps * one;
    if (ofo_credit < -4 * one) ofo_credit = -4 * one;
  }

  void build_phase(Conn& c) {
    c.script.clear();
    c.pos = 0;
    c.buf[0].clear();
    c.buf[1].clear();
    const int k = int(o.pairs);
    const int n_ex = k == 0 ? 0 : c.pipelined ? 1 : k;
    if (c.phase == 0) {
      // Handshake.
      pkt(c, 0, kSyn);
      c.nxt[0] += 1;
      pkt(c, 1, kSyn | kAck);
      c.nxt[1] += 1;
      pure_ack(c, 0);
    } else if (c.phase <= n_ex) {
      if (c.pipelined)
        build_pipelined(c);
      else
        build_exchange(c, c.phase - 1, c.phase == n_ex);
    } else {
      build_close(c);
      c.final_phase = true;
    }
    c.phase++;
    apply_swaps(c);
    if (want_sha) {
      c.sha[0].update(c.buf[0].data(), c.buf[0].size());
      c.sha[1].update(c.buf[1].data(), c.buf[1].size());
    }
  }

  void finish(Conn& c) {
    c.done = true;
    if (!streams_f) return;
    char a[2][64];
    for (int d = 0; d < 2; d++) {
      char ipb[INET6_ADDRSTRLEN];
      inet_ntop(o.ipv6 ? AF_INET6 : AF_INET, c.ip[d], ipb, sizeof ipb);
      std::snprintf(a[d], sizeof a[d], o.ipv6 ? "[%s]:%u" : "%s:%u", ipb, c.port[d]);
    }
    const uint64_t n0 = c.sha[0].len, n1 = c.sha[1].len;  // before hex() pads
    const std::string h0 = c.sha[0].hex(), h1 = c.sha[1].hex();
    std::fprintf(streams_f, "%s %s c2s %" PRIu64 " %s\n", a[0], a[1], n0, h0.c_str());
    std::fprintf(streams_f, "%s %s s2c %" PRIu64 " %s\n", a[1], a[0], n1, h1.c_str());
  }

  // ---------------------------------------------------------------- output
  FILE* out = nullptr;
  std::vector<uint8_t> ob;
  uint64_t ts_us = 1700000000ULL * 1000000ULL;
  Rng clock_rng{0};
  Rng pick_rng{0};
  Rng dup_rng{0};

  void flush_out() {
    if (!ob.empty() && std::fwrite(ob.data(), 1, ob.size(), out) != ob.size()) {
      std::perror("loom_gen: write");
      std::exit(1);
    }
    ob.clear();
  }

  static uint64_t sum16(uint64_t acc, const uint8_t* p, size_t n) {
    while (n >= 8) {
      uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + 4, 4);
      acc += uint64_t(a) + b;
      p += 8;
      n -= 8;
    }
    while (n >= 2) {
      uint16_t a;
      std::memcpy(&a, p, 2);
      acc += a;
      p += 2;
      n -= 2;
    }
    if (n) {
      uint8_t last[2] = {*p, 0};
      uint16_t a;
      std::memcpy(&a, last, 2);
      acc += a;
    }
    return acc;
  }
  static uint16_t fold(uint64_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return uint16_t(~acc);
  }
  static void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
  static void put32le(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v); p[1] = uint8_t(v >> 8); p[2] = uint8_t(v >> 16); p[3] = uint8_t(v >> 24);
  }
  static void put32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24); p[1] = uint8_t(v >> 16); p[2] = uint8_t(v >> 8); p[3] = uint8_t(v);
  }

  // Appends a record header, returns where the frame starts.
  size_t record(uint32_t caplen) {
    ts_us += 1 + clock_rng.below(4);
    const size_t at = ob.size();
    ob.resize(at + 16 + caplen);
    uint8_t* h = &ob[at];
    put32le(h, uint32_t(ts_us / 1000000));
    put32le(h + 4, uint32_t(ts_us % 1000000));
    put32le(h + 8, caplen);
    put32le(h + 12, caplen);
    t.packets++;
    t.file_bytes += 16 + caplen;
    t.frame_bytes += caplen;
    return at + 16;
  }

  // Builds and writes one packet of c's script; returns the frame's offset in ob.
  size_t emit(Conn& c, const Pkt& p) {
    const int d = p.dir;
    const bool syn = p.flags & kSyn;
    const uint32_t optlen = syn ? 20 : 12;
    const uint32_t l2 = o.vlan >= 0 ? 18 : 14;
    const uint32_t l3 = o.ipv6 ? 40 : 20;
    const uint32_t l4 = 20 + optlen;
    const uint32_t caplen = l2 + l3 + l4 + p.len;
    const size_t at = record(caplen);
    uint8_t* f = &ob[at];
    // Ethernet: client 02:00:00:00:00:01, server side (router) 02:00:00:00:00:02.
    static const uint8_t mac[2][6] = {{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}};
    std::memcpy(f, mac[1 - d], 6);
    std::memcpy(f + 6, mac[d], 6);
    if (o.vlan >= 0) {
      put16(f + 12, 0x8100);
      put16(f + 14, uint16_t(o.vlan));
    }
    put16(f + l2 - 2, o.ipv6 ? 0x86dd : 0x0800);
    uint8_t* ip = f + l2;
    uint8_t* tcp = ip + l3;
    const uint8_t* src = c.ip[d];
    const uint8_t* dst = c.ip[1 - d];
    const uint16_t id = c.ipid[d]++;
    uint64_t ps;  // pseudo-header sum
    if (!o.ipv6) {
      ip[0] = 0x45; ip[1] = 0;
      put16(ip + 2, uint16_t(l3 + l4 + p.len));
      put16(ip + 4, id);
      put16(ip + 6, 0x4000);  // DF
      ip[8] = 64; ip[9] = 6;
      put16(ip + 10, 0);
      std::memcpy(ip + 12, src, 4);
      std::memcpy(ip + 16, dst, 4);
      const uint16_t ck = fold(sum16(0, ip, 20));
      std::memcpy(ip + 10, &ck, 2);
      uint8_t ph[12];
      std::memcpy(ph, src, 4);
      std::memcpy(ph + 4, dst, 4);
      ph[8] = 0; ph[9] = 6;
      put16(ph + 10, uint16_t(l4 + p.len));
      ps = sum16(0, ph, 12);
    } else {
      put32(ip, 0x60000000);
      put16(ip + 4, uint16_t(l4 + p.len));
      ip[6] = 6; ip[7] = 64;
      std::memcpy(ip + 8, src, 16);
      std::memcpy(ip + 24, dst, 16);
      uint8_t ph[40] = {};
      std::memcpy(ph, src, 16);
      std::memcpy(ph + 16, dst, 16);
      put32(ph + 32, l4 + p.len);
      ph[39] = 6;
      ps = sum16(0, ph, 40);
    }
    put16(tcp, c.port[d]);
    put16(tcp + 2, c.port[1 - d]);
    put32(tcp + 4, p.seq);
    put32(tcp + 8, p.ack);
    tcp[12] = uint8_t((l4 / 4) << 4);
    tcp[13] = p.flags;
    put16(tcp + 14, syn ? (d == 0 ? 64240 : 65160) : c.win[d]);
    put16(tcp + 16, 0);
    put16(tcp + 18, 0);
    // Timestamps: a 1 kHz clock per host, rising in capture order.
    const uint32_t tsval = uint32_t(ts_us / 1000) + c.tsoff[d];
    const uint32_t tsecr = (p.flags & kAck) ? c.last_tsval[1 - d] : 0;
    c.last_tsval[d] = tsval;
    uint8_t* op = tcp + 20;
    if (syn) {
      const uint16_t mssv = o.ipv6 ? 1440 : 1460;
      op[0] = 2; op[1] = 4; put16(op + 2, mssv);
      op[4] = 4; op[5] = 2;
      op[6] = 8; op[7] = 10; put32(op + 8, tsval); put32(op + 12, tsecr);
      op[16] = 1; op[17] = 3; op[18] = 3; op[19] = 7;
    } else {
      op[0] = 1; op[1] = 1; op[2] = 8; op[3] = 10;
      put32(op + 4, tsval);
      put32(op + 8, tsecr);
    }
    if (p.len) std::memcpy(tcp + l4, c.buf[d].data() + p.off, p.len);
    const uint16_t ck = fold(sum16(ps, tcp, l4 + p.len));
    std::memcpy(tcp + 16, &ck, 2);
    return at;
  }

  struct Dup {
    uint64_t due;   // packet index at which it is written
    uint64_t conn;  // connection id
    std::vector<uint8_t> frame;
  };
  std::vector<Dup> dups;  // sorted by due, stable

  void write_dup(size_t k) {
    Dup& x = dups[k];
    const size_t at = record(uint32_t(x.frame.size()));
    std::memcpy(&ob[at], x.frame.data(), x.frame.size());
    t.duplicates++;
    dups.erase(dups.begin() + long(k));
  }

  void run() {
    out = std::fopen(o.out.c_str(), "wb");
    if (!out) {
      std::perror(("loom_gen: " + o.out).c_str());
      std::exit(1);
    }
    if (!o.streams.empty()) {
      streams_f = std::fopen(o.streams.c_str(), "w");
      if (!streams_f) {
        std::perror(("loom_gen: " + o.streams).c_str());
        std::exit(1);
      }
    }
    ob.reserve(9u << 20);
    {
      // Little-endian classic pcap: magic a1b2c3d4, v2.4, usec, snaplen 65535, Ethernet.
      uint8_t gh[24] = {};
      put32le(gh, 0xa1b2c3d4);
      gh[4] = 2;
      gh[6] = 4;
      put32le(gh + 16, 65535);
      put32le(gh + 20, 1);
      ob.insert(ob.end(), gh, gh + 24);
    }
    clock_rng = Rng(mix(o.seed, 0, 3));
    pick_rng = Rng(mix(o.seed, 0, 4));
    dup_rng = Rng(mix(o.seed, 0, 5));

    const size_t slots = size_t(std::min<uint64_t>(o.concurrency, o.flows));
    std::vector<std::unique_ptr<Conn>> act;
    uint64_t next_id = 0;
    for (size_t i = 0; i < slots; i++) {
      act.push_back(std::make_unique<Conn>());
      start(*act.back(), next_id++);
    }
    std::vector<std::unique_ptr<Conn>> spare;
    while (!act.empty() || !dups.empty()) {
      if (ob.size() > (8u << 20)) flush_out();
      if (!dups.empty() && (dups.front().due <= t.packets || act.empty())) {
        write_dup(0);
        continue;
      }
      const size_t k = pick_rng.below(uint32_t(act.size()));
      Conn& c = *act[k];
      const Pkt p = c.script[c.pos++];
      const bool last = c.final_phase && c.pos == c.script.size();
      if (last) {
        // Duplicates of this connection go out before its last packet.
        for (size_t i = 0; i < dups.size();)
          if (dups[i].conn == c.id)
            write_dup(i);
          else
            i++;
      }
      const size_t at = emit(c, p);
      if (p.len && !last && dup_thr && dup_rng.chance(dup_thr)) {
        Dup x;
        x.due = t.packets + dup_rng.below(3);  // 1-3 packets after the original
        x.conn = c.id;
        x.frame.assign(ob.begin() + long(at), ob.end());
        auto it = std::upper_bound(dups.begin(), dups.end(), x.due,
                                   [](uint64_t v, const Dup& e) { return v < e.due; });
        dups.insert(it, std::move(x));
      }
      if (c.pos == c.script.size()) {
        if (c.final_phase) {
          finish(c);
          if (next_id < o.flows) {
            start(c, next_id++);
          } else {
            std::swap(act[k], act.back());
            spare.push_back(std::move(act.back()));
            act.pop_back();
          }
        } else {
          build_phase(c);
        }
      }
    }
    flush_out();
    if (std::fclose(out) != 0) {
      std::perror("loom_gen: close");
      std::exit(1);
    }
    if (streams_f && std::fclose(streams_f) != 0) {
      std::perror("loom_gen: streams");
      std::exit(1);
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "loom_gen: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--flows") o.flows = parse_u64("--flows", val(), 1, uint64_t(1) << 32);
    else if (a == "--pairs") o.pairs = uint32_t(parse_u64("--pairs", val(), 0, 100000));
    else if (a == "--concurrency") o.concurrency = uint32_t(parse_u64("--concurrency", val(), 1, 1u << 20));
    else if (a == "--ofo-pct") o.ofo_pct = parse_pct("--ofo-pct", val());
    else if (a == "--dup-pct") o.dup_pct = parse_pct("--dup-pct", val());
    else if (a == "--body-mean") o.body_mean = uint32_t(parse_u64("--body-mean", val(), 0, kBodyCap));
    else if (a == "--ipv6") o.ipv6 = true;
    else if (a == "--vlan") o.vlan = int(parse_u64("--vlan", val(), 0, 4095));
    else if (a == "--seed") o.seed = parse_u64("--seed", val(), 0, UINT64_MAX);
    else if (a == "--out") o.out = val();
    else if (a == "--streams") o.streams = val();
    else if (a == "-h" || a == "--help") usage(0);
    else {
      std::fprintf(stderr, "loom_gen: unknown argument '%s'\n", a.c_str());
      usage(2);
    }
  }
  if (o.out.empty()) {
    std::fprintf(stderr, "loom_gen: --out FILE is required\n");
    usage(2);
  }
  const auto t0 = std::chrono::steady_clock::now();
  Gen g(o);
  g.run();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const Totals& t = g.t;
  std::printf(
      "packets %" PRIu64 "\nbytes %" PRIu64 "\nconnections %" PRIu64 "\nrequests %" PRIu64
      "\nresponses %" PRIu64 "\nstream_bytes_c2s %" PRIu64 "\nstream_bytes_s2c %" PRIu64
      "\nofo_swaps %" PRIu64 "\nduplicates %" PRIu64 "\n",
      t.packets, t.file_bytes, t.connections, t.requests, t.responses, t.stream[0], t.stream[1],
      t.ofo_swaps, t.duplicates);
  std::printf(
      "frame_bytes %" PRIu64 "\ninterim_100_continue %" PRIu64 "\ndata_segments %" PRIu64
      "\nhead_requests %" PRIu64 "\nexpect_100_requests %" PRIu64 "\nrequests_with_body %" PRIu64
      "\nrequests_chunked %" PRIu64 "\nrequest_body_bytes %" PRIu64
      "\nresponses_content_length %" PRIu64 "\nresponses_chunked %" PRIu64
      "\nresponses_with_trailers %" PRIu64 "\nresponses_without_body %" PRIu64
      "\nresponse_body_bytes %" PRIu64 "\npipelined_connections %" PRIu64
      "\nclient_fin_connections %" PRIu64 "\nserver_fin_connections %" PRIu64
      "\nrst_connections %" PRIu64 "\n",
      t.frame_bytes, t.interim, t.data_segments, t.head, t.expect100, t.req_bodies, t.req_chunked,
      t.req_body_bytes, t.resp_cl, t.resp_chunked, t.resp_trailers, t.resp_nobody,
      t.resp_body_bytes, t.pipelined, t.client_closed, t.server_closed, t.rst_closed);
  std::fprintf(stderr, "loom_gen: %" PRIu64 " packets, %" PRIu64 " bytes in %.2f s (%.2f Mpps)\n",
               t.packets, t.file_bytes, secs, secs > 0 ? double(t.packets) / secs / 1e6 : 0.0);
  return 0;
}
