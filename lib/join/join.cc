#include "join/join.h"

#include <cstring>
#include <ctime>

#include <unistd.h>

#include <openssl/evp.h>

#include "core/json.h"
#include "join/format.h"

namespace join {

std::string community_id(uint16_t seed, uint8_t proto, int ipver, const uint8_t* saddr,
                         const uint8_t* daddr, uint16_t sport, uint16_t dport) {
  const size_t alen = ipver == 6 ? 16 : 4;
  // The spec orders the endpoints so that both directions hash alike:
  // the smaller address first, the smaller port when the addresses tie.
  const int c = std::memcmp(saddr, daddr, alen);
  if (c > 0 || (c == 0 && sport > dport)) {
    std::swap(saddr, daddr);
    std::swap(sport, dport);
  }
  uint8_t buf[2 + 32 + 2 + 4];
  size_t n = 0;
  buf[n++] = uint8_t(seed >> 8);
  buf[n++] = uint8_t(seed);
  std::memcpy(buf + n, saddr, alen);
  n += alen;
  std::memcpy(buf + n, daddr, alen);
  n += alen;
  buf[n++] = proto;
  buf[n++] = 0;  // padding
  buf[n++] = uint8_t(sport >> 8);
  buf[n++] = uint8_t(sport);
  buf[n++] = uint8_t(dport >> 8);
  buf[n++] = uint8_t(dport);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  // One-shot EVP: fine off the fast path (it may allocate).
  if (!EVP_Digest(buf, n, md, &mdlen, EVP_sha1(), nullptr) || mdlen != 20) return "";
  unsigned char b64[32];
  const int blen = EVP_EncodeBlock(b64, md, 20);
  std::string o = "1:";
  o.append(reinterpret_cast<const char*>(b64), size_t(blen));
  return o;
}

std::string community_id(const flow::Key& k, uint16_t seed) {
  return community_id(seed, kTcp, k.ipver, k.a, k.b, k.pa, k.pb);
}

void rfc3339(std::string& o, uint64_t ns) {
  const time_t s = time_t(ns / 1000000000ull);
  tm t;
  gmtime_r(&s, &t);
  char b[48];
  const size_t n = std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &t);
  o.append(b, n);
  const uint64_t frac = ns % 1000000000ull;
  char f[11] = {'.', 0, 0, 0, 0, 0, 0, 0, 0, 0, 'Z'};
  uint64_t v = frac;
  for (int i = 9; i >= 1; i--) {
    f[i] = char('0' + v % 10);
    v /= 10;
  }
  o.append(f, sizeof f);
}

std::string conn_key(uint64_t id) {
  static constexpr char x[] = "0123456789abcdef";
  std::string o(16, '0');
  for (int i = 15; i >= 0; i--, id >>= 4) o[size_t(i)] = x[id & 15];
  return o;
}

std::string host_name() {
  char h[256] = {};
  if (gethostname(h, sizeof h - 1) != 0 || !h[0]) return "unknown";
  // What [sensor] name would accept: 1-64 printable characters, no spaces
  // (docs/schema): a long FQDN keeps its first 64.
  std::string s(h, strnlen(h, 64));
  for (char& c : s)
    if (c <= 0x20 || c >= 0x7F) c = '_';
  return s;
}

namespace {

namespace j = core::json;

/* Opens the record's line for more fields: drops its closing "}\n". */
void reopen(std::string& o) {
  if (o.size() >= 2 && o.compare(o.size() - 2, 2, "}\n") == 0) o.resize(o.size() - 2);
}

void common(std::string& o, const flow::Key& k, uint64_t conn_id, const Meta& meta) {
  j::lit(o, ",\"community_id\":\"");
  o += community_id(k, meta.seed);
  j::lit(o, "\",\"sensor\":");
  j::str(o, meta.sensor.data(), meta.sensor.size());
  j::lit(o, ",\"schema\":");
  j::num(o, uint64_t(kSchema));
  j::lit(o, ",\"conn_id\":\"");
  o += conn_key(conn_id);
  o += '"';
}

void headers(std::string& o, const http::Message& m, const Meta& meta) {
  j::lit(o, ",\"headers\":{");
  bool any = false;
  std::string v;
  for (size_t h = 0; h < meta.headers.size(); h++) {
    v.clear();
    bool seen = false;
    for (size_t at = 0; at + 3 <= m.hdrs_len;) {
      const size_t len = size_t(m.hdrs[at + 1]) | size_t(m.hdrs[at + 2]) << 8;
      if (at + 3 + len > m.hdrs_len) break;  // the framer writes whole entries; be safe anyway
      if (m.hdrs[at] == h) {
        // A repeated header is one list (RFC 9110 5.3): joined with ", ".
        if (seen) v += ", ";
        v.append(reinterpret_cast<const char*>(m.hdrs + at + 3), len);
        seen = true;
      }
      at += 3 + len;
    }
    if (!seen) continue;
    if (any) o += ',';
    any = true;
    j::str(o, meta.headers[h].data(), meta.headers[h].size());
    o += ':';
    j::str(o, v.data(), v.size());
  }
  o += '}';
}

}  // namespace

std::string message_line(const http::Message& m, const Meta& meta) {
  std::string o = message_json(m);
  reopen(o);
  common(o, m.key, m.conn_id, meta);
  j::lit(o, ",\"ts_first\":\"");
  rfc3339(o, m.ts_first_ns);
  j::lit(o, "\",\"ts_last\":\"");
  rfc3339(o, m.ts_last_ns);
  o += '"';
  if (!meta.headers.empty()) headers(o, m, meta);
  j::lit(o, "}\n");
  return o;
}

std::string stream_line(const inspect::StreamRecord& r, const Meta& meta) {
  std::string o = stream_json(r);
  reopen(o);
  common(o, r.key, r.conn_id, meta);
  j::lit(o, ",\"first_ts\":\"");
  rfc3339(o, r.first_ts_ns);
  j::lit(o, "\",\"last_ts\":\"");
  rfc3339(o, r.last_ts_ns);
  j::lit(o, "\"}\n");
  return o;
}

}  // namespace join
