// Issue 14 §3, "HTTP framed as the server read it": what real servers
// accept is framed and flagged, hostile framing resynchronises, pairing
// stays exact at any depth, tunnels carry inner messages.
#include <gtest/gtest.h>

#include "harness.h"
#include "join/format.h"

namespace {

std::string uri(const http::Message& m) { return std::string(m.uri, m.uri_len); }
std::string host(const http::Message& m) { return std::string(m.host, m.host_len); }
bool same_id(const http::Message& a, const http::Message& b) { return std::memcmp(a.id, b.id, 12) == 0; }

/* Feeds both directions whole, then split at every byte of each. */
template <class Check>
void every_split(const std::string& req, const std::string& resp, Check check) {
  for (size_t i = 0; i <= req.size(); i++) {
    SCOPED_TRACE("request split at " + std::to_string(i));
    Harness h;
    h.c2s(req.substr(0, i));
    h.c2s(req.substr(i));
    h.s2c(resp);
    h.end();
    check(h);
    if (::testing::Test::HasFailure()) return;
  }
  for (size_t i = 0; i <= resp.size(); i++) {
    SCOPED_TRACE("response split at " + std::to_string(i));
    Harness h;
    h.c2s(req);
    h.s2c(resp.substr(0, i));
    h.s2c(resp.substr(i));
    h.end();
    check(h);
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(HttpLenient, BareLfLinesAreAcceptedAndFlagged) {
  every_split("GET /a HTTP/1.1\nHost: x.test\n\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n",
              "HTTP/1.1 200 OK\nContent-Length: 2\n\nokHTTP/1.1 204 No Content\r\n\r\n",
              [](const Harness& h) {
                const auto q = h.kind(true), r = h.kind(false);
                ASSERT_EQ(q.size(), 2u);
                ASSERT_EQ(r.size(), 2u);
                EXPECT_EQ(host(q[0]), "x.test");
                EXPECT_TRUE(q[0].flags & http::kBareLf);
                EXPECT_FALSE(q[1].flags & http::kBareLf);
                EXPECT_EQ(r[0].body_len, 2u);
                EXPECT_TRUE(r[0].flags & http::kBareLf);
                EXPECT_TRUE(same_id(q[0], r[0]) && same_id(q[1], r[1]));
                EXPECT_EQ(h.st.parse_errors.get(), 0u);
              });
}

TEST(HttpLenient, AnyTokenMethodIsARequest) {
  every_split("QUERY /q HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
              "PROPFIND /d HTTP/1.1\r\nHost: x\r\n\r\nCCM_POST /c HTTP/1.1\r\nContent-Length: 1\r\n\r\nz",
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 207 Multi\r\nContent-Length: 0\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
              [](const Harness& h) {
                const auto q = h.kind(true), r = h.kind(false);
                ASSERT_EQ(q.size(), 3u);
                EXPECT_STREQ(q[0].method, "QUERY");
                EXPECT_EQ(q[0].body_len, 3u);
                EXPECT_STREQ(q[1].method, "PROPFIND");
                EXPECT_STREQ(q[2].method, "CCM_POST");
                ASSERT_EQ(r.size(), 3u);
                for (int i = 0; i < 3; i++) {
                  EXPECT_TRUE(same_id(q[i], r[i])) << i;
                  EXPECT_FALSE(r[i].flags & http::kUnpaired) << i;
                }
                EXPECT_EQ(h.st.extension_methods.get(), 2u);  // PROPFIND is WebDAV's
              });
}

TEST(HttpLenient, LowerCaseAndOddVersionsAreFlagged) {
  every_split("GET / http/1.1\r\nHost: a\r\n\r\nGET HTTP/1.1\r\nHost: b\r\n\r\nGET / HTTP/1.\r\nHost: c\r\n\r\n",
              "http/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
              [](const Harness& h) {
                const auto q = h.kind(true), r = h.kind(false);
                ASSERT_EQ(q.size(), 3u);
                for (const auto& m : q) EXPECT_TRUE(m.flags & http::kOddVersion) << host(m);
                EXPECT_EQ(uri(q[1]), "");
                EXPECT_EQ(host(q[1]), "b");
                EXPECT_EQ(uri(q[2]), "/");
                ASSERT_EQ(r.size(), 3u);
                EXPECT_EQ(r[0].status, 200);
                EXPECT_EQ(r[0].body_len, 1u);
                EXPECT_TRUE(r[0].flags & http::kOddVersion);
                EXPECT_TRUE(same_id(q[2], r[2]));
                EXPECT_EQ(h.st.no_target.get(), 1u);
              });
}

TEST(HttpLenient, Http09RequestAndRawResponse) {
  every_split("GET /old\r\n", "<html>hello</html>", [](const Harness& h) {
    const auto q = h.kind(true), r = h.kind(false);
    ASSERT_EQ(q.size(), 1u);
    EXPECT_EQ(uri(q[0]), "/old");
    EXPECT_TRUE(q[0].flags & http::kHttp09);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_TRUE(r[0].flags & http::kHttp09);
    EXPECT_EQ(r[0].body_len, 18u);
    EXPECT_FALSE(r[0].flags & http::kIncomplete);
    EXPECT_TRUE(same_id(q[0], r[0]));
  });
}

TEST(HttpLenient, ObsFoldContinuesAHeader) {
  every_split("GET /f HTTP/1.1\r\nX-Long: a\r\n  b\r\nHost: h\r\n\r\n",
              "HTTP/1.1 200 OK\r\nContent-Length:\r\n 3\r\n\r\nabc", [](const Harness& h) {
                const auto q = h.kind(true), r = h.kind(false);
                ASSERT_EQ(q.size(), 1u);
                EXPECT_EQ(host(q[0]), "h");
                ASSERT_EQ(r.size(), 1u);
                EXPECT_EQ(r[0].body_len, 3u);
                EXPECT_GE(h.st.obs_fold.get(), 2u);
              });
}

TEST(HttpLenient, JunkBeforeAStartLineIsSkippedAndCounted) {
  Harness h;
  h.c2s(std::string("\x00\x01\x02garbage\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n", 40));
  h.s2c("\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");  // empty lines: RFC 9112 2.2
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0].flags & http::kJunkSkipped);
  EXPECT_EQ(h.st.junk_skipped.get(), 12u);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].flags & http::kJunkSkipped);
  EXPECT_EQ(h.st.empty_lines.get(), 2u);
  EXPECT_TRUE(same_id(q[0], r[0]));
}

