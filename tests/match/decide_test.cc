// Which rule decides: first match in file order, the default, flow
// conditions (v4/v6 networks, port ranges) alone or with HTTP ones, the
// decision at connection start, counters, and a thousand rules.
#include <gtest/gtest.h>

#include "rules_util.h"

namespace {

using namespace match_test;

TEST(MatchDecide, FirstMatchInFileOrderWins) {
  const match::Rule broad = rule("broad", Action::kDrop, {cond(Field::kPath, "^/admin")});
  const match::Rule narrow = rule("narrow", Action::kTag, {cond(Field::kPath, "^/admin/login")});
  Compiled c({broad, narrow});
  const match::Result r = c.match("GET", "/admin/login");
  EXPECT_EQ(r.rule, 0);
  EXPECT_EQ(r.action, Action::kDrop);
  Compiled swapped({narrow, broad});
  EXPECT_EQ(swapped.match("GET", "/admin/login").rule, 0);
  EXPECT_EQ(swapped.match("GET", "/admin/login").action, Action::kTag);
  EXPECT_EQ(swapped.match("GET", "/admin/x").rule, 1);
}

TEST(MatchDecide, DefaultWhenNoRuleMatches) {
  match::RuleSet set = Compiled::set_of({rule("a", Action::kSkip, {cond(Field::kUri, "a")})});
  Compiled record(set);
  EXPECT_EQ(record.match("GET", "/b").action, Action::kRecord);
  EXPECT_EQ(record.match("GET", "/b").tag, nullptr);
  set.default_action = Action::kTag;
  set.default_tag = "unmatched";
  Compiled tag(set);
  const match::Result r = tag.match("GET", "/b");
  EXPECT_EQ(r.rule, match::kNoRule);
  EXPECT_EQ(r.action, Action::kTag);
  ASSERT_NE(r.tag, nullptr);
  EXPECT_EQ(*r.tag, "unmatched");
  EXPECT_EQ(tag.db->tags().at(r.tag_id - 1u), "unmatched");
  EXPECT_EQ(tag.match("GET", "/a").action, Action::kSkip);
}

TEST(MatchDecide, TagsRejectAndCounters) {
  match::Rule reset = rule("reset", Action::kDrop, {cond(Field::kPath, "^/x$")});
  reset.reject = true;
  match::Rule t1 = rule("t1", Action::kTag, {cond(Field::kPath, "^/t1$")});
  match::Rule t2 = rule("t2", Action::kTag, {cond(Field::kPath, "^/t2$")});
  t2.tag = t1.tag;  // two rules, one label: one tag id
  Compiled c({reset, t1, t2});
  const match::Result x = c.match("GET", "/x");
  EXPECT_TRUE(x.reject);
  EXPECT_EQ(x.tag_id, 0);
  const match::Result a = c.match("GET", "/t1"), b = c.match("GET", "/t2");
  EXPECT_EQ(a.tag_id, b.tag_id);
  EXPECT_FALSE(a.reject);
  ASSERT_NE(b.tag, nullptr);
  EXPECT_EQ(*b.tag, "t1");
  c.match("GET", "/none");
  EXPECT_EQ(c.counters->hits[0].get(), 1u);
  EXPECT_EQ(c.counters->hits[1].get(), 1u);
  EXPECT_EQ(c.counters->hits[2].get(), 1u);
  EXPECT_EQ(c.counters->actions[size_t(Action::kDrop)].get(), 1u);
  EXPECT_EQ(c.counters->actions[size_t(Action::kTag)].get(), 2u);
  EXPECT_EQ(c.counters->actions[size_t(Action::kRecord)].get(), 1u);
}

TEST(MatchDecide, NetsV4AndV6) {
  match::Rule v4 = rule("v4", Action::kMirror, {});
  v4.client = {net("10.0.16.0/20")};
  match::Rule v6 = rule("v6", Action::kSkip, {});
  v6.server = {net("2001:db8::/33"), net("fe80::1")};
  Compiled c({v4, v6});
  auto at = [&](const char* cl, const char* sv) {
    return c.db->match_flow(flow(cl, sv), nullptr).rule;
  };
  EXPECT_EQ(at("10.0.16.0", "1.1.1.1"), 0);
  EXPECT_EQ(at("10.0.31.255", "1.1.1.1"), 0);
  EXPECT_EQ(at("10.0.32.0", "1.1.1.1"), match::kNoRule);
  EXPECT_EQ(at("10.0.15.255", "1.1.1.1"), match::kNoRule);
  EXPECT_EQ(at("1.1.1.1", "10.0.16.1"), match::kNoRule);  // client side only
  EXPECT_EQ(at("::1", "2001:db8:7fff::1"), 1);
  EXPECT_EQ(at("::1", "2001:db8:8000::1"), match::kNoRule);
  EXPECT_EQ(at("::1", "fe80::1"), 1);
  EXPECT_EQ(at("::1", "fe80::2"), match::kNoRule);
  // An IPv4 flow never matches an IPv6 net, even with equal leading bytes.
  match::Rule zero6 = rule("zero6", Action::kSkip, {});
  zero6.client = {net("::/0")};
  Compiled z({zero6});
  EXPECT_EQ(z.db->match_flow(flow("10.0.0.1", "10.0.0.2"), nullptr).rule, match::kNoRule);
  EXPECT_EQ(z.db->match_flow(flow("::2", "::3"), nullptr).rule, 0);
}

TEST(MatchDecide, ParseNetRefusesWhatIsNotANetwork) {
  match::Net n;
  std::string why;
  EXPECT_FALSE(match::parse_net("10.0.0.1/8", &n, &why));
  EXPECT_NE(why.find("bits set past its /8"), std::string::npos) << why;
  EXPECT_FALSE(match::parse_net("10.0.0.0/33", &n, &why));
  EXPECT_FALSE(match::parse_net("2001:db8::/129", &n, &why));
  EXPECT_FALSE(match::parse_net("10.0.0/8", &n, &why));
  EXPECT_FALSE(match::parse_net("10.0.0.0/", &n, &why));
  EXPECT_TRUE(match::parse_net("192.0.2.7", &n, &why));
  EXPECT_EQ(n.prefix, 32);
  EXPECT_TRUE(match::parse_net("::/0", &n, &why));
  EXPECT_EQ(n.version, 6);
}

TEST(MatchDecide, ServerPortRanges) {
  match::Rule web = rule("web", Action::kSkip, {});
  web.server_port = {{80, 80}, {8000, 8099}};
  Compiled c({web});
  for (uint16_t p : {80, 8000, 8050, 8099})
    EXPECT_EQ(c.db->match_flow(flow("10.0.0.1", "10.0.0.2", p), nullptr).rule, 0) << p;
  for (uint16_t p : {79, 81, 443, 7999, 8100})
    EXPECT_EQ(c.db->match_flow(flow("10.0.0.1", "10.0.0.2", p), nullptr).rule, match::kNoRule) << p;
}

TEST(MatchDecide, FlowConditionsScopeHttpConditions) {
  match::Rule r = rule("lan-admin", Action::kDrop, {cond(Field::kPath, "^/admin")}, true);
  r.client = {net("192.168.0.0/16")};
  r.server_port = {{443, 443}};
  Compiled c({r});
  EXPECT_EQ(c.match("GET", "/admin", "", "", flow("192.168.1.1", "10.0.0.1", 443)).rule, 0);
  EXPECT_EQ(c.match("GET", "/admin", "", "", flow("172.16.1.1", "10.0.0.1", 443)).rule,
            match::kNoRule);
  EXPECT_EQ(c.match("GET", "/admin", "", "", flow("192.168.1.1", "10.0.0.1", 80)).rule,
            match::kNoRule);
  // "any of" is about the HTTP conditions: the flow conditions still hold.
  EXPECT_EQ(c.match("GET", "/", "", "", flow("192.168.1.1", "10.0.0.1", 443)).rule,
            match::kNoRule);
}

TEST(MatchDecide, ConnectionStartDecidesOnlyWhatMessagesCannotChange) {
  match::Rule http_first = rule("admin", Action::kDrop, {cond(Field::kPath, "^/admin")});
  http_first.server_port = {{80, 80}};
  match::Rule internal = rule("internal", Action::kSkip, {});
  internal.client = {net("10.0.0.0/8")};
  match::RuleSet set = Compiled::set_of({http_first, internal});
  set.default_action = Action::kMirror;
  Compiled c(set);
  EXPECT_TRUE(c.db->has_flow_only_rules());
  EXPECT_TRUE(c.db->needs_http());
  EXPECT_FALSE(c.db->needs_raw());
  // Port 80: the HTTP rule comes first and might match a message.
  EXPECT_EQ(c.db->match_flow(flow("10.1.1.1", "192.0.2.1", 80), c.counters.get()).rule,
            match::kUndecided);
  EXPECT_EQ(c.match("GET", "/admin", "", "", flow("10.1.1.1", "192.0.2.1", 80)).rule, 0);
  EXPECT_EQ(c.match("GET", "/", "", "", flow("10.1.1.1", "192.0.2.1", 80)).rule, 1);
  // Port 8080: the HTTP rule cannot apply, so the flow rule decides now,
  // and every message would get the same answer.
  const match::Result now = c.db->match_flow(flow("10.1.1.1", "192.0.2.1", 8080), c.counters.get());
  EXPECT_EQ(now.rule, 1);
  EXPECT_EQ(now.action, Action::kSkip);
  EXPECT_EQ(c.match("GET", "/admin", "", "", flow("10.1.1.1", "192.0.2.1", 8080)).rule, 1);
  // Neither rule can apply: the default, decided at connection start.
  const match::Result none = c.db->match_flow(flow("172.16.0.1", "192.0.2.1", 8080), nullptr);
  EXPECT_EQ(none.rule, match::kNoRule);
  EXPECT_EQ(none.action, Action::kMirror);
  // Undecided flows are not counted; decisions are (two messages, one flow).
  EXPECT_EQ(c.counters->hits[1].get(), 3u);
  EXPECT_EQ(c.counters->hits[0].get(), 1u);
}

TEST(MatchDecide, AThousandRules) {
  std::vector<match::Rule> rules;
  for (int i = 0; i < 1000; i++) {
    const std::string n = std::to_string(i);
    std::vector<match::Condition> conds;
    switch (i % 4) {
      case 0: conds = {cond(Field::kPath, "/p" + n + "/", true)}; break;
      case 1: conds = {cond(Field::kQuery, "(^|&)id=" + n + "(&|$)")}; break;
      case 2: conds = {header("x-id", "^" + n + "$")}; break;
      case 3: conds = {cond(Field::kMethod, "^PUT$"), cond(Field::kPath, "^/v" + n + "$")}; break;
    }
    rules.push_back(rule("r" + n, i % 2 ? Action::kSkip : Action::kTag, conds));
  }
  Compiled c(rules);
  EXPECT_EQ(c.match("GET", "/a/p536/b").rule, 536);
  EXPECT_EQ(*c.match("GET", "/a/p536/b").tag, "r536");
  EXPECT_EQ(c.match("GET", "/p53/").rule, match::kNoRule);  // 53 is not a multiple of 4
  EXPECT_EQ(c.match("GET", "/p52/").rule, 52);
  EXPECT_EQ(c.match("GET", "/x?a=1&id=997").rule, 997);
  EXPECT_EQ(c.match("GET", "/x?id=9970").rule, match::kNoRule);
  EXPECT_EQ(c.request("X-Id: 998\r\n").rule, 998);
  EXPECT_EQ(c.match("PUT", "/v999").rule, 999);
  EXPECT_EQ(c.match("GET", "/v999").rule, match::kNoRule);
  // Several match: the lowest index wins.
  EXPECT_EQ(c.match("PUT", "/p4/?id=1").rule, 1);
  EXPECT_EQ(c.counters->hits[536].get(), 2u);
}

TEST(MatchDecide, ClonedScratchServesASecondWorker) {
  Compiled c({rule("a", Action::kTag, {cond(Field::kPath, "^/a$")}),
              rule("b", Action::kSkip, {header("x", "b")})});
  std::unique_ptr<match::Scratch> second = c.scratch->clone();
  match::Counters second_counters(2);
  const std::string raw = "GET /z HTTP/1.1\r\nX: b\r\n\r\n";
  const match::FlowView f = flow("10.0.0.1", "10.0.0.2");
  EXPECT_EQ(c.db->match(*second, f, {"GET", "/a", "", ""}, &second_counters).rule, 0);
  EXPECT_EQ(c.db->match(*c.scratch, f, {"GET", "/z", "", raw}, c.counters.get()).rule, 1);
  EXPECT_EQ(c.db->match(*second, f, {"GET", "/z", "", raw}, &second_counters).rule, 1);
  EXPECT_EQ(second_counters.hits[0].get(), 1u);
  EXPECT_EQ(c.counters->hits[0].get(), 0u);

  // A scratch left from an older set is refused, not used.
  Compiled other({rule("a", Action::kTag, {cond(Field::kPath, "^/a$")})});
  const match::Result r = c.db->match(*other.scratch, f, {"GET", "/a", "", ""}, c.counters.get());
  EXPECT_EQ(r.rule, match::kNoRule);
  EXPECT_EQ(c.counters->scan_errors.get(), 1u);
}

TEST(MatchDecide, BadPatternsAreNamedWithTheirRule) {
  match::Rule bad = rule("block-admin", Action::kDrop, {cond(Field::kPath, "a(b")});
  bad.conds[0].line = 12;
  bad.conds[0].column = 8;
  match::Rule empty = rule("anything", Action::kTag, {cond(Field::kBody, "x*")});
  match::Rule good = rule("fine", Action::kTag, {cond(Field::kPath, "ok")});
  std::vector<match::CompileError> errors;
  EXPECT_EQ(match::Database::compile(Compiled::set_of({bad, good, empty}), &errors), nullptr);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message,
            "rule \"block-admin\": pattern \"a(b\": Missing close parenthesis for group started "
            "at index 1.");
  EXPECT_EQ(errors[0].line, 12u);
  EXPECT_EQ(errors[0].column, 8u);
  EXPECT_EQ(errors[1].message.rfind("rule \"anything\": pattern \"x*\": Pattern matches empty", 0),
            0u) << errors[1].message;
}

TEST(MatchDecide, EmptySetAndFlowOnlySetNeedNoScan) {
  Compiled none(std::vector<match::Rule>{});
  EXPECT_FALSE(none.db->needs_http());
  EXPECT_EQ(none.match("GET", "/").rule, match::kNoRule);
  match::Rule r = rule("p", Action::kSkip, {});
  r.server_port = {{80, 80}};
  Compiled flow_only({r});
  EXPECT_FALSE(flow_only.db->needs_http());
  EXPECT_EQ(flow_only.match("GET", "/").rule, 0);
}

}  // namespace
