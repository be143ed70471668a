/* core/sha256: SHA-256, incremental, allocation-free, from libcrypto.
 *
 * Used by reassembly to fingerprint each delivered stream (streams.jsonl
 * "sha256") as bytes arrive, so nothing has to be kept. The digest is
 * OpenSSL 3's (it uses the CPU's SHA extensions where CPUID has them),
 * through its SHA256_CTX interface: a plain struct the caller owns, so a
 * stream's context lives in its flow slot and nothing is allocated per
 * connection (EVP contexts allocate on every init). perf/hash measured it
 * as fast as the SHA-NI code Loom had before (docs/performance.md).
 * Thread: any; one context per stream direction, one writer.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace core {

struct Sha256 {
  // libcrypto's SHA256_CTX, opaque here so that its deprecated header
  // stays in sha256.cc (static_assert there checks the size).
  alignas(8) unsigned char ctx[112];

  void init() noexcept;
  void update(const uint8_t* p, size_t n) noexcept;
  void final(uint8_t out[32]) noexcept;   // leaves the context finished
  std::string hex() noexcept;              // final() as 64 lowercase hex
};

}  // namespace core
