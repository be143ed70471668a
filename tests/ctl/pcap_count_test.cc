// The record count that ends offline runs, against the corpus oracle's
// packet counts.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ctl/pcap_count.h"

namespace {

const std::string kCorpus = LOOM_CORPUS_DIR;

// The oracle's top-level "packets" field.
long oracle_packets(const std::string& oracle) {
  std::ifstream in(oracle);
  std::stringstream ss;
  ss << in.rdbuf();
  std::smatch m;
  const std::string s = ss.str();
  if (!std::regex_search(s, m, std::regex("\"packets\":\\s*([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST(PcapCount, MatchesOracleOnEveryCorpusCapture) {
  int checked = 0;
  for (const char* name : {"captures/clean-v4", "captures/clean-v6", "captures/dup-v4",
                           "captures/loss-post-v4", "captures/loss-pre-v4",
                           "captures/midstream-v4", "captures/mix-v4", "captures/reorder-v4",
                           "captures/vlan-mix-v4", "synthetic/synth-sample"}) {
    const std::string pcap = kCorpus + "/" + name + ".pcap";
    if (FILE* f = std::fopen(pcap.c_str(), "rb")) std::fclose(f);
    else continue;
    SCOPED_TRACE(pcap);
    const auto n = ctl::count_pcap_records(pcap);
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(long(*n), oracle_packets(pcap + ".oracle.json"));
    checked++;
  }
  if (checked == 0) GTEST_SKIP() << "corpus not found at " << kCorpus;
}

TEST(PcapCount, TruncatedLastRecordIsNotCounted) {
  const std::string path = ::testing::TempDir() + "/trunc.pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const unsigned char gh[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0,
                                0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
  std::fwrite(gh, 1, sizeof gh, f);
  unsigned char rh[16] = {0};
  rh[8] = 60;  // caplen 60
  rh[12] = 60;
  unsigned char data[60] = {0};
  std::fwrite(rh, 1, 16, f);
  std::fwrite(data, 1, 60, f);
  std::fwrite(rh, 1, 16, f);
  std::fwrite(data, 1, 30, f);  // cut short
  std::fclose(f);
  ctl::PcapDamage d;
  auto n = ctl::count_pcap_records(path, nullptr, &d);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(d.found);  // a plausible length past the end: cut, not damaged
  std::remove(path.c_str());
}

TEST(PcapCount, AStoppedCountIsUnknownNotShort) {
  // A capture bigger than one read, so that the count has more to read
  // after the flag turns.
  const std::string path = ::testing::TempDir() + "/big.pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  const uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1};
  std::fwrite(hdr, 1, 24, f);
  std::vector<char> rec(16 + 1000, 0);
  const uint32_t len = 1000;
  std::memcpy(rec.data() + 8, &len, 4);
  std::memcpy(rec.data() + 12, &len, 4);
  for (int i = 0; i < 3000; i++) std::fwrite(rec.data(), 1, rec.size(), f);
  std::fclose(f);
  std::atomic<bool> stop{false};
  auto n = ctl::count_pcap_records(path, &stop);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 3000u);
  stop = true;
  EXPECT_FALSE(ctl::count_pcap_records(path, &stop).has_value());
  std::remove(path.c_str());
}

TEST(PcapCount, NotAPcapIsUnknown) {
  const std::string path = ::testing::TempDir() + "/not.pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fputs("\x0a\x0d\x0d\x0a this is pcapng-ish, not libpcap", f);
  std::fclose(f);
  EXPECT_FALSE(ctl::count_pcap_records(path).has_value());
  EXPECT_FALSE(ctl::count_pcap_records("/nonexistent.pcap").has_value());
  std::remove(path.c_str());
}

}  // namespace

namespace {

std::string write_file(const std::string& name, const std::vector<unsigned char>& bytes) {
  const std::string path = ::testing::TempDir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}

std::vector<unsigned char> pcap_header(uint32_t magic, uint32_t link, bool big_endian) {
  std::vector<unsigned char> h(24, 0);
  auto put = [&](size_t off, uint32_t v) {
    for (int i = 0; i < 4; i++) h[off + size_t(i)] = uint8_t(big_endian ? v >> (24 - 8 * i) : v >> (8 * i));
  };
  put(0, magic);
  h[big_endian ? 5 : 4] = 2;
  h[big_endian ? 7 : 6] = 4;
  put(16, 65535);
  put(20, link);
  return h;
}

// pcapng: SHB, then one IDB per link type (little-endian).
std::vector<unsigned char> pcapng(std::initializer_list<uint16_t> links) {
  std::vector<unsigned char> b;
  auto u32 = [&](uint32_t v) {
    for (int i = 0; i < 4; i++) b.push_back(uint8_t(v >> (8 * i)));
  };
  u32(0x0A0D0D0A); u32(28); u32(0x1A2B3C4D); u32(1); u32(0xFFFFFFFF); u32(0xFFFFFFFF); u32(28);
  for (uint16_t lt : links) {
    u32(1); u32(20); u32(lt); u32(65535); u32(20);
  }
  return b;
}

TEST(CaptureLink, ClassicBothOrdersBothResolutions) {
  for (uint32_t magic : {0xa1b2c3d4u, 0xa1b23c4du})
    for (bool be : {false, true}) {
      EXPECT_EQ(ctl::capture_link_type(write_file("l.pcap", pcap_header(magic, 113, be))), 113u);
      EXPECT_EQ(ctl::capture_link_type(write_file("l.pcap", pcap_header(magic, 1, be))), 1u);
    }
  // The FCS bits above the link type are not part of it.
  EXPECT_EQ(ctl::capture_link_type(write_file("l.pcap", pcap_header(0xa1b2c3d4u, 0x14000000u | 101, false))), 101u);
}

TEST(CaptureLink, UnknownLinkTypeNamesItsNumber) {
  try {
    ctl::capture_link_type(write_file("u.pcap", pcap_header(0xa1b2c3d4u, 147, false)));
    FAIL() << "accepted link type 147";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("link type 147"), std::string::npos) << e.what();
  }
}

TEST(CaptureLink, PcapngInterfaces) {
  EXPECT_EQ(ctl::capture_link_type(write_file("a.pcapng", pcapng({276}))), 276u);
  EXPECT_EQ(ctl::capture_link_type(write_file("b.pcapng", pcapng({1, 1}))), 1u);
  EXPECT_THROW(ctl::capture_link_type(write_file("c.pcapng", pcapng({1, 113}))), std::runtime_error);
  EXPECT_THROW(ctl::capture_link_type(write_file("d.pcapng", pcapng({147}))), std::runtime_error);
  // Neither format (or missing): Ethernet, and net_pcap says what is wrong.
  EXPECT_EQ(ctl::capture_link_type(write_file("e.bin", {1, 2, 3})), 1u);
  EXPECT_EQ(ctl::capture_link_type("/nonexistent.pcap"), 1u);
}

}  // namespace

TEST(PcapCount, ADamagedHeaderEndsTheCountAndSaysWhere) {
  // Three good records, then a header claiming more than libpcap accepts
  // (pcap_next_ex fails there and net_pcap reads on from the bytes after
  // it): the count is the three, and the damage names record 4's offset.
  const std::string path = ::testing::TempDir() + "/damaged.pcap";
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  const uint32_t hdr[6] = {0xa1b2c3d4u, 0x00040002u, 0, 0, 65535, 1};
  std::fwrite(hdr, 1, 24, f);
  std::vector<char> rec(16 + 60, 0);
  uint32_t len = 60;
  std::memcpy(rec.data() + 8, &len, 4);
  std::memcpy(rec.data() + 12, &len, 4);
  for (int i = 0; i < 3; i++) std::fwrite(rec.data(), 1, rec.size(), f);
  len = ctl::kPcapMaxCaplen + 1;
  std::memcpy(rec.data() + 8, &len, 4);
  for (int i = 0; i < 5; i++) std::fwrite(rec.data(), 1, rec.size(), f);
  std::fclose(f);
  ctl::PcapDamage d;
  auto n = ctl::count_pcap_records(path, nullptr, &d);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 3u);
  EXPECT_TRUE(d.found);
  EXPECT_EQ(d.record, 4u);
  EXPECT_EQ(d.offset, 24u + 3 * 76);
  EXPECT_EQ(d.caplen, ctl::kPcapMaxCaplen + 1);
  EXPECT_NE(d.str(path).find("record 4 (file offset 252)"), std::string::npos) << d.str(path);
  std::remove(path.c_str());
}
