// The JSON Lines records, byte for byte: downstream tools and the corpus
// checks read these lines, so the formatter (digits appended by hand since
// the performance work) must write exactly what the documented format says.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/json.h"
#include "http/http.h"
#include "inspect/stage.h"
#include "join/format.h"

namespace {

flow::Key v4_key() {
  flow::Key k{};
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {192, 168, 200, 255};
  std::memcpy(k.a, a, 4);
  std::memcpy(k.b, b, 4);
  k.pa = 40000;
  k.pb = 80;
  k.ipver = 4;
  return k;
}

TEST(Json, StringEscapesQuotesBackslashesAndEveryNonAsciiByte) {
  std::string o;
  const char s[] = "a\"b\\c\x01\x7f\xc3\xa9z";
  core::json::str(o, s, sizeof s - 1);
  EXPECT_EQ(o, R"("a\"b\\c\u0001\u007f\u00c3\u00a9z")");
  o.clear();
  core::json::str(o, "", 0);
  EXPECT_EQ(o, "\"\"");
}

TEST(Json, Numbers) {
  std::string o;
  core::json::num(o, uint64_t(18446744073709551615ull));
  o += ' ';
  core::json::num(o, int64_t(-42));
  o += ' ';
  core::json::num(o, uint64_t(0));
  EXPECT_EQ(o, "18446744073709551615 -42 0");
}

TEST(Json, Endpoints) {
  flow::Key k = v4_key();
  char e[64];
  EXPECT_EQ(flow::endpoint_str(k, 0, e, sizeof e), 14u);
  EXPECT_STREQ(e, "10.0.0.1:40000");
  flow::endpoint_str(k, 1, e, sizeof e);
  EXPECT_STREQ(e, "192.168.200.255:80");
  char small[6];
  EXPECT_EQ(flow::endpoint_str(k, 0, small, sizeof small), 5u);  // cut, still terminated
  EXPECT_STREQ(small, "10.0.");
  flow::Key v6{};
  v6.ipver = 6;
  v6.a[0] = 0x20;
  v6.a[1] = 0x01;
  v6.a[2] = 0x0d;
  v6.a[3] = 0xb8;
  v6.a[15] = 1;
  v6.pa = 443;
  flow::endpoint_str(v6, 0, e, sizeof e);
  EXPECT_STREQ(e, "[2001:db8::1]:443");
}

TEST(Json, RequestRecord) {
  http::Message m{};
  m.key = v4_key();
  m.client_side = 0;
  m.request = 1;
  m.generation = 3;
  m.index = 7;
  for (int i = 0; i < 12; i++) m.id[i] = uint8_t(i * 17);
  std::strcpy(m.method, "POST");
  std::strcpy(m.uri, "/a?q=\"x\"");
  m.uri_len = uint16_t(std::strlen(m.uri));
  std::strcpy(m.host, "example.com");
  m.host_len = 11;
  m.body_len = 123;
  m.chunked = 1;
  m.ts_first_ns = 1700000000123456789ull;
  m.ts_last_ns = 1700000000123456999ull;
  m.latency_ns = -1;
  m.key.vlan = 100;
  m.flags = http::kAfterGap | http::kAmbiguous;
  std::strcpy(m.rule, "api");
  m.verdict = uint8_t(http::Verdict::kTag);
  std::strcpy(m.tag, "t1");
  EXPECT_EQ(join::message_json(m),
            R"({"id":"00112233445566778899aabb","kind":"request","client":"10.0.0.1:40000",)"
            R"("server":"192.168.200.255:80","index":7,"method":"POST","uri":"/a?q=\"x\"",)"
            R"("host":"example.com","body_len":123,"chunked":true,"complete":true,)"
            R"("ts_first_ns":1700000000123456789,"ts_last_ns":1700000000123456999,)"
            R"("rule":"api","action":"tag","tag":"t1","after_gap":true,"paired":true,)"
            R"("connection":3,"vlan":100,"flags":["after_gap","ambiguous_framing"]})"
            "\n");
}

TEST(Json, ResponseRecord) {
  http::Message m{};
  m.key = v4_key();
  m.client_side = 1;  // the client is the key's b side
  m.request = 0;
  m.status = 100;
  m.flags = http::kInterim | http::kIncomplete | http::kUnpaired;
  m.latency_ns = 5000;
  EXPECT_EQ(join::message_json(m),
            R"({"id":"000000000000000000000000","kind":"response","client":"192.168.200.255:80",)"
            R"("server":"10.0.0.1:40000","index":0,"status":100,"interim":true,"body_len":0,)"
            R"("chunked":false,"complete":false,"ts_first_ns":0,"ts_last_ns":0,"latency_ns":5000,)"
            R"("after_gap":false,"paired":false,"connection":0,"vlan":0,)"
            R"("flags":["incomplete","interim","unpaired"]})"
            "\n");
}

TEST(Json, StreamRecord) {
  inspect::StreamRecord r{};
  r.key = v4_key();
  r.src_side = 1;
  r.c2s = 0;
  r.client_inferred = 1;
  r.end = uint8_t(flow::End::kFin);
  r.gaps = 2;
  r.gap_bytes = 1460;
  r.capture_loss = 730;
  r.generation = 9;
  r.bytes = 99999;
  r.first_ts_ns = 1;
  r.last_ts_ns = 2;
  r.packets = 70;
  for (int i = 0; i < 32; i++) r.sha256[i] = uint8_t(255 - i);
  EXPECT_EQ(join::stream_json(r),
            R"({"src":"192.168.200.255:80","dst":"10.0.0.1:40000","dir":"s2c","bytes":99999,)"
            R"("sha256":"fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0efeeedecebeae9e8e7e6e5e4e3e2e1e0",)"
            R"("gaps":2,"gap_bytes":1460,"capture_loss":730,"first_ts_ns":1,"last_ts_ns":2,"packets":70,"end":"fin",)"
            R"("client_inferred":true,"connection":9,"vlan":0})"
            "\n");
}

}  // namespace
