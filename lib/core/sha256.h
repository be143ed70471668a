/* core/sha256: FIPS 180-4 SHA-256, incremental, allocation-free.
 *
 * Used by reassembly to fingerprint each delivered stream (streams.jsonl
 * "sha256") as bytes arrive, so nothing has to be kept. No dependency on
 * OpenSSL: its one-shot EVP objects allocate, and the fast path must not.
 * Thread: any; one context per stream direction, one writer.
 */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace core {

struct Sha256 {
  uint32_t h[8];
  uint64_t len;      // bytes hashed so far
  uint8_t buf[64];
  uint32_t buf_len;

  void init() noexcept;
  void update(const uint8_t* p, size_t n) noexcept;
  void final(uint8_t out[32]) noexcept;   // leaves the context finished
  std::string hex() noexcept;              // final() as 64 lowercase hex
};

/* Whether the SHA extensions (SHA-NI) are in use; chosen once at start from
 * CPUID. sha256_use_accelerated(false) forces the portable code (tests
 * compare the two); returns what is in use afterwards. Not thread-safe:
 * call before workers start. */
bool sha256_accelerated() noexcept;
bool sha256_use_accelerated(bool on) noexcept;

}  // namespace core
