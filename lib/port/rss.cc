#include "port/rss.h"

#include <cstdio>
#include <stdexcept>

namespace port {

std::vector<uint8_t> symmetric_key(size_t len) {
  std::vector<uint8_t> k(len);
  for (size_t i = 0; i < len; i++) k[i] = (i % 2) ? 0x5A : 0x6D;
  return k;
}

std::vector<uint8_t> microsoft_key() {
  return {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
          0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
          0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
          0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
}

uint32_t toeplitz(const uint8_t* key, size_t key_len, const uint8_t* data,
                  size_t len) noexcept {
  if (key_len < len + 4) return 0;
  uint32_t result = 0;
  // `window` holds the 32 key bits aligned with the current input bit.
  uint32_t window = uint32_t(key[0]) << 24 | uint32_t(key[1]) << 16 |
                    uint32_t(key[2]) << 8 | key[3];
  for (size_t i = 0; i < len; i++) {
    for (int b = 7; b >= 0; b--) {
      if (data[i] & (1u << b)) result ^= window;
      window <<= 1;
      if (key[i + 4] & (1u << b)) window |= 1;
    }
  }
  return result;
}

std::vector<uint8_t> tuple_bytes(const uint8_t* src, const uint8_t* dst,
                                 uint16_t sport, uint16_t dport, bool v6,
                                 bool with_ports) {
  const size_t alen = v6 ? 16 : 4;
  std::vector<uint8_t> t(src, src + alen);
  t.insert(t.end(), dst, dst + alen);
  if (with_ports) {
    t.push_back(uint8_t(sport >> 8));
    t.push_back(uint8_t(sport));
    t.push_back(uint8_t(dport >> 8));
    t.push_back(uint8_t(dport));
  }
  return t;
}

std::vector<uint16_t> default_reta(uint16_t reta_size, uint16_t n_queues) {
  std::vector<uint16_t> r(reta_size ? reta_size : 128);
  for (size_t i = 0; i < r.size(); i++) r[i] = uint16_t(i % (n_queues ? n_queues : 1));
  return r;
}

SymmetryReport check_symmetry(const std::vector<uint8_t>& key,
                              const std::vector<uint16_t>& reta,
                              uint32_t n_tuples, bool with_ports) {
  SymmetryReport r;
  uint16_t max_q = 0;
  for (uint16_t q : reta) max_q = q > max_q ? q : max_q;
  r.per_queue.assign(size_t(max_q) + 1, 0);
  // A fixed LCG, not std::random: the same tuples on every run and every
  // libstdc++, so the start-up log line is reproducible.
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto next = [&s] {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(s >> 32);
  };
  for (uint32_t i = 0; i < n_tuples; i++) {
    const bool v6 = i % 2;
    uint8_t a[16], b[16];
    for (int j = 0; j < 16; j += 4) {
      uint32_t x = next(), y = next();
      for (int k = 0; k < 4; k++) {
        a[j + k] = uint8_t(x >> (8 * k));
        b[j + k] = uint8_t(y >> (8 * k));
      }
    }
    const uint16_t pa = uint16_t(next()), pb = uint16_t(next());
    const auto fwd = tuple_bytes(a, b, pa, pb, v6, with_ports);
    const auto rev = tuple_bytes(b, a, pb, pa, v6, with_ports);
    const uint32_t hf = toeplitz(key.data(), key.size(), fwd.data(), fwd.size());
    const uint32_t hr = toeplitz(key.data(), key.size(), rev.data(), rev.size());
    const uint16_t qf = reta[hf % reta.size()];
    const uint16_t qr = reta[hr % reta.size()];
    r.tuples++;
    r.per_queue[qf]++;
    if (qf != qr) r.asymmetric++;
  }
  r.symmetric = r.asymmetric == 0 && key.size() >= 40;
  return r;
}

std::string SymmetryReport::summary() const {
  std::string s = symmetric ? "symmetric" : "NOT symmetric";
  char buf[64];
  std::snprintf(buf, sizeof buf, " (%u of %u sample tuples split)", asymmetric, tuples);
  s += buf;
  s += "; balance per queue:";
  for (size_t q = 0; q < per_queue.size(); q++) {
    std::snprintf(buf, sizeof buf, " q%zu %.1f%%", q,
                  tuples ? 100.0 * per_queue[q] / tuples : 0.0);
    s += buf;
  }
  return s;
}

std::vector<uint8_t> parse_hex_key(const std::string& s) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    if (c == ':' || c == ' ') continue;
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else throw std::invalid_argument("character '" + std::string(1, c) +
                                     "' at position " + std::to_string(i) +
                                     " is not a hex digit");
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
  return out;
}

}  // namespace port
