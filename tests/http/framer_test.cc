// HTTP/1.x framing and pairing on byte streams, each case fed whole and
// split at every byte boundary (headers split across segments must not
// change a thing).
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "http/http.h"
#include "harness.h"
#include "../match/rules_util.h"
#include "join/format.h"

namespace {

struct Exchange {
  const char* name;
  std::string req, resp;
  // expected
  std::vector<std::string> uris;
  std::vector<unsigned> statuses;   // every response, interim included
  std::vector<uint64_t> bodies;     // decoded body bytes per response
  bool chunked_last;
};

std::vector<Exchange> cases() {
  return {
      {"content_length", "GET /a HTTP/1.1\r\nHost: x.test\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", {"/a"}, {200}, {5}, false},
      {"chunked_ext_trailer", "GET /c HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=val\r\nabcd\r\n3\r\nefg\r\n0\r\nX-T: 1\r\n\r\n",
       {"/c"}, {200}, {7}, true},
      {"head_has_no_body", "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /n HTTP/1.1\r\nHost: x\r\n\r\n",
       "HTTP/1.1 200 OK\r\nContent-Length: 64000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
       {"/h", "/n"}, {200, 200}, {0, 2}, false},
      {"204_304", "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
       "HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
       {"/a", "/b"}, {204, 304}, {0, 0}, false},
      {"100_continue_any_phrase",
       "POST /p HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
       "HTTP/1.1 100 Keep Going, Friend\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
       {"/p"}, {100, 201}, {0, 0}, false},
      {"pipelined_three", "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
       "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 404 NF\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
       {"/1", "/2", "/3"}, {200, 404, 200}, {1, 0, 2}, false},
      {"http10_keepalive", "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc", {"/k"}, {200}, {3},
       false},
  };
}

void check_exchange(const Harness& h, const Exchange& c) {
  const auto reqs = h.kind(true), resps = h.kind(false);
  ASSERT_EQ(reqs.size(), c.uris.size());
  for (size_t i = 0; i < reqs.size(); i++) {
    EXPECT_EQ(std::string(reqs[i].uri, reqs[i].uri_len), c.uris[i]);
    EXPECT_EQ(reqs[i].index, i);
    EXPECT_FALSE(reqs[i].flags & http::kIncomplete);
  }
  ASSERT_EQ(resps.size(), c.statuses.size());
  size_t req_i = 0;
  for (size_t i = 0; i < resps.size(); i++) {
    EXPECT_EQ(resps[i].status, c.statuses[i]);
    EXPECT_EQ(resps[i].body_len, c.bodies[i]) << i;
    EXPECT_FALSE(resps[i].flags & http::kIncomplete) << i;
    // Same id as the request it answers; interim responses share it.
    EXPECT_EQ(std::memcmp(resps[i].id, reqs[req_i].id, 12), 0) << i;
    if (!(resps[i].flags & http::kInterim)) req_i++;
  }
  EXPECT_EQ(bool(resps.back().chunked), c.chunked_last);
  for (size_t i = 1; i < reqs.size(); i++) EXPECT_NE(std::memcmp(reqs[i].id, reqs[i - 1].id, 12), 0);
}

class Framing : public ::testing::TestWithParam<Exchange> {};

TEST_P(Framing, WholeStreams) {
  const Exchange& c = GetParam();
  Harness h;
  h.c2s(c.req);
  h.s2c(c.resp);
  h.end();
  check_exchange(h, c);
  EXPECT_EQ(h.st.parse_errors.get(), 0u);
}

TEST_P(Framing, SplitAtEveryByte) {
  const Exchange& c = GetParam();
  for (size_t i = 1; i < c.req.size(); i++) {
    SCOPED_TRACE("request split at " + std::to_string(i));
    Harness h;
    h.c2s(c.req.substr(0, i));
    h.c2s(c.req.substr(i));
    h.s2c(c.resp);
    h.end();
    check_exchange(h, c);
    if (HasFatalFailure()) return;
  }
  for (size_t i = 1; i < c.resp.size(); i++) {
    SCOPED_TRACE("response split at " + std::to_string(i));
    Harness h;
    h.c2s(c.req);
    h.s2c(c.resp.substr(0, i));
    h.s2c(c.resp.substr(i));
    h.end();
    check_exchange(h, c);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, Framing, ::testing::ValuesIn(cases()),
                         [](const auto& i) { return std::string(i.param.name); });

TEST(Http, CloseDelimitedBodyEndsAtConnectionEnd) {
  Harness h;
  h.c2s("GET /close HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n0123456789");
  EXPECT_TRUE(h.kind(false).empty()) << "the body runs until FIN";
  h.end();
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].body_len, 10u);
  EXPECT_FALSE(h.kind(false)[0].flags & http::kIncomplete);
}

