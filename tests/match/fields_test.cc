// Which bytes of a message each condition sees: method, URI, path and
// query, Host, headers by name, a bounded body prefix; literal and regex
// patterns, case, "all of" and "any of", cut and missing raw bytes.
#include <gtest/gtest.h>

#include "rules_util.h"

namespace {

using namespace match_test;

TEST(MatchFields, LiteralIsNotARegex) {
  Compiled c({rule("lit", Action::kTag, {cond(Field::kUri, "/a.b(1)", true)}),
              rule("re", Action::kSkip, {cond(Field::kUri, "/a.b")})});
  EXPECT_EQ(c.match("GET", "/x/a.b(1)").rule, 0);
  EXPECT_EQ(c.match("GET", "/axb(1)").rule, 1);  // '.' and '(' are plain bytes in a literal
  EXPECT_EQ(c.match("GET", "/a-b").rule, 1);
  EXPECT_EQ(c.match("GET", "/ab").rule, match::kNoRule);
}

TEST(MatchFields, CaseMattersUnlessNocase) {
  Compiled c({rule("exact", Action::kTag, {cond(Field::kUri, "ADMIN")}),
              rule("nocase", Action::kSkip, {cond(Field::kUri, "secret", true, true)})});
  EXPECT_EQ(c.match("GET", "/ADMIN").rule, 0);
  EXPECT_EQ(c.match("GET", "/admin").rule, match::kNoRule);
  EXPECT_EQ(c.match("GET", "/SeCrEt").rule, 1);
}

TEST(MatchFields, AllOfNeedsEveryConditionAnyOfOne) {
  const std::vector<match::Condition> both = {cond(Field::kMethod, "^POST$"),
                                              cond(Field::kPath, "^/login")};
  Compiled all({rule("all", Action::kTag, both)});
  Compiled any({rule("any", Action::kTag, both, true)});
  EXPECT_EQ(all.match("POST", "/login").rule, 0);
  EXPECT_EQ(all.match("GET", "/login").rule, match::kNoRule);
  EXPECT_EQ(all.match("POST", "/index").rule, match::kNoRule);
  EXPECT_EQ(any.match("GET", "/login").rule, 0);
  EXPECT_EQ(any.match("POST", "/index").rule, 0);
  EXPECT_EQ(any.match("GET", "/index").rule, match::kNoRule);
}

TEST(MatchFields, ConditionsFromAnEarlierMessageDoNotCarryOver) {
  // The scratch's bitmap must start empty for every message: the second
  // message alone satisfies only one of the two conditions.
  Compiled c({rule("both", Action::kTag,
                   {cond(Field::kMethod, "^POST$"), cond(Field::kPath, "^/login$")})});
  EXPECT_EQ(c.match("POST", "/other").rule, match::kNoRule);
  EXPECT_EQ(c.match("GET", "/login").rule, match::kNoRule);
  EXPECT_EQ(c.match("POST", "/login").rule, 0);
}

TEST(MatchFields, PathAndQuerySplitAtTheFirstQuestionMark) {
  Compiled c({rule("path", Action::kTag, {cond(Field::kPath, "^/search$")}),
              rule("query", Action::kSkip, {cond(Field::kQuery, "^q=a\\?b$")}),
              rule("uri", Action::kMirror, {cond(Field::kUri, "com/x\\?")})});
  EXPECT_EQ(c.match("GET", "/search?q=1").rule, 0);
  EXPECT_EQ(c.match("GET", "/search/more").rule, match::kNoRule);
  EXPECT_EQ(c.match("GET", "/s?q=a?b").rule, 1);   // the query keeps later '?'
  EXPECT_EQ(c.match("GET", "/q=a?b").rule, match::kNoRule);  // no query at all
  // Absolute form (to a proxy): the path starts after the authority.
  EXPECT_EQ(c.match("GET", "http://example.com/search?z").rule, 0);
  EXPECT_EQ(c.match("GET", "http://example.com/x?q").rule, 2);  // the URI is the whole target
}

TEST(MatchFields, MethodAndHostAsGiven) {
  Compiled c({rule("m", Action::kTag, {cond(Field::kMethod, "DELETE", true)}),
              rule("h", Action::kSkip,
                   {cond(Field::kHost, "^api\\.example\\.com$", false, true)})});
  EXPECT_EQ(c.match("DELETE", "/").rule, 0);
  EXPECT_EQ(c.match("GET", "/", "API.Example.com").rule, 1);
  EXPECT_EQ(c.match("GET", "/", "api.example.com.evil").rule, match::kNoRule);
}

TEST(MatchFields, EmptyFieldsNeverMatch) {
  // A response has no method or URI; a negated class still needs a byte.
  Compiled c({rule("m", Action::kTag, {cond(Field::kMethod, "[^X]")}),
              rule("q", Action::kSkip, {cond(Field::kQuery, "[^X]")})});
  EXPECT_EQ(c.match("", "").rule, match::kNoRule);
  EXPECT_EQ(c.match("", "/path").rule, match::kNoRule);
  EXPECT_EQ(c.match("", "/path?").rule, match::kNoRule);
}

TEST(MatchFields, HeaderNamesIgnoreCase) {
  Compiled c({rule("curl", Action::kTag, {header("user-agent", "^curl/")})});
  EXPECT_EQ(c.request("User-Agent: curl/8.0\r\n").rule, 0);
  EXPECT_EQ(c.request("USER-AGENT:curl/8.0\r\n").rule, 0);
  EXPECT_EQ(c.request("user-agent: \t curl/8.0 \r\n").rule, 0);  // value trimmed of OWS
  EXPECT_EQ(c.request("X-User-Agent: curl/8.0\r\n").rule, match::kNoRule);
  EXPECT_EQ(c.request("User-Agent : curl/8.0\r\n").rule, match::kNoRule);  // not a field line
  EXPECT_EQ(c.request("Referer: curl/8.0\r\n").rule, match::kNoRule);
  EXPECT_EQ(c.request("User-Agent: Wget\r\n").rule, match::kNoRule);
}

TEST(MatchFields, SeveralHeadersAndRepeatedOnes) {
  Compiled c({rule("two", Action::kTag,
                   {header("user-agent", "curl"), header("accept", "^application/json$")}),
              rule("cookie", Action::kSkip, {header("cookie", "^session=admin$")})});
  EXPECT_EQ(c.request("Accept: application/json\r\nUser-Agent: curl\r\n").rule, 0);
  EXPECT_EQ(c.request("Accept: text/html\r\nUser-Agent: curl\r\n").rule, match::kNoRule);
  // Each field line is its own value: the second Cookie line matches, and
  // an anchored pattern never spans two lines.
  EXPECT_EQ(c.request("Cookie: a=1\r\nCookie: session=admin\r\n").rule, 1);
  EXPECT_EQ(c.request("Cookie: x\r\nsession=admin\r\n").rule, match::kNoRule);
  // An obs-fold continuation line is more of the header before it.
  EXPECT_EQ(c.request("Cookie: a=1\r\n session=admin\r\n").rule, 1);
  // Bare LF line ends are accepted.
  const std::string lf = "GET / HTTP/1.1\nCookie: session=admin\n\n";
  EXPECT_EQ(c.match("GET", "/", "", lf).rule, 1);
}

TEST(MatchFields, HeadersAndBodyAreSeparate) {
  Compiled c({rule("h", Action::kTag, {header("x-token", "secret")}),
              rule("b", Action::kSkip, {cond(Field::kBody, "x-token: secret")})});
  EXPECT_EQ(c.request("", "x-token: secret").rule, 1);      // in the body: not a header
  EXPECT_EQ(c.request("X-Token: secret\r\n").rule, 0);
  EXPECT_EQ(c.request("X-Other: 1\r\n", "hello").rule, match::kNoRule);
}

TEST(MatchFields, BodyPatternPastThePrefixDoesNotMatch) {
  match::RuleSet set =
      Compiled::set_of({rule("b", Action::kTag, {cond(Field::kBody, "needle", true)})});
  set.body_prefix_bytes = 16;
  Compiled c(set);
  EXPECT_EQ(c.request("", "0123456789needle....").rule, 0);  // bytes 10-15
  EXPECT_EQ(c.request("", "01234567890needle...").rule, match::kNoRule);  // straddles byte 16
  EXPECT_EQ(c.request("", std::string(40, '.') + "needle").rule, match::kNoRule);
  EXPECT_EQ(c.request("Content-Length: 6\r\n").rule, match::kNoRule);  // no body
}

TEST(MatchFields, CutRawKeepsOnlyCompleteHeaderLines) {
  Compiled c({rule("ua", Action::kTag, {header("user-agent", "^curl$")}),
              rule("b", Action::kSkip, {cond(Field::kBody, "x")})});
  // Cut inside the header block: complete lines count, the partial last
  // one (which could be "curl-like") does not, and there is no body.
  EXPECT_EQ(c.match("GET", "/", "", "GET / HTTP/1.1\r\nUser-Agent: curl\r\nAccept: x").rule, 0);
  EXPECT_EQ(c.match("GET", "/", "", "GET / HTTP/1.1\r\nAccept: x\r\nUser-Agent: curl").rule,
            match::kNoRule);
  EXPECT_EQ(c.match("GET", "/", "", "GET / HTTP/1.1\r\nX: x").rule, match::kNoRule);
  EXPECT_EQ(c.match("GET", "/", "", "GET / HTT").rule, match::kNoRule);
  EXPECT_EQ(c.match("GET", "/", "", "").rule, match::kNoRule);
  EXPECT_EQ(c.counters->scan_errors.get(), 0u);
}

TEST(MatchFields, SplitRawAndHeaderCursor) {
  const match::RawParts p = match::split_raw("POST /a HTTP/1.1\r\nA: 1\r\nB:2\r\n\r\nbody\r\n\r\n");
  EXPECT_EQ(p.headers, "A: 1\r\nB:2\r\n");
  EXPECT_EQ(p.body, "body\r\n\r\n");
  match::HeaderCursor hc(p.headers);
  std::string_view n, v;
  ASSERT_TRUE(hc.next(&n, &v));
  EXPECT_EQ(n, "A");
  EXPECT_EQ(v, "1");
  ASSERT_TRUE(hc.next(&n, &v));
  EXPECT_EQ(n, "B");
  EXPECT_EQ(v, "2");
  EXPECT_FALSE(hc.next(&n, &v));

  const match::RawParts cut = match::split_raw("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2");
  EXPECT_EQ(cut.headers, "A: 1\r\n");
  EXPECT_TRUE(cut.body.empty());
  const match::RawParts no_headers = match::split_raw("HTTP/1.1 204 No Content\r\n\r\n");
  EXPECT_TRUE(no_headers.headers.empty());
  EXPECT_TRUE(no_headers.body.empty());
}

}  // namespace