TEST(HttpLenient, ACutMessageKeepsEveryFieldSeen) {
  Harness h;
  h.c2s("POST /x HTTP/1.1\r\nHost: h.test\r\nContent-Length: 10\r\n\r\nab");
  h.s2c("HTTP/1.1 500 Oops\r\nX-Partial: ");
  h.fr->gap(*h.conn, h.f, 0, 5);
  h.fr->gap(*h.conn, h.f, 1, 5);
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_STREQ(q[0].method, "POST");
  EXPECT_EQ(uri(q[0]), "/x");
  EXPECT_EQ(host(q[0]), "h.test");
  EXPECT_TRUE(q[0].flags & http::kIncomplete);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 500);
  EXPECT_TRUE(r[0].flags & http::kIncomplete);
  // Cut in the start line itself, after the target.
  Harness g;
  g.c2s("DELETE /y");
  g.end();
  ASSERT_EQ(g.kind(true).size(), 1u);
  EXPECT_STREQ(g.kind(true)[0].method, "DELETE");
  EXPECT_EQ(uri(g.kind(true)[0]), "/y");
}

TEST(HttpLenient, DataAfterCloseIsFramedAndFlagged) {
  Harness h;
  h.c2s("GET /1 HTTP/1.0\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nb"
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc");
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 3u);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_FALSE(q[0].flags & http::kAfterClose);
  EXPECT_TRUE(q[1].flags & http::kAfterClose);
  EXPECT_FALSE(r[1].flags & http::kAfterClose);
  EXPECT_TRUE(r[2].flags & http::kAfterClose);
  for (int i = 0; i < 3; i++) EXPECT_TRUE(same_id(q[i], r[i])) << i;
  EXPECT_GE(h.st.after_close.get(), 3u);
  EXPECT_NE(join::message_json(r[2]).find("\"after_close\""), std::string::npos);
}

TEST(HttpLenient, ImplausibleLengthsResyncAndShowTheSmuggledRequest) {
  for (const char* framing : {"Content-Length: 18446744073709551615\r\n\r\n",
                              "Content-Length: 99999999999999999999999\r\n\r\n",
                              "Transfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
                              "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n\r\n"}) {
    SCOPED_TRACE(framing);
    Harness h;
    h.c2s(std::string("POST /a HTTP/1.1\r\nHost: x\r\n") + framing +
          "GET /smuggled HTTP/1.1\r\nHost: evil\r\n\r\n");
    h.end();
    const auto q = h.kind(true);
    ASSERT_EQ(q.size(), 2u);
    EXPECT_TRUE(q[0].flags & http::kAmbiguous);
    EXPECT_EQ(uri(q[1]), "/smuggled");
    EXPECT_EQ(host(q[1]), "evil");
    EXPECT_EQ(h.st.ambiguous.get(), 1u);
    EXPECT_EQ(h.st.implausible_length.get() + h.st.unknown_coding.get(), 1u);
  }
}