TEST(Http, GapCutsTheMessageAndResyncsAtTheNextOne) {
  Harness h;
  h.c2s("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst part");
  h.fr->gap(*h.conn, h.f, 1, 3);
  // The rest of the body went missing with the hole; what follows is body
  // bytes (skipped), then the next response, right after binary data.
  h.s2c("\x01\x02tail of the first bodyHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  h.end();
  const auto r = h.kind(false);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].flags & http::kIncomplete);
  EXPECT_EQ(r[0].body_len, 10u);
  EXPECT_FALSE(r[1].flags & http::kIncomplete);
  EXPECT_TRUE(r[1].flags & http::kAfterGap);
  EXPECT_EQ(r[1].body_len, 2u);
  EXPECT_EQ(std::memcmp(r[1].id, h.kind(true)[1].id, 12), 0) << "still paired in order";
  EXPECT_EQ(h.st.resyncs.get(), 1u);
  EXPECT_GT(h.st.resync_skipped.get(), 0u);
}

TEST(Http, ResyncFindsAStartLineSplitAcrossSegmentsAtEveryByte) {
  // After a gap, the next response's status line (and a request line)
  // split anywhere between two segments must still be found.
  const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  const std::string req = "DELETE /x HTTP/1.1\r\n\r\n";
  for (size_t cut = 1; cut < 16; cut++) {
    Harness h;
    h.c2s("GET /1 HTTP/1.1\r\n\r\n");
    h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst");
    h.fr->gap(*h.conn, h.f, 1, 3);
    h.fr->gap(*h.conn, h.f, 0, 3);
    const std::string s = "\x01binary" + resp, q = "junk" + req;
    h.s2c(s.substr(0, 7 + cut));
    h.s2c(s.substr(7 + cut));
    h.c2s(q.substr(0, 4 + cut));
    h.c2s(q.substr(4 + cut));
    h.end();
    const auto r = h.kind(false);
    ASSERT_EQ(r.size(), 2u) << cut;
    EXPECT_EQ(r[1].status, 200) << cut;
    EXPECT_EQ(r[1].body_len, 2u) << cut;
    EXPECT_FALSE(r[1].flags & http::kIncomplete) << cut;
    const auto rq = h.kind(true);
    ASSERT_EQ(rq.size(), 2u) << cut;
    EXPECT_STREQ(rq[1].method, "DELETE") << cut;
    EXPECT_EQ(std::string(rq[1].uri, rq[1].uri_len), "/x") << cut;
  }
}

TEST(Http, MidStreamStartResyncs) {
  Harness h(false);
  h.s2c("ue\": 1}\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
  h.c2s("ost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
  h.end();
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].status, 404);
  EXPECT_TRUE(h.kind(false)[0].flags & http::kAfterGap);
  ASSERT_EQ(h.kind(true).size(), 1u);
  EXPECT_EQ(std::string(h.kind(true)[0].uri), "/next");
}

