// The stream fingerprint (SHA-256 of every delivered byte, updated per
// segment) and the records' Community ID (one SHA-1 of ~40 bytes): Loom's
// former own SHA-256 (own_sha256.cc, the reference) against OpenSSL 3's
// libcrypto as core::Sha256 now uses it, and through EVP, on this machine's
// CPU (SHA extensions when CPUID has them). Segment sizes are those a
// reassembled stream delivers: a small request, a typical MSS, a jumbo
// frame's worth. Bytes per second is the number to compare.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_CTX: the allocation-free API the fast path could use
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/sha256.h"
#include "join/join.h"
#include "own_sha256.h"

namespace {

std::vector<uint8_t> data(size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = uint8_t(i * 131 + 7);
  return v;
}

// A stream of 64 segments of `size` bytes, then the digest: what one
// connection direction costs.
void BM_Sha256_LoomOwn(benchmark::State& st) {
  const auto d = data(size_t(st.range(0)));
  for (auto _ : st) {
    ref::OwnSha256 s;
    s.init();
    for (int i = 0; i < 64; i++) s.update(d.data(), d.size());
    uint8_t out[32];
    s.final(out);
    benchmark::DoNotOptimize(out);
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * 64 * st.range(0));
  st.SetLabel(ref::sha256_accelerated() ? "SHA-NI" : "portable");
}

// What the stage runs now: core::Sha256 over libcrypto's SHA256_CTX.
void BM_Sha256_Core(benchmark::State& st) {
  const auto d = data(size_t(st.range(0)));
  for (auto _ : st) {
    core::Sha256 s;
    s.init();
    for (int i = 0; i < 64; i++) s.update(d.data(), d.size());
    uint8_t out[32];
    s.final(out);
    benchmark::DoNotOptimize(out);
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * 64 * st.range(0));
}

void BM_Sha256_LibcryptoCtx(benchmark::State& st) {
  const auto d = data(size_t(st.range(0)));
  for (auto _ : st) {
    SHA256_CTX s;
    SHA256_Init(&s);
    for (int i = 0; i < 64; i++) SHA256_Update(&s, d.data(), d.size());
    uint8_t out[32];
    SHA256_Final(out, &s);
    benchmark::DoNotOptimize(out);
  }
  st.SetBytesProcessed(int64_t(st.iterations()) * 64 * st.range(0));
}

void BM_Sha256_LibcryptoEvp(benchmark::State& st) {
  const auto d = data(size_t(st.range(0)));
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* c = EVP_MD_CTX_new();  // one per stream direction: allocated
  for (auto _ : st) {
    EVP_DigestInit_ex(c, md, nullptr);
    for (int i = 0; i < 64; i++) EVP_DigestUpdate(c, d.data(), d.size());
    uint8_t out[32];
    unsigned n = 0;
    EVP_DigestFinal_ex(c, out, &n);
    benchmark::DoNotOptimize(out);
  }
  EVP_MD_CTX_free(c);
  EVP_MD_free(md);
  st.SetBytesProcessed(int64_t(st.iterations()) * 64 * st.range(0));
}

BENCHMARK(BM_Sha256_LoomOwn)->Arg(64)->Arg(536)->Arg(1460)->Arg(8960);
BENCHMARK(BM_Sha256_Core)->Arg(64)->Arg(536)->Arg(1460)->Arg(8960);
BENCHMARK(BM_Sha256_LibcryptoCtx)->Arg(64)->Arg(536)->Arg(1460)->Arg(8960);
BENCHMARK(BM_Sha256_LibcryptoEvp)->Arg(64)->Arg(536)->Arg(1460)->Arg(8960);

// Community ID of one record (SHA-1 through EVP one-shot, base64).
void BM_CommunityId(benchmark::State& st) {
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const int ver = int(st.range(0));
  for (auto _ : st) benchmark::DoNotOptimize(join::community_id(0, 6, ver, a, b, 40000, 443));
  st.SetItemsProcessed(int64_t(st.iterations()));
}
BENCHMARK(BM_CommunityId)->Arg(4)->Arg(6);

}  // namespace

BENCHMARK_MAIN();
