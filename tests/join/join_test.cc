// Issue 16, "records that join": Community ID v1 against the
// specification's published baseline (corelight/community-id-spec,
// baseline/baseline_deflt.json and baseline_seed1.json: the TCP, UDP and
// SCTP rows, IPv4 and IPv6), and the fields lib/join appends.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>
#include <string>

#include "join/join.h"
#include "join/format.h"

namespace {

struct Vector {
  uint16_t seed;
  uint8_t proto;
  const char *saddr, *daddr;
  uint16_t sport, dport;
  const char* id;
};

const Vector kVectors[] = {
    {0, 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {0, 6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:LQU9qZlK+B5F3KDmev6m5PMibrg="},
    {0, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    {0, 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4="},
    {0, 17, "192.168.1.52", "8.8.8.8", 54585, 53, "1:d/FP5EW3wiY1vCndhwleRRKHowQ="},
    {0, 132, "192.168.170.8", "192.168.170.56", 7, 7, "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs="},
    {1, 6, "128.232.110.120", "66.35.250.204", 34855, 80, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {1, 6, "66.35.250.204", "128.232.110.120", 80, 34855, "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {1, 6, "2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25,
     "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {1, 6, "2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943,
     "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {1, 17, "8.8.8.8", "192.168.1.52", 53, 54585, "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {1, 132, "192.168.170.56", "192.168.170.8", 7, 7, "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
};

int addr(const char* s, uint8_t out[16]) {
  std::memset(out, 0, 16);
  if (inet_pton(AF_INET, s, out) == 1) return 4;
  EXPECT_EQ(inet_pton(AF_INET6, s, out), 1) << s;
  return 6;
}

TEST(CommunityId, SpecificationBaseline) {
  for (const Vector& v : kVectors) {
    uint8_t a[16], b[16];
    const int ver = addr(v.saddr, a);
    ASSERT_EQ(addr(v.daddr, b), ver);
    EXPECT_EQ(join::community_id(v.seed, v.proto, ver, a, b, v.sport, v.dport), v.id)
        << v.saddr << " " << v.sport << " -> " << v.daddr << " " << v.dport << " seed " << v.seed;
  }
}

/* A flow key as the table builds it (either endpoint may be side a). */
flow::Key key(const char* x, uint16_t px, const char* y, uint16_t py) {
  flow::Key k{};
  k.ipver = uint32_t(addr(x, k.a));
  addr(y, k.b);
  k.pa = px;
  k.pb = py;
  return k;
}

TEST(CommunityId, FromFlowKeysOfTcpOverIpv4AndIpv6) {
  for (const Vector& v : kVectors) {
    if (v.proto != 6) continue;
    EXPECT_EQ(join::community_id(key(v.saddr, v.sport, v.daddr, v.dport), v.seed), v.id);
    EXPECT_EQ(join::community_id(key(v.daddr, v.dport, v.saddr, v.sport), v.seed), v.id);
  }
}

TEST(Join, Rfc3339HasNanosecondsInUtc) {
  std::string o;
  join::rfc3339(o, 1700000000123456789ull);
  EXPECT_EQ(o, "2023-11-14T22:13:20.123456789Z");
  o.clear();
  join::rfc3339(o, 951782400000000007ull);  // a leap day
  EXPECT_EQ(o, "2000-02-29T00:00:00.000000007Z");
}

TEST(Join, ConnKeyIsSixteenHexDigits) {
  EXPECT_EQ(join::conn_key(0x0123456789abcdefull), "0123456789abcdef");
  EXPECT_EQ(join::conn_key(0), "0000000000000000");
}

TEST(Join, MessageLineKeepsTheRecordAndAddsTheJoinFields) {
  http::Message m{};
  m.key = key("128.232.110.120", 34855, "66.35.250.204", 80);
  m.request = 1;
  std::strcpy(m.method, "GET");
  m.ts_first_ns = 1700000000123456789ull;
  m.ts_last_ns = 1700000000223456789ull;
  m.latency_ns = -1;
  m.conn_id = 0xfeedfacecafebeefull;
  // Entries as the framer lays them: index, length (LE), value; a repeat.
  auto add = [&](uint8_t idx, const std::string& v) {
    m.hdrs[m.hdrs_len] = idx;
    m.hdrs[m.hdrs_len + 1] = uint8_t(v.size());
    m.hdrs[m.hdrs_len + 2] = 0;
    std::memcpy(m.hdrs + m.hdrs_len + 3, v.data(), v.size());
    m.hdrs_len = uint16_t(m.hdrs_len + 3 + v.size());
  };
  add(2, "192.0.2.1");
  add(0, "curl/8 \"q\"");
  add(2, "198.51.100.7");
  join::Meta meta{"edge-1", 0, {"user-agent", "content-type", "x-forwarded-for"}};
  const std::string base = join::message_json(m);
  const std::string line = join::message_line(m, meta);
  ASSERT_EQ(line.compare(0, base.size() - 2, base, 0, base.size() - 2), 0) << line;
  EXPECT_EQ(line.substr(base.size() - 2),
            R"(,"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","sensor":"edge-1","schema":1,)"
            R"("conn_id":"feedfacecafebeef","ts_first":"2023-11-14T22:13:20.123456789Z",)"
            R"("ts_last":"2023-11-14T22:13:20.223456789Z",)"
            R"("headers":{"user-agent":"curl/8 \"q\"","x-forwarded-for":"192.0.2.1, 198.51.100.7"}})"
            "\n");
  meta.headers.clear();  // no list: no "headers" at all
  EXPECT_EQ(join::message_line(m, meta).find("\"headers\""), std::string::npos);
}

TEST(Join, StreamLineAddsTheSameConnectionFields) {
  inspect::StreamRecord r{};
  r.key = key("2607:f8b0:400c:c03::1a", 25, "2001:470:e5bf:dead:4957:2174:e82c:4887", 63943);
  r.first_ts_ns = 0;
  r.last_ts_ns = 1000000000ull;
  r.conn_id = 1;
  const std::string line = join::stream_line(r, {"s", 1, {}});
  EXPECT_NE(line.find(R"(,"community_id":"1:eJYTW6AOzFLlSUoESovMjnu7rMw=","sensor":"s","schema":1,)"
                      R"("conn_id":"0000000000000001","first_ts":"1970-01-01T00:00:00.000000000Z",)"
                      R"("last_ts":"1970-01-01T00:00:01.000000000Z"})"
                      "\n"),
            std::string::npos)
      << line;
}

TEST(Join, ConnectionIdIsTheSameFromEitherSideAndDiffersPerConnection) {
  const flow::Key k = key("10.0.0.1", 1000, "10.0.0.2", 80);
  const uint64_t a = flow::connection_id(k, 0, 5), b = flow::connection_id(k, 1, 5),
                 c = flow::connection_id(k, 0, 6);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(uint32_t(a), [&] {  // the low half is the hash message ids carry
    uint32_t h = flow::stable_hash(k, 0);
    h = rte_hash_crc_4byte(0, h);
    return rte_hash_crc_8byte(5, h);
  }());
}

}  // namespace
