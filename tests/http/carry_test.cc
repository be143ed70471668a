// Issue 16: the headers [http] headers names travel in the records, any
// case, however the stream is split, bounded and flagged when cut.
#include <gtest/gtest.h>

#include "harness.h"
#include "join/format.h"

namespace {

/* The carried values of a message: "name-index=value" per entry, in order. */
std::vector<std::string> carried(const http::Message& m) {
  std::vector<std::string> v;
  for (size_t at = 0; at + 3 <= m.hdrs_len;) {
    const size_t len = size_t(m.hdrs[at + 1]) | size_t(m.hdrs[at + 2]) << 8;
    v.push_back(std::to_string(m.hdrs[at]) + "=" +
                std::string(reinterpret_cast<const char*>(m.hdrs + at + 3), len));
    at += 3 + len;
  }
  return v;
}

const std::vector<std::string> kList = {"user-agent", "content-type", "x-forwarded-for"};

template <class Check>
void every_split(const std::string& req, const std::string& resp, uint32_t bytes, Check check) {
  for (int side = 0; side < 2; side++) {
    const std::string& d = side ? resp : req;
    for (size_t i = 0; i <= d.size(); i++) {
      SCOPED_TRACE((side ? "response" : "request") + std::string(" split at ") + std::to_string(i));
      Harness h;
      h.fr->set_carry(kList, bytes);
      if (side) {
        h.c2s(req);
        h.s2c(resp.substr(0, i));
        h.s2c(resp.substr(i));
      } else {
        h.c2s(req.substr(0, i));
        h.c2s(req.substr(i));
        h.s2c(resp);
      }
      h.end();
      check(h);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(HttpCarry, ListedHeadersOfRequestsAndResponsesAnyCaseAnySplit) {
  every_split(
      "POST /a HTTP/1.1\r\nHost: x\r\nUSER-Agent:  curl/8.1 \r\nAccept: */*\r\n"
      "X-Forwarded-For: 192.0.2.1\r\nContent-Length: 2\r\nx-forwarded-for: 198.51.100.7\r\n\r\nhi",
      "HTTP/1.1 200 OK\r\ncontent-type: text/html;\r\n charset=utf-8\r\nContent-Length: 0\r\n\r\n",
      512, [](const Harness& h) {
        const auto q = h.kind(true), r = h.kind(false);
        ASSERT_EQ(q.size(), 1u);
        ASSERT_EQ(r.size(), 1u);
        // Trailing blanks are not part of a value; repeats stay separate
        // entries (lib/join joins them); obs-fold continues with a space.
        EXPECT_EQ(carried(q[0]), (std::vector<std::string>{"0=curl/8.1", "2=192.0.2.1", "2=198.51.100.7"}));
        EXPECT_EQ(carried(r[0]), (std::vector<std::string>{"1=text/html; charset=utf-8"}));
        EXPECT_EQ(q[0].body_len, 2u);  // framing is unchanged by carrying
        EXPECT_FALSE(q[0].flags & http::kHeadersTruncated);
        EXPECT_EQ(h.st.headers_truncated.get(), 0u);
      });
}

TEST(HttpCarry, NothingCarriedWithoutAList) {
  Harness h;
  h.c2s("GET / HTTP/1.1\r\nUser-Agent: a\r\n\r\n");
  h.s2c("HTTP/1.1 204 No Content\r\nContent-Type: x\r\n\r\n");
  h.end();
  ASSERT_EQ(h.out.emitted.size(), 2u);
  for (const auto& m : h.out.emitted) EXPECT_EQ(m.hdrs_len, 0u);
}

TEST(HttpCarry, OverTheBoundIsCutFlaggedAndCountedOnce) {
  // 3 + 20 bytes fit in 24; the second header's head does not.
  const std::string ua(40, 'u');
  every_split("GET / HTTP/1.1\r\nUser-Agent: " + ua + "\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
              "HTTP/1.1 204 No Content\r\n\r\n", 24, [&](const Harness& h) {
                const auto q = h.kind(true);
                ASSERT_EQ(q.size(), 1u);
                EXPECT_EQ(carried(q[0]), (std::vector<std::string>{"0=" + ua.substr(0, 21)}));
                EXPECT_LE(q[0].hdrs_len, 24u);
                EXPECT_TRUE(q[0].flags & http::kHeadersTruncated);
                EXPECT_EQ(h.st.headers_truncated.get(), 1u);
                EXPECT_NE(join::message_json(q[0]).find("\"headers_truncated\""), std::string::npos);
              });
}

TEST(HttpCarry, TrailersAreNotHeadersOfTheMessage) {
  Harness h;
  h.fr->set_carry(kList, 512);
  h.c2s("GET / HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nContent-Type: late\r\n\r\n");
  h.end();
  const auto r = h.kind(false);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(carried(r[0]).empty());
  EXPECT_EQ(r[0].body_len, 1u);
}

}  // namespace
