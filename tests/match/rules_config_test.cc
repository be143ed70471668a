// [rules] and [[rule]] in the startup file: what a good file becomes, and
// each rejection at its line and column.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "ctl/config.h"

namespace {

using match::Action;
using match::Field;

// `rules` goes right after the mode line, so its line N is the file's line
// N + 1; the ports follow it.
std::string config(const std::string& rules, const std::string& mode = "inline") {
  std::string s = "mode = \"" + mode + "\"\n" + rules + "\n";
  s += "[eal]\nlcores = \"0-2\"\nmemory = \"no-huge\"\n";
  s += "[[ports]]\nname = \"west\"\ndevice = \"net_af_packet0,iface=a\"\n";
  if (mode == "inline")
    s += "[[ports]]\nname = \"east\"\ndevice = \"net_af_packet1,iface=b\"\n"
         "[[pairs]]\na = \"west\"\nb = \"east\"\n";
  return s;
}

std::vector<ctl::ConfigError> errors_of(const std::string& text) {
  try {
    ctl::parse_config(text, "r.toml");
  } catch (const ctl::ConfigErrors& e) {
    return e.errors;
  }
  ADD_FAILURE() << "config was accepted:\n" << text;
  return {};
}

// Exactly one error, at rules-text line `line` (1-based) and `col`.
void expect_one(const std::string& rules, uint32_t line, uint32_t col, const std::string& needle,
                const std::string& mode = "inline") {
  const auto e = errors_of(config(rules, mode));
  std::string all;
  for (const auto& x : e) all += x.str() + "\n";
  ASSERT_EQ(e.size(), 1u) << all;
  EXPECT_EQ(e[0].at.line, line + 1) << e[0].str();
  EXPECT_EQ(e[0].at.column, col) << e[0].str();
  EXPECT_NE(e[0].message.find(needle), std::string::npos) << e[0].str();
}

const char kRules[] = R"([rules]
default = "tag"
tag = "other"
body_prefix_bytes = 512

[[rule]]
name = "block-admin"
action = "drop"
reject = true
path = "^/admin"
method = { literal = "POST" }
headers = { "User-Agent" = { regex = "curl", nocase = true }, cookie = "session=" }
client = ["10.0.0.0/8", "2001:db8::/32"]
server_port = [80, "8000-8099"]
match = "any"

[[rule]]
name = "tag_api"
action = "tag"
tag = "api"
host = "^api\\."
uri = { literal = "/v1/", nocase = false }
body = "\"debug\":true"
server = ["192.0.2.1"]
)";