TEST(Http, UnansweredRequestIsUnpaired) {
  Harness h;
  h.c2s("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.end();
  const auto q = h.kind(true);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_FALSE(q[0].flags & http::kUnpaired);
  EXPECT_TRUE(q[1].flags & http::kUnpaired);
  EXPECT_EQ(h.st.unpaired_requests.get(), 1u);
  EXPECT_NE(join::message_json(q[1]).find("\"paired\":false"), std::string::npos);
}

TEST(Http, UpgradeStopsFraming) {
  Harness h;
  h.c2s("GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  h.s2c("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello");
  h.c2s("\x81\x85garbage that is not HTTP");
  h.end();
  EXPECT_EQ(h.kind(true).size(), 1u);
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].status, 101);
  EXPECT_GE(h.st.upgrades.get(), 1u);
  EXPECT_EQ(h.st.parse_errors.get(), 0u);
}

TEST(Http, ConnectTunnelIsNotParsed) {
  Harness h;
  h.c2s("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  h.s2c("HTTP/1.1 200 Connection Established\r\n\r\n\x16\x03\x01 tls bytes");
  h.c2s("\x16\x03\x01 client hello");
  h.end();
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].body_len, 0u);
  EXPECT_EQ(h.st.parse_errors.get(), 0u);
}

TEST(Http, ContentLengthWithChunkedIsFramedChunkedAndFlagged) {
  Harness h;
  // The chunked body is 3 bytes; Content-Length claims 30. Chunked wins,
  // so the next pipelined request is found where it really starts.
  h.c2s("POST /x HTTP/1.1\r\nContent-Length: 30\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        "GET /next HTTP/1.1\r\n\r\n");
  h.end();
  const auto q = h.kind(true);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_TRUE(q[0].flags & http::kAmbiguous);
  EXPECT_FALSE(q[0].flags & (http::kParseError | http::kIncomplete));
  EXPECT_TRUE(q[0].chunked);
  EXPECT_EQ(q[0].body_len, 3u);
  EXPECT_STREQ(q[1].uri, "/next");
  EXPECT_FALSE(q[1].flags & http::kAmbiguous);
  EXPECT_EQ(h.st.ambiguous.get(), 1u);
  EXPECT_EQ(h.st.parse_errors.get(), 0u);
}

TEST(Http, DuplicateContentLengthIsFlaggedAmbiguous) {
  Harness h;
  h.c2s("POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde");
  h.end();
  const auto q = h.kind(true);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_TRUE(q[0].flags & http::kAmbiguous);
  EXPECT_TRUE(q[0].flags & http::kParseError);
  EXPECT_EQ(h.st.ambiguous.get(), 1u);
}

TEST(Http, HostAndLongUriAreBoundedAndFlagged) {
  Harness h;
  const std::string uri = "/" + std::string(1000, 'u');
  h.c2s("GET " + uri + " HTTP/1.1\r\nhOsT: Example.COM\r\n\r\n");
  h.end();
  const auto q = h.kind(true);
  ASSERT_EQ(q.size(), 1u);
  EXPECT_EQ(std::string(q[0].host, q[0].host_len), "Example.COM");
  EXPECT_EQ(q[0].uri_len, http::kUriMax - 1);
  EXPECT_TRUE(q[0].flags & http::kUriTruncated);
  EXPECT_EQ(std::string(q[0].method), "GET");
}

TEST(Http, OversizeHeaderBlockIsCutAndCounted) {
  http::Stats st;
  Out out;
  http::Framer fr(&st, records_of(out), 256);
  auto conn = std::make_unique<http::Conn>();
  std::memset(static_cast<void*>(conn.get()), 0, sizeof *conn);
  flow::Flow f{};
  const reasm::HalfStream hs[2]{};
  const bool s[2] = {true, true};
  fr.start(*conn, f, 0, s);
  const std::string big = "GET /a HTTP/1.1\r\nX-Big: " + std::string(400, 'b') + "\r\n\r\n";
  const std::string ok = "GET /b HTTP/1.1\r\nHost: x\r\n\r\n";
  fr.data(*conn, f, hs, 0, reinterpret_cast<const uint8_t*>(big.data()), uint32_t(big.size()), 1);
  fr.data(*conn, f, hs, 0, reinterpret_cast<const uint8_t*>(ok.data()), uint32_t(ok.size()), 2);
  fr.end(*conn, f, 3);
  out.drain();
  EXPECT_EQ(st.oversize_headers.get(), 1u);
  EXPECT_EQ(st.errors[http::kErr_user].get(), 1u);
  ASSERT_EQ(out.emitted.size(), 2u);
  EXPECT_TRUE(out.emitted[0].flags & http::kOversizeHeaders);
  EXPECT_TRUE(out.emitted[0].flags & http::kIncomplete);
  EXPECT_EQ(std::string(out.emitted[1].uri), "/b");  // resynced at the next request
  EXPECT_TRUE(out.emitted[1].flags & http::kAfterGap);
}

TEST(Http, JunkWhereAStartLineWasDueIsSkippedAndCounted) {
  Harness h;
  h.c2s("GET / HTTP/1.1\r\nHost: x\r\n\r\nBR@KEN / HTTP/1.1\r\n\r\nGET /ok HTTP/1.1\r\n\r\n");
  h.end();
  const auto q = h.kind(true);
  // The broken bytes never made a start line: counted, not reported.
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(h.st.not_http.get(), 1u);
  EXPECT_GT(h.st.junk_skipped.get(), 0u);
  EXPECT_EQ(std::string(q[1].uri), "/ok");
  EXPECT_TRUE(q[1].flags & http::kJunkSkipped);
  EXPECT_FALSE(q[1].flags & http::kAfterGap);
  EXPECT_EQ(h.st.requests.get(), 2u);
  EXPECT_NE(join::message_json(q[1]).find("\"junk_skipped\""), std::string::npos);
}

TEST(Http, ParseErrorsAreCountedByReason) {
  Harness h;
  h.s2c("HTTP/1.1 2x0 OK\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.end();
  EXPECT_EQ(h.st.parse_errors.get(), 1u);
  EXPECT_EQ(h.st.errors[http::kErr_invalid_status].get(), 1u);
  EXPECT_STREQ(http::error_name(http::kErr_invalid_status), "invalid_status");
  EXPECT_STREQ(http::error_name(http::kErr_invalid_method), "invalid_method");
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].status, 200);
  EXPECT_TRUE(h.kind(false)[0].flags & http::kAfterGap);
}

