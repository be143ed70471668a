// Small builders for the match tests: rules written in one line each, a
// compiled set with one worker's scratch and counters, and flows.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "match/match.h"

namespace match_test {

using match::Action;
using match::Field;

inline match::Condition cond(Field f, std::string pattern, bool literal = false,
                             bool nocase = false) {
  match::Condition c;
  c.field = f;
  c.pattern = std::move(pattern);
  c.literal = literal;
  c.nocase = nocase;
  return c;
}

inline match::Condition header(std::string name, std::string pattern, bool literal = false) {
  match::Condition c = cond(Field::kHeader, std::move(pattern), literal);
  c.header = std::move(name);
  return c;
}

inline match::Rule rule(std::string name, Action a, std::vector<match::Condition> conds,
                        bool any_of = false) {
  match::Rule r;
  r.name = std::move(name);
  r.action = a;
  r.conds = std::move(conds);
  r.any_of = any_of;
  if (a == Action::kTag) r.tag = r.name;
  return r;
}

inline match::Net net(const char* s) {
  match::Net n;
  std::string why;
  EXPECT_TRUE(match::parse_net(s, &n, &why)) << s << ": " << why;
  return n;
}

inline match::FlowView flow(const char* client, const char* server, uint16_t server_port = 80) {
  match::FlowView f;
  const bool v6 = std::string(client).find(':') != std::string::npos;
  f.version = v6 ? 6 : 4;
  EXPECT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, client, f.client_ip), 1) << client;
  EXPECT_EQ(inet_pton(v6 ? AF_INET6 : AF_INET, server, f.server_ip), 1) << server;
  f.client_port = 40000;
  f.server_port = server_port;
  return f;
}

/* A compiled set as one worker holds it. */
struct Compiled {
  explicit Compiled(const match::RuleSet& set) {
    std::vector<match::CompileError> errors;
    db = match::Database::compile(set, &errors);
    for (const auto& e : errors) ADD_FAILURE() << e.message;
    if (!db) throw std::runtime_error("rules did not compile");
    scratch = std::make_unique<match::Scratch>(*db);
    counters = std::make_unique<match::Counters>(set.rules.size());
  }
  explicit Compiled(std::vector<match::Rule> rules) : Compiled(set_of(std::move(rules))) {}

  static match::RuleSet set_of(std::vector<match::Rule> rules) {
    match::RuleSet s;
    s.rules = std::move(rules);
    return s;
  }

  match::Result match(std::string_view method, std::string_view uri, std::string_view host = "",
                      std::string_view raw = "",
                      const match::FlowView& f = flow("10.0.0.1", "10.0.0.2")) {
    return db->match(*scratch, f, {method, uri, host, raw}, counters.get());
  }
  /* A request whose raw bytes carry `headers` (lines ending in \r\n) and `body`. */
  match::Result request(std::string_view headers, std::string_view body = "") {
    raw_ = "GET / HTTP/1.1\r\n" + std::string(headers) + "\r\n" + std::string(body);
    return match("GET", "/", "", raw_);
  }

  std::unique_ptr<match::Database> db;
  std::unique_ptr<match::Scratch> scratch;
  std::unique_ptr<match::Counters> counters;
  std::string raw_;
};

}  // namespace match_test
