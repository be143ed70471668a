// SHA-256 (libcrypto behind core::Sha256): FIPS 180-4 test vectors, and
// every split of random input giving the digest of the whole.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/sha256.h"

namespace {

std::string hex_of(const std::string& data, const std::vector<size_t>& cuts = {}) {
  core::Sha256 s;
  s.init();
  size_t pos = 0;
  for (size_t c : cuts) {
    s.update(reinterpret_cast<const uint8_t*>(data.data()) + pos, c - pos);
    pos = c;
  }
  s.update(reinterpret_cast<const uint8_t*>(data.data()) + pos, data.size() - pos);
  return s.hex();
}

TEST(Sha256, Fips180Vectors) {
  EXPECT_EQ(hex_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(hex_of(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, SplitsDoNotMatter) {
  std::mt19937 rng(7);
  std::string data(5000, '\0');
  for (auto& c : data) c = char(rng());
  const std::string whole = hex_of(data);
  for (int i = 0; i < 200; i++) {
    std::vector<size_t> cuts;
    size_t at = 0;
    while ((at += rng() % 200) < data.size()) cuts.push_back(at);
    EXPECT_EQ(hex_of(data, cuts), whole);
  }
}

}  // namespace