TEST(Http, NonHttpBytesMakeNoMessages) {
  Harness h;  // a TLS connection seen from its SYN
  h.c2s(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  h.s2c(std::string("\x16\x03\x03\x00\x7a\x02\x00\x00\x76", 9));
  h.end();
  EXPECT_TRUE(h.out.emitted.empty());
  EXPECT_EQ(h.st.requests.get() + h.st.responses.get(), 0u);
  EXPECT_EQ(h.st.not_http.get(), 2u);
  EXPECT_EQ(h.st.junk_skipped.get(), 20u);
}

TEST(Http, RulesJudgeEachRequestAndResponsesFollowIt) {
  using match::Action, match::Field;
  match_test::Compiled rules({
      match_test::rule("skipped", Action::kSkip, {match_test::cond(Field::kUri, "/skip", true)}),
      match_test::rule("mirrored", Action::kMirror, {match_test::cond(Field::kHost, "mirror.test", true)}),
      match_test::rule("r1", Action::kTag, {match_test::cond(Field::kUri, "/t", true)}),
  });
  match::Active a{rules.db.get(), rules.scratch.get(), rules.counters.get(), 1};
  Harness h;
  h.fr->set_rules(&a);
  h.c2s("GET /skip HTTP/1.1\r\nHost: a\r\n\r\nGET /m HTTP/1.1\r\nHost: mirror.test\r\n\r\n"
        "GET /t HTTP/1.1\r\nHost: a\r\n\r\n");
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
        "HTTP/1.1 204 No Content\r\n\r\n");
  h.end();
  EXPECT_EQ(h.out.emitted.size(), 4u);  // the skipped pair never reached the writer
  EXPECT_EQ(h.out.held(), 0u);          // ... and went back to the pool
  const auto q = h.kind(true);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(std::string(q[0].uri), "/m");
  EXPECT_EQ(q[0].verdict, uint8_t(http::Verdict::kMirror));
  EXPECT_STREQ(q[0].rule, "mirrored");
  const auto r = h.kind(false);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].verdict, uint8_t(http::Verdict::kMirror));  // its request's
  EXPECT_STREQ(r[0].rule, "mirrored");
  EXPECT_EQ(r[1].status, 204);
  EXPECT_STREQ(r[1].tag, "r1");
  EXPECT_STREQ(r[1].rule, "r1");
  EXPECT_NE(join::message_json(r[1]).find("\"rule\":\"r1\",\"action\":\"tag\",\"tag\":\"r1\""),
            std::string::npos);
  // What the verdicts ask of the connection's packets, for the stage to apply.
  EXPECT_EQ(h.conn->acts, uint8_t(http::kActMirror));
  EXPECT_EQ(h.st.verdicts[size_t(http::Verdict::kSkip)].get(), 2u);
  EXPECT_EQ(h.st.verdicts[size_t(http::Verdict::kTag)].get(), 2u);
  // Requests are matched; responses take their request's verdict unmatched
  // (actions[] counts every decision, the default's included).
  EXPECT_EQ(rules.counters->hits[0].get() + rules.counters->hits[1].get() +
                rules.counters->hits[2].get(), 3u);
  uint64_t decisions = 0;
  for (const auto& n : rules.counters->actions) decisions += n.get();
  EXPECT_EQ(decisions, 3u);
}

