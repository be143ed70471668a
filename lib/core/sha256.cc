#include "core/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP,
// whose contexts allocate; these work on caller-owned memory and run the
// same SHA-NI/AVX code.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

namespace core {

static_assert(sizeof(SHA256_CTX) <= sizeof(Sha256::ctx));
static_assert(alignof(SHA256_CTX) <= alignof(Sha256));

void Sha256::init() noexcept { SHA256_Init(reinterpret_cast<SHA256_CTX*>(ctx)); }

void Sha256::update(const uint8_t* p, size_t n) noexcept {
  SHA256_Update(reinterpret_cast<SHA256_CTX*>(ctx), p, n);
}

void Sha256::final(uint8_t out[32]) noexcept { SHA256_Final(out, reinterpret_cast<SHA256_CTX*>(ctx)); }

std::string Sha256::hex() noexcept {
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

}  // namespace core
