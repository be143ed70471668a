// Records a capture cut at its snap length: their headers decode and the
// cut payload is reported missing, but only where the record may be cut.
#include <gtest/gtest.h>

#include <vector>

#include "pkt/parse.h"

namespace {

/* Ethernet + IPv4 (total length 40 + payload) + TCP, only `keep` bytes of
 * it in the record. */
std::vector<uint8_t> cut_frame(uint16_t payload, size_t keep) {
  std::vector<uint8_t> f(14 + 40 + payload, 0);
  f[12] = 0x08;
  f[14] = 0x45;
  const uint16_t tot = uint16_t(40 + payload);
  f[16] = uint8_t(tot >> 8), f[17] = uint8_t(tot);
  f[23] = 6;
  f[14 + 20 + 12] = 0x50;
  f.resize(keep);
  return f;
}

TEST(Snapped, CutRecordDecodesWithItsMissingBytes) {
  const auto f = cut_frame(1000, 300);
  pkt::Decap d;
  d.snaplen = 300;
  pkt::Parsed p;
  pkt::Malformed why{};
  ASSERT_EQ(pkt::parse(f.data(), uint32_t(f.size()), uint32_t(f.size()), p, &why, d), pkt::Kind::kTcp);
  EXPECT_EQ(p.payload_len, 300u - 54u);
  EXPECT_EQ(p.missing, 1000u - (300u - 54u));
}

TEST(Snapped, FilesWithCutRecordsAcceptAnyLength) {
  const auto f = cut_frame(1000, 200);
  pkt::Decap d;
  d.snaplen = 262144;  // editcap -s keeps the declared snap length
  d.cut_records = true;
  pkt::Parsed p;
  ASSERT_EQ(pkt::parse(f.data(), uint32_t(f.size()), uint32_t(f.size()), p, nullptr, d), pkt::Kind::kTcp);
  EXPECT_EQ(p.missing, 1000u - (200u - 54u));
}

TEST(Snapped, ElsewhereAShortFrameIsMalformed) {
  const auto f = cut_frame(1000, 300);
  pkt::Parsed p;
  pkt::Malformed why{};
  pkt::Decap live;  // no snap length: a NIC delivers whole frames
  EXPECT_EQ(pkt::parse(f.data(), uint32_t(f.size()), uint32_t(f.size()), p, &why, live),
            pkt::Kind::kMalformed);
  EXPECT_EQ(why, pkt::Malformed::bad_ipv4_total_len);
  pkt::Decap other;
  other.snaplen = 65535;  // a record shorter than the snap length was not cut
  EXPECT_EQ(pkt::parse(f.data(), uint32_t(f.size()), uint32_t(f.size()), p, &why, other),
            pkt::Kind::kMalformed);
}

}  // namespace
