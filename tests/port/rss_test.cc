// RSS: the Toeplitz implementation against Microsoft's published
// verification vectors, and the symmetry check that start-up relies on.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include "port/rss.h"

namespace {

using port::toeplitz;
using port::tuple_bytes;

struct Vector {
  const char* src;
  uint16_t sport;
  const char* dst;
  uint16_t dport;
  uint32_t with_ports;
  uint32_t ip_only;
};

// "Verifying the RSS Hash Calculation", Microsoft NDIS documentation.
const Vector kV4[] = {
    {"66.9.149.187", 2794, "161.142.100.80", 1766, 0x51ccc178, 0x323e8fc2},
    {"199.92.111.2", 14230, "65.69.140.83", 4739, 0xc626b0ea, 0xd718262a},
    {"24.19.198.95", 12898, "12.22.207.184", 38024, 0x5c2b394a, 0xd2d0a5de},
    {"38.27.205.30", 48228, "209.142.163.6", 2217, 0xafc7327f, 0x82989176},
    {"153.39.163.191", 44251, "202.188.127.2", 1303, 0x10e828a2, 0x5d1809c5},
};
const Vector kV6[] = {
    {"3ffe:2501:200:1fff::7", 2794, "3ffe:2501:200:3::1", 1766, 0x40207d3d, 0x2cc18cd5},
    {"3ffe:501:8::260:97ff:fe40:efab", 14230, "ff02::1", 4739, 0xdde51bbf, 0x0f0c461c},
    {"3ffe:1900:4545:3:200:f8ff:fe21:67cf", 44251, "fe80::200:f8ff:fe21:67cf", 38024,
     0x02d1feef, 0x4b61e985},
};

TEST(Rss, ToeplitzMatchesMicrosoftVectorsV4) {
  const auto key = port::microsoft_key();
  for (const Vector& v : kV4) {
    uint8_t s[4], d[4];
    ASSERT_EQ(inet_pton(AF_INET, v.src, s), 1);
    ASSERT_EQ(inet_pton(AF_INET, v.dst, d), 1);
    auto t = tuple_bytes(s, d, v.sport, v.dport, false, true);
    EXPECT_EQ(toeplitz(key.data(), key.size(), t.data(), t.size()), v.with_ports) << v.src;
    t = tuple_bytes(s, d, v.sport, v.dport, false, false);
    EXPECT_EQ(toeplitz(key.data(), key.size(), t.data(), t.size()), v.ip_only) << v.src;
  }
}

TEST(Rss, ToeplitzMatchesMicrosoftVectorsV6) {
  const auto key = port::microsoft_key();
  for (const Vector& v : kV6) {
    uint8_t s[16], d[16];
    ASSERT_EQ(inet_pton(AF_INET6, v.src, s), 1);
    ASSERT_EQ(inet_pton(AF_INET6, v.dst, d), 1);
    auto t = tuple_bytes(s, d, v.sport, v.dport, true, true);
    EXPECT_EQ(toeplitz(key.data(), key.size(), t.data(), t.size()), v.with_ports) << v.src;
    t = tuple_bytes(s, d, v.sport, v.dport, true, false);
    EXPECT_EQ(toeplitz(key.data(), key.size(), t.data(), t.size()), v.ip_only) << v.src;
  }
}

TEST(Rss, SymmetricKeyKeepsBothDirectionsTogether) {
  for (size_t len : {40u, 52u}) {
    const auto key = port::symmetric_key(len);
    for (uint16_t nq : {2, 3, 4, 16}) {
      auto r = port::check_symmetry(key, port::default_reta(512, nq), 2000);
      EXPECT_TRUE(r.symmetric) << r.summary();
      EXPECT_EQ(r.asymmetric, 0u);
      EXPECT_EQ(r.tuples, 2000u);
      // Balance: every queue gets a fair share of 2000 random tuples.
      for (uint32_t q : r.per_queue) EXPECT_GT(q, 2000u / nq / 2) << r.summary();
    }
  }
}

TEST(Rss, MicrosoftKeyIsNotSymmetric) {
  auto r = port::check_symmetry(port::microsoft_key(), port::default_reta(128, 4), 1000);
  EXPECT_FALSE(r.symmetric);
  // Random placement: about 3 in 4 pairs split over 4 queues.
  EXPECT_GT(r.asymmetric, 500u);
  EXPECT_NE(r.summary().find("NOT symmetric"), std::string::npos);
}

TEST(Rss, OneQueueIsTriviallyTogetherButShortKeyIsRejected) {
  auto r = port::check_symmetry(port::microsoft_key(), port::default_reta(128, 1), 100);
  EXPECT_TRUE(r.symmetric);
  // 36-byte IPv6 tuples need a 40-byte key; a shorter one cannot be checked.
  auto s = port::check_symmetry(port::symmetric_key(16), port::default_reta(128, 2), 100);
  EXPECT_FALSE(s.symmetric);
}

TEST(Rss, DefaultRetaIsRoundRobin) {
  auto r = port::default_reta(8, 3);
  EXPECT_EQ(r, (std::vector<uint16_t>{0, 1, 2, 0, 1, 2, 0, 1}));
}

TEST(Rss, HexKeyParsing) {
  EXPECT_EQ(port::parse_hex_key("6d:5A:00"), (std::vector<uint8_t>{0x6d, 0x5a, 0x00}));
  EXPECT_EQ(port::parse_hex_key("6d5a"), (std::vector<uint8_t>{0x6d, 0x5a}));
  EXPECT_THROW(port::parse_hex_key("6d5"), std::invalid_argument);
  EXPECT_THROW(port::parse_hex_key("6g"), std::invalid_argument);
}

}  // namespace