TEST(Http, RequestIsJudgedWhenItEndsNotWhenAnswered) {
  // A drop verdict must come while the packet that completed the request
  // can still be withheld: before any response, and once only.
  using match::Action, match::Field;
  auto drop = match_test::rule("dropped", Action::kDrop, {match_test::cond(Field::kUri, "/a", true)});
  drop.reject = true;
  match_test::Compiled rules({drop});
  match::Active a{rules.db.get(), rules.scratch.get(), rules.counters.get(), 1};
  Harness h;
  h.fr->set_rules(&a);
  h.c2s("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(rules.counters->hits[0].get(), 1u);
  EXPECT_EQ(h.conn->acts, uint8_t(http::kActDrop));
  EXPECT_EQ(h.conn->reject, 1u);  // the rule's resets travel with the verdict
  EXPECT_TRUE(h.kind(true).empty());  // exported only once its response begins
  h.s2c("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  h.end();
  uint64_t decisions = 0;  // every match, the default's included
  for (const auto& n : rules.counters->actions) decisions += n.get();
  EXPECT_EQ(decisions, 1u);  // the response takes the request's verdict, unmatched
  ASSERT_EQ(h.kind(true).size(), 1u);
  EXPECT_EQ(h.kind(true)[0].verdict, uint8_t(http::Verdict::kDrop));
  ASSERT_EQ(h.kind(false).size(), 1u);
  EXPECT_EQ(h.kind(false)[0].verdict, uint8_t(http::Verdict::kDrop));
}

TEST(Http, IdsAreStableAcrossRuns) {
  std::string a, b;
  for (std::string* s : {&a, &b}) {
    Harness h;
    h.c2s("GET /1 HTTP/1.1\r\n\r\n");
    h.end();
    *s = join::message_json(h.kind(true)[0]);
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("\"id\":\"9c400050"), std::string::npos) << a;  // client port 40000, server port 80
}

}  // namespace