TEST(RulesConfig, GoodFileBecomesTheRuleSet) {
  const ctl::Config c = ctl::parse_config(config(kRules), "r.toml");
  const match::RuleSet& s = c.rules;
  EXPECT_EQ(s.default_action, Action::kTag);
  EXPECT_EQ(s.default_tag, "other");
  EXPECT_EQ(s.body_prefix_bytes, 512u);
  ASSERT_EQ(s.rules.size(), 2u);

  const match::Rule& a = s.rules[0];
  EXPECT_EQ(a.name, "block-admin");
  EXPECT_EQ(a.action, Action::kDrop);
  EXPECT_TRUE(a.reject);
  EXPECT_TRUE(a.any_of);
  EXPECT_EQ(a.line, 7u);
  ASSERT_EQ(a.conds.size(), 4u);  // method, path, then headers
  EXPECT_EQ(a.conds[0].field, Field::kMethod);
  EXPECT_TRUE(a.conds[0].literal);
  EXPECT_TRUE(a.conds[0].nocase);  // methods ignore case by default
  EXPECT_EQ(a.conds[1].field, Field::kPath);
  EXPECT_FALSE(a.conds[1].nocase);
  EXPECT_EQ(a.conds[1].line, 11u);
  EXPECT_EQ(a.conds[1].column, 8u);
  EXPECT_EQ(a.conds[2].field, Field::kHeader);
  EXPECT_EQ(a.conds[2].header, "user-agent");
  EXPECT_TRUE(a.conds[2].nocase);
  EXPECT_EQ(a.conds[3].header, "cookie");
  ASSERT_EQ(a.client.size(), 2u);
  EXPECT_EQ(a.client[1].version, 6);
  EXPECT_EQ(a.client[1].prefix, 32);
  ASSERT_EQ(a.server_port.size(), 2u);
  EXPECT_EQ(a.server_port[1].lo, 8000);
  EXPECT_EQ(a.server_port[1].hi, 8099);

  const match::Rule& b = s.rules[1];
  EXPECT_EQ(b.tag, "api");
  EXPECT_FALSE(b.any_of);
  ASSERT_EQ(b.conds.size(), 3u);  // uri, host, body
  EXPECT_EQ(b.conds[0].field, Field::kUri);
  EXPECT_FALSE(b.conds[0].nocase);
  EXPECT_EQ(b.conds[1].field, Field::kHost);
  EXPECT_TRUE(b.conds[1].nocase);  // host names ignore case by default
  EXPECT_EQ(b.conds[2].pattern, "\"debug\":true");
  ASSERT_EQ(b.server.size(), 1u);
  EXPECT_EQ(b.server[0].prefix, 32);

  // The set compiles and behaves as written.
  std::vector<match::CompileError> errors;
  auto db = match::Database::compile(s, &errors);
  ASSERT_NE(db, nullptr);
  match::Scratch scratch(*db);
  match::FlowView f;
  f.server_port = 8080;
  f.client_ip[0] = 10;
  const std::string raw = "GET /x HTTP/1.1\r\nuser-agent: CURL/8\r\n\r\n";
  EXPECT_EQ(db->match(scratch, f, {"GET", "/x", "", raw}, nullptr).rule, 0);
  EXPECT_EQ(db->match(scratch, f, {"post", "/x", "", ""}, nullptr).rule, 0);
  const match::Result none = db->match(scratch, f, {"GET", "/x", "", ""}, nullptr);
  EXPECT_EQ(none.rule, match::kNoRule);
  EXPECT_EQ(*none.tag, "other");
}

TEST(RulesConfig, NoRulesIsTheDefaultRecord) {
  const ctl::Config c = ctl::parse_config(config(""), "r.toml");
  EXPECT_TRUE(c.rules.rules.empty());
  EXPECT_EQ(c.rules.default_action, Action::kRecord);
  EXPECT_EQ(c.rules.body_prefix_bytes, 1024u);
}

TEST(RulesConfig, RejectsUnknownKeys) {
  expect_one("[rules]\nfile = \"x\"\n", 2, 1,
             "unknown key 'file' in [rules]; allowed keys are: default, body_prefix_bytes, tag");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nurl = \"/x\"\npath = \"/x\"\n", 4, 1,
             "unknown key 'url' in [[rule]]; allowed keys are: name, action");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = { regex = \"/x\", case = 1 }\n",
             4, 24,
             "unknown key 'case' in rule \"a\": path; allowed keys are: regex, literal, nocase");
}

TEST(RulesConfig, RejectsMissingAndDuplicateNames) {
  expect_one("[[rule]]\naction = \"skip\"\npath = \"/x\"\n", 1, 1, "rule[0] needs a name");
  expect_one("[[rule]]\nname = \"a b\"\naction = \"skip\"\npath = \"/x\"\n", 2, 8,
             "rule[0].name = \"a b\" must be 1-64 letters, digits, '_' or '-'");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = \"/x\"\n"
             "[[rule]]\nname = \"a\"\naction = \"record\"\npath = \"/y\"\n",
             6, 8, "rule name \"a\" is used twice (first at line 3); names must be unique");
}

TEST(RulesConfig, RejectsActionsOutOfPlace) {
  expect_one("[[rule]]\nname = \"a\"\npath = \"/x\"\n", 1, 1, "rule \"a\" needs an action");
  expect_one("[[rule]]\nname = \"a\"\naction = \"block\"\npath = \"/x\"\n", 3, 10,
             "rule \"a\": action = \"block\" is not one of \"record\", \"skip\"");
  expect_one("[[rule]]\nname = \"a\"\naction = \"drop\"\npath = \"/x\"\n", 3, 10,
             "rule \"a\": action = \"drop\" needs mode = \"inline\"", "passive");
  expect_one("[[rule]]\nname = \"a\"\naction = \"tag\"\npath = \"/x\"\n", 3, 10,
             "rule \"a\": action = \"tag\" needs tag = \"...\"");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\ntag = \"t\"\npath = \"/x\"\n", 4, 7,
             "rule \"a\": tag is only used with action = \"tag\"");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nreject = true\npath = \"/x\"\n", 4, 10,
             "rule \"a\": reject = true is only used with action = \"drop\"");
  expect_one("[rules]\ndefault = \"drop\"\n", 2, 11, "rules.default = \"drop\" is not one of");
  expect_one("[rules]\ndefault = \"tag\"\n", 2, 11, "rules.default = \"tag\" needs rules.tag");
}

