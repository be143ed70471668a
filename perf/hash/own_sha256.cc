// Loom's own SHA-256 (portable and SHA-NI), as lib/core had it before
// issue 16 moved the stream fingerprints to libcrypto. Kept here, outside
// the product, only as the reference hash_bench measures libcrypto
// against, so the decision can be checked again on other CPUs.
#include "own_sha256.h"

#include <cstring>

#include <cpuid.h>
#include <immintrin.h>

namespace ref {

namespace {

constexpr uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void block(uint32_t h[8], const uint8_t* p) noexcept {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = uint32_t(p[4 * i]) << 24 | uint32_t(p[4 * i + 1]) << 16 | uint32_t(p[4 * i + 2]) << 8 |
           p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
    const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    const uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* The same compression with the SHA extensions (Intel SHA-NI, on x86 since
 * Goldmont and Zen): four rounds per sha256rnds2 pair. Profiling showed
 * the portable block() at ~70% of an offline run; this runs it several
 * times faster. The message schedule keeps four registers in rotation:
 * group g uses M[g%4], extends M[(g+1)%4] (msg2) and prepares M[(g-1)%4]
 * (msg1), which is the shape of Intel's reference code. */
__attribute__((target("sha,sse4.1"))) void blocks_ni(uint32_t h[8], const uint8_t* p,
                                                     size_t n) noexcept {
  const __m128i kMask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i tmp = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[0]));
  __m128i s1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&h[4]));
  tmp = _mm_shuffle_epi32(tmp, 0xB1);          // CDAB
  s1 = _mm_shuffle_epi32(s1, 0x1B);            // EFGH
  __m128i s0 = _mm_alignr_epi8(tmp, s1, 8);    // ABEF
  s1 = _mm_blend_epi16(s1, tmp, 0xF0);         // CDGH
  for (; n; n--, p += 64) {
    const __m128i abef = s0, cdgh = s1;
    __m128i m[4];
    for (int i = 0; i < 4; i++)
      m[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i)), kMask);
    for (int g = 0; g < 16; g++) {
      __m128i& cur = m[g & 3];
      __m128i& prev = m[(g + 3) & 3];
      __m128i& next = m[(g + 1) & 3];
      __m128i msg = _mm_add_epi32(cur, _mm_loadu_si128(reinterpret_cast<const __m128i*>(&K[4 * g])));
      s1 = _mm_sha256rnds2_epu32(s1, s0, msg);
      if (g >= 3 && g <= 14) {
        next = _mm_add_epi32(next, _mm_alignr_epi8(cur, prev, 4));
        next = _mm_sha256msg2_epu32(next, cur);
      }
      msg = _mm_shuffle_epi32(msg, 0x0E);
      s0 = _mm_sha256rnds2_epu32(s0, s1, msg);
      if (g >= 1 && g <= 12) prev = _mm_sha256msg1_epu32(prev, cur);
    }
    s0 = _mm_add_epi32(s0, abef);
    s1 = _mm_add_epi32(s1, cdgh);
  }
  tmp = _mm_shuffle_epi32(s0, 0x1B);           // FEBA
  s1 = _mm_shuffle_epi32(s1, 0xB1);            // DCHG
  s0 = _mm_blend_epi16(tmp, s1, 0xF0);         // DCBA
  s1 = _mm_alignr_epi8(s1, tmp, 8);            // ABEF
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[0]), s0);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&h[4]), s1);
}

bool cpu_has_sha_ni() noexcept {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool sha = b & (1u << 29);
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  return sha && (c & (1u << 19)) && (c & (1u << 9));  // SSE4.1, SSSE3
}

bool g_use_ni = cpu_has_sha_ni();

inline void blocks(uint32_t h[8], const uint8_t* p, size_t n) noexcept {
  if (g_use_ni) {
    blocks_ni(h, p, n);
    return;
  }
  for (; n; n--, p += 64) block(h, p);
}

}  // namespace

bool sha256_accelerated() noexcept { return g_use_ni; }
bool sha256_use_accelerated(bool on) noexcept {
  g_use_ni = on && cpu_has_sha_ni();
  return g_use_ni;
}

void OwnSha256::init() noexcept {
  static constexpr uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::memcpy(h, iv, sizeof h);
  len = 0;
  buf_len = 0;
}

void OwnSha256::update(const uint8_t* p, size_t n) noexcept {
  len += n;
  if (buf_len) {
    const size_t take = n < 64 - buf_len ? n : 64 - buf_len;
    std::memcpy(buf + buf_len, p, take);
    buf_len += uint32_t(take);
    p += take;
    n -= take;
    if (buf_len < 64) return;
    blocks(h, buf, 1);
    buf_len = 0;
  }
  if (n >= 64) {
    blocks(h, p, n / 64);
    p += n & ~size_t(63);
    n &= 63;
  }
  if (n) {
    std::memcpy(buf, p, n);
    buf_len = uint32_t(n);
  }
}

void OwnSha256::final(uint8_t out[32]) noexcept {
  const uint64_t bits = len * 8;
  uint8_t pad[72] = {0x80};
  const size_t padlen = (buf_len < 56 ? 56 : 120) - buf_len;
  for (int i = 0; i < 8; i++) pad[padlen + i] = uint8_t(bits >> (56 - 8 * i));
  update(pad, padlen + 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = uint8_t(h[i] >> 24);
    out[4 * i + 1] = uint8_t(h[i] >> 16);
    out[4 * i + 2] = uint8_t(h[i] >> 8);
    out[4 * i + 3] = uint8_t(h[i]);
  }
}

std::string OwnSha256::hex() noexcept {
  uint8_t d[32];
  final(d);
  static const char* x = "0123456789abcdef";
  std::string s(64, '0');
  for (int i = 0; i < 32; i++) {
    s[2 * i] = x[d[i] >> 4];
    s[2 * i + 1] = x[d[i] & 15];
  }
  return s;
}

}  // namespace ref
