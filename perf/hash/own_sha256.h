/* The reference SHA-256 hash_bench compares libcrypto with: Loom's former
 * own code (own_sha256.cc). Benchmark only. */
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ref {

struct OwnSha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t buf[64];
  uint32_t buf_len;

  void init() noexcept;
  void update(const uint8_t* p, size_t n) noexcept;
  void final(uint8_t out[32]) noexcept;
  std::string hex() noexcept;
};

bool sha256_accelerated() noexcept;
bool sha256_use_accelerated(bool on) noexcept;

}  // namespace ref