TEST(RulesConfig, RejectsRulesWithoutConditionsOrWithBadOnes) {
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\n", 1, 1, "rule \"a\" has no condition");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = \"\"\n", 4, 8,
             "rule \"a\": path is empty");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\n"
             "path = { regex = \"x\", literal = \"y\" }\n",
             4, 8, "needs exactly one of regex");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nbody = 3\n", 4, 8,
             "rule \"a\": body must be a string (a regex) or a table");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nheaders = { \"bad name\" = \"x\" }\n",
             4, 13,
             "rule \"a\": headers.\"bad name\" is not a header name");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\n"
             "client = [\"10.0.0.0/8\", \"10.1.0.0/8\"]\n",
             4, 25, "rule \"a\": client: \"10.1.0.0/8\" has address bits set past its /8 prefix");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nserver_port = [80, \"90-85\"]\n", 4, 20,
             "rule \"a\": server_port must hold ports 1 to 65535");
}

TEST(RulesConfig, BadRegexIsReportedAtThePattern) {
  expect_one("[[rule]]\nname = \"block-admin\"\naction = \"drop\"\n"
             "path = { regex = \"a(b\" }\n",
             4, 18,
             "rule \"block-admin\": pattern \"a(b\": Missing close parenthesis for group started "
             "at index 1.");
}

TEST(RulesConfig, ErrorsAccumulate) {
  const auto e = errors_of(config("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = \"(\"\n"
                                  "[[rule]]\naction = \"drop\"\nbody = \"[\"\n",
                                  "passive"));
  ASSERT_EQ(e.size(), 4u);  // missing name, drop in passive mode, two bad regexes
  EXPECT_NE(e[0].message.find("rule[1] needs a name"), std::string::npos) << e[0].str();
  EXPECT_NE(e[1].message.find("needs mode = \"inline\""), std::string::npos) << e[1].str();
  EXPECT_EQ(e[2].at.line, 5u) << e[2].str();
  EXPECT_EQ(e[3].at.line, 8u) << e[3].str();
}

TEST(RulesConfig, RejectsRulesThePipelineCannotRun) {
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\nheaders = { host = \"x\" }\n"
             "[http]\ncapture_bytes = 0\n",
             1, 1, "http.capture_bytes = 0 captures none");
  expect_one("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = \"x\"\n[http]\nenabled = false\n",
             1, 1, "http.enabled = false");
  expect_one("[worker]\ninspect = false\n[[rule]]\nname = \"a\"\naction = \"skip\"\n"
             "server_port = [80]\n",
             3, 1, "rules need worker.inspect = true");
}

TEST(RulesConfig, ReloadReadsTheFileAgain) {
  const std::string path = ::testing::TempDir() + "loom_rules_reload.toml";
  {
    std::ofstream(path) << config("[[rule]]\nname = \"a\"\naction = \"skip\"\npath = \"/a\"\n");
  }
  EXPECT_EQ(ctl::load_config(path).rules.rules.at(0).name, "a");
  {
    std::ofstream(path) << config("[[rule]]\nname = \"b\"\naction = \"skip\"\npath = \"(\"\n");
  }
  try {
    ctl::load_config(path);
    ADD_FAILURE() << "a bad set was accepted";
  } catch (const ctl::ConfigErrors& e) {
    ASSERT_EQ(e.errors.size(), 1u);
    EXPECT_EQ(e.errors[0].str().rfind(path + ":5:8: rule \"b\": pattern \"(\"", 0), 0u)
        << e.errors[0].str();
  }
  std::remove(path.c_str());
}

}  // namespace