TEST(HttpLenient, UnknownCodingInAResponseRunsToTheClose) {
  Harness h;
  h.c2s("GET / HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz");
  h.end();
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].body_len, 3u);
  EXPECT_FALSE(h.kind(false)[0].flags & (http::kAmbiguous | http::kIncomplete));
}

TEST(HttpPairing, DeepPipelinesPairExactly) {
  std::string req, resp;
  for (int i = 0; i < 100; i++) {
    req += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    resp += "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(i % 10) + "\r\n\r\n" +
            std::string(i % 10, 'b');
  }
  Harness h;
  h.c2s(req);
  h.s2c(resp);
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 100u);
  ASSERT_EQ(r.size(), 100u);
  for (int i = 0; i < 100; i++) {
    EXPECT_TRUE(same_id(q[i], r[i])) << i;
    EXPECT_FALSE(r[i].flags & http::kUnpaired) << i;
  }
  EXPECT_EQ(h.st.pipeline_overflow.get(), 0u);
  EXPECT_EQ(h.st.pending_in_use.get(), 0u);
}

TEST(HttpPairing, AnEmptyPoolNeverGivesAnotherRequestsId) {
  std::string req, resp;
  for (int i = 0; i < 10; i++) {
    req += "GET /" + std::to_string(i) + " HTTP/1.1\r\n\r\n";
    resp += "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  }
  Harness h(true, 4);
  h.c2s(req);
  h.s2c(resp);
  h.end();
  auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 10u);
  ASSERT_EQ(r.size(), 10u);
  std::sort(q.begin(), q.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  EXPECT_EQ(h.st.pipeline_overflow.get(), 6u);
  int unpaired = 0;
  for (int i = 0; i < 10; i++) {
    EXPECT_TRUE(same_id(q[i], r[i])) << i;  // the right id, paired or not
    unpaired += bool(r[i].flags & http::kUnpaired);
  }
  EXPECT_EQ(unpaired, 6);
}

TEST(HttpPairing, AResponseCapturedBeforeItsRequestWaitsForIt) {
  Harness h;
  // The server acknowledged 40 client bytes the capture has not delivered.
  h.hs[0].seq_known = h.hs[0].ack_known = true;
  h.hs[0].next_seq = 1000;
  h.hs[0].peer_ack = 1040;
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(h.out.emitted.empty());
  h.hs[0].next_seq = 1040;
  h.c2s("GET /late HTTP/1.1\r\nHost: x\r\n\r\n");
  h.s2c("HTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\n");  // unsolicited: nothing sent for it
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 1u);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_TRUE(same_id(q[0], r[0]));
  EXPECT_FALSE(r[0].flags & http::kUnpaired);
  EXPECT_FALSE(q[0].flags & http::kUnpaired);
  EXPECT_TRUE(r[1].flags & http::kUnpaired);
  EXPECT_EQ(h.st.early_responses.get(), 1u);
  EXPECT_EQ(h.out.emitted[0].request, 1);  // the request's record comes first
}

TEST(HttpTunnel, ConnectCarriesInnerHttpWithTheOuterId) {
  Harness h;
  h.c2s("CONNECT origin:80 HTTP/1.1\r\nHost: origin:80\r\n\r\n");
  h.s2c("HTTP/1.1 200 Connection Established\r\n\r\n");
  h.c2s("GET /in HTTP/1.1\r\nHost: origin\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nin");
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 2u);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(q[1].flags & http::kInner);
  EXPECT_TRUE(r[1].flags & http::kInner);
  EXPECT_EQ(std::memcmp(q[1].outer, q[0].id, 12), 0);
  EXPECT_TRUE(same_id(q[1], r[1]));
  EXPECT_FALSE(same_id(q[0], q[1]));
  EXPECT_EQ(r[1].body_len, 2u);
  EXPECT_NE(join::message_json(q[1]).find("\"outer\":\""), std::string::npos);
  EXPECT_EQ(join::message_json(q[0]).find("\"outer\""), std::string::npos);
  EXPECT_EQ(h.st.inner_messages.get(), 2u);
}

TEST(HttpTunnel, OpaqueTunnelBytesAreCounted) {
  Harness h;
  h.c2s("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  h.s2c("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
  h.c2s("\x81\x82mask");
  h.end();
  EXPECT_EQ(h.kind(true).size(), 1u);
  EXPECT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.st.tunnel_bytes.get(), 10u);
  EXPECT_EQ(h.st.upgrades.get(), 1u);
}

TEST(HttpTunnel, ADeclinedUpgradeLeavesFramingOn) {
  Harness h;
  h.c2s("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.end();
  const auto q = h.kind(true), r = h.kind(false);
  ASSERT_EQ(q.size(), 2u);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(q[0].flags & http::kUpgrade);
  EXPECT_TRUE(same_id(q[1], r[1]));
  EXPECT_EQ(h.st.upgrades.get(), 0u);
}

}  // namespace
