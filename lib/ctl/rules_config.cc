/* The [rules] table and the [[rule]] array of the startup file, read into
 * Config::rules (docs/configuration.md, "Rules"). The patterns are
 * compiled here once, so that --check-config names every bad pattern at
 * its line and column; the worker's database is compiled again from the
 * validated RuleSet at start-up or reload. */
#include <algorithm>
#include <cctype>
#include <map>

#include <toml++/toml.h>

#include "ctl/config.h"
#include "ctl/reader.h"
#include "match/match.h"

namespace ctl {

namespace {

using detail::at;
using detail::type_name;

const std::initializer_list<std::pair<std::string_view, match::Action>> kActions = {
    {"record", match::Action::kRecord}, {"skip", match::Action::kSkip},
    {"tag", match::Action::kTag},       {"mirror", match::Action::kMirror},
    {"drop", match::Action::kDrop}};

const std::initializer_list<std::pair<std::string_view, match::Field>> kFields = {
    {"method", match::Field::kMethod}, {"uri", match::Field::kUri},
    {"path", match::Field::kPath},     {"query", match::Field::kQuery},
    {"host", match::Field::kHost},     {"body", match::Field::kBody}};

using RulesReader = detail::Reader;

bool valid_rule_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isalnum((unsigned char)c) || c == '_' || c == '-';
         });
}

bool valid_tag(const std::string& s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
}

/* RFC 9110 §5.6.2 token characters: what a header name may hold. */
bool valid_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum((unsigned char)c) || std::string_view("!#$%&'*+-.^_`|~").find(c) !=
                                                    std::string_view::npos;
  });
}

/* One condition: "regex", { regex = "..." } or { literal = "..." }, with
 * nocase in the table form. */
void read_condition(RulesReader& r, const toml::node& n, const std::string& what,
                    match::Condition cond, match::Rule& rule) {
  const toml::node* pat = &n;
  if (const toml::table* t = n.as_table()) {
    r.only_keys(*t, what, {"regex", "literal", "nocase"});
    r.boolean(*t, "nocase", what + ".nocase", cond.nocase);
    const toml::node* re = t->get("regex");
    const toml::node* lit = t->get("literal");
    if (!re == !lit) {
      r.error(n, what + " needs exactly one of regex = \"...\" or literal = \"...\"");
      return;
    }
    cond.literal = lit != nullptr;
    pat = lit ? lit : re;
  } else if (!n.is_string()) {
    r.error(n, what + " must be a string (a regex) or a table ({ regex = \"...\" } or "
                      "{ literal = \"...\" }), not " + type_name(n.type()));
    return;
  }
  if (!pat->is_string()) {
    r.error(*pat, what + " pattern must be a string, not " + type_name(pat->type()));
    return;
  }
  cond.pattern = pat->as_string()->get();
  const Where w = at(pat->source());
  cond.line = w.line;
  cond.column = w.column;
  if (cond.pattern.empty()) {
    r.error(w, what + " is empty, which would match every message; leave the condition out");
    return;
  }
  rule.conds.push_back(std::move(cond));
}

void read_nets(RulesReader& r, const toml::table& t, std::string_view key, const std::string& what,
               std::vector<match::Net>& out) {
  const toml::node* n = r.typed(t, key, toml::node_type::array, what);
  if (!n) return;
  if (n->as_array()->empty()) r.error(*n, what + " is empty; leave it out to match any address");
  for (const toml::node& e : *n->as_array()) {
    match::Net net;
    std::string why;
    if (!e.is_string())
      r.error(e, what + " must hold only strings (\"10.0.0.0/8\", \"2001:db8::/32\"); this "
                        "element is " + type_name(e.type()));
    else if (!match::parse_net(e.as_string()->get(), &net, &why))
      r.error(e, what + ": " + why);
    else
      out.push_back(net);
  }
}

void read_ports(RulesReader& r, const toml::table& t, const std::string& what,
                std::vector<match::PortRange>& out) {
  const toml::node* n = r.typed(t, "server_port", toml::node_type::array, what);
  if (!n) return;
  if (n->as_array()->empty()) r.error(*n, what + " is empty; leave it out to match any port");
  auto port = [](std::string_view s, uint16_t& p) {
    if (s.empty() || s.size() > 5 || !std::all_of(s.begin(), s.end(), ::isdigit)) return false;
    const unsigned long v = std::stoul(std::string(s));
    p = uint16_t(v);
    return v >= 1 && v <= 65535;
  };
  for (const toml::node& e : *n->as_array()) {
    match::PortRange pr;
    bool ok = false;
    if (const auto* i = e.as_integer()) {
      ok = i->get() >= 1 && i->get() <= 65535;
      pr.lo = pr.hi = uint16_t(i->get());
    } else if (const auto* s = e.as_string()) {
      const std::string_view v = s->get();
      const size_t dash = v.find('-');
      ok = port(v.substr(0, dash), pr.lo) &&
           port(dash == std::string_view::npos ? v : v.substr(dash + 1), pr.hi) && pr.lo <= pr.hi;
    }
    if (ok)
      out.push_back(pr);
    else
      r.error(e, what + " must hold ports 1 to 65535 (80) or ranges (\"8000-8099\", low to "
                        "high); this element is not one");
  }
}

void read_rule(RulesReader& r, const toml::table& t, size_t i, const Config& c,
               std::map<std::string, Where>& names, match::Rule& rule) {
  const Where table_at = at(t.source());
  rule.line = table_at.line;
  rule.column = table_at.column;
  r.only_keys(t, "[[rule]]", {"name", "action", "tag", "reject", "match", "method", "uri", "path",
                              "query", "host", "headers", "body", "client", "server",
                              "server_port"});
  std::string ctx = "rule[" + std::to_string(i) + "]";
  if (!r.string(t, "name", ctx + ".name", rule.name)) {
    if (!t.get("name"))
      r.error(table_at, ctx + " needs a name (letters, digits, '_' or '-'), used in counters");
  } else if (!valid_rule_name(rule.name)) {
    r.error(*t.get("name"), ctx + ".name = \"" + rule.name +
                                "\" must be 1-64 letters, digits, '_' or '-'");
  } else {
    const Where w = at(t.get("name")->source());
    auto [it, fresh] = names.emplace(rule.name, w);
    if (!fresh)
      r.error(w, "rule name \"" + rule.name + "\" is used twice (first at line " +
                     std::to_string(it->second.line) + "); names must be unique");
    ctx = "rule \"" + rule.name + "\"";
  }

  if (!r.choice<match::Action>(t, "action", ctx + ": action", kActions, rule.action) &&
      !t.get("action"))
    r.error(table_at, ctx + " needs an action: \"record\", \"skip\", \"tag\", \"mirror\" or "
                            "\"drop\"");
  const bool has_action = t.get("action") != nullptr;
  if (rule.action == match::Action::kDrop && c.mode != Mode::kInline)
    r.error(*t.get("action"), ctx + ": action = \"drop\" needs mode = \"inline\"; mode = \"" +
                                  mode_name(c.mode) + "\" relays nothing, so there is nothing "
                                  "to drop");
  if (r.string(t, "tag", ctx + ": tag", rule.tag)) {
    if (rule.action != match::Action::kTag && has_action)
      r.error(*t.get("tag"), ctx + ": tag is only used with action = \"tag\"");
    else if (!valid_tag(rule.tag))
      r.error(*t.get("tag"), ctx + ": tag must be 1-64 printable ASCII characters");
  } else if (rule.action == match::Action::kTag && !t.get("tag")) {
    r.error(*t.get("action"), ctx + ": action = \"tag\" needs tag = \"...\": the label "
                                    "exported with the message");
  }
  if (r.boolean(t, "reject", ctx + ": reject", rule.reject) && rule.reject &&
      rule.action != match::Action::kDrop && has_action)
    r.error(*t.get("reject"), ctx + ": reject = true is only used with action = \"drop\"");
  r.choice<bool>(t, "match", ctx + ": match", {{"all", false}, {"any", true}}, rule.any_of);

  for (auto& [key, field] : kFields)
    if (const toml::node* n = t.get(key)) {
      match::Condition cond;
      cond.field = field;
      // Methods are case-sensitive tokens and host names case-insensitive,
      // but operators write "get" and "Example.COM": both ignore case unless
      // told not to.
      cond.nocase = field == match::Field::kMethod || field == match::Field::kHost;
      read_condition(r, *n, ctx + ": " + std::string(key), cond, rule);
    }
  if (const toml::node* n = r.typed(t, "headers", toml::node_type::table, ctx + ": headers"))
    for (auto&& [k, v] : *n->as_table()) {
      const std::string what = ctx + ": headers.\"" + std::string(k.str()) + "\"";
      if (!valid_header_name(k.str())) {
        r.error(at(k.source()), what + " is not a header name (RFC 9110 token characters)");
        continue;
      }
      match::Condition cond;
      cond.field = match::Field::kHeader;
      cond.header = k.str();
      std::transform(cond.header.begin(), cond.header.end(), cond.header.begin(),
                     [](unsigned char ch) { return char(std::tolower(ch)); });
      read_condition(r, v, what, cond, rule);
    }
  read_nets(r, t, "client", ctx + ": client", rule.client);
  read_nets(r, t, "server", ctx + ": server", rule.server);
  read_ports(r, t, ctx + ": server_port", rule.server_port);

  const bool http = std::any_of(kFields.begin(), kFields.end(),
                                [&](auto& f) { return t.get(f.first) != nullptr; }) ||
                    t.get("headers");
  if (!http && !t.get("client") && !t.get("server") && !t.get("server_port"))
    r.error(table_at, ctx + " has no condition; give at least one of method, uri, path, query, "
                            "host, headers, body, client, server, server_port");
  if (http && !c.http.enabled)
    r.error(table_at, ctx + " has HTTP conditions, but http.enabled = false frames no messages");
  if ((t.get("headers") || t.get("body")) && c.http.capture_bytes == 0)
    r.error(table_at, ctx + " has headers or body conditions, which read the captured message, "
                            "but http.capture_bytes = 0 captures none");
}

}  // namespace

/* Called by parse_config once [worker] and [http] are read. */
void read_rules(const toml::table& root, Config& c, std::vector<ConfigError>& errs) {
  RulesReader r(c.file, errs);
  match::RuleSet& set = c.rules;
  Where default_at{1, 1};
  if (const toml::node* n = r.typed(root, "rules", toml::node_type::table, "[rules]")) {
    const toml::table& t = *n->as_table();
    default_at = at(t.source());
    r.only_keys(t, "[rules]", {"default", "body_prefix_bytes", "tag"});
    if (const toml::node* d = t.get("default")) default_at = at(d->source());
    r.choice<match::Action>(t, "default", "rules.default",
                            {{"record", match::Action::kRecord}, {"skip", match::Action::kSkip},
                             {"tag", match::Action::kTag}, {"mirror", match::Action::kMirror}},
                            set.default_action);
    if (const toml::node* b = r.typed(t, "body_prefix_bytes", toml::node_type::integer,
                                      "rules.body_prefix_bytes")) {
      const int64_t v = b->as_integer()->get();
      if (v < 1 || v > 65536)
        r.error(*b, "rules.body_prefix_bytes = " + std::to_string(v) +
                        " is out of range; allowed: 1 to 65536");
      else
        set.body_prefix_bytes = uint32_t(v);
    }
    if (r.string(t, "tag", "rules.tag", set.default_tag)) {
      if (set.default_action != match::Action::kTag)
        r.error(*t.get("tag"), "rules.tag is only used with default = \"tag\"");
      else if (!valid_tag(set.default_tag))
        r.error(*t.get("tag"), "rules.tag must be 1-64 printable ASCII characters");
    }
  }
  if (set.default_action == match::Action::kTag && set.default_tag.empty())
    r.error(default_at, "rules.default = \"tag\" needs rules.tag: the label for messages no "
                        "rule matches");

  if (const toml::node* n = root.get("rule")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) {
      r.error(*n, "rule must be an array of tables ([[rule]])");
      return;
    }
    std::map<std::string, Where> names;
    for (size_t i = 0; i < a->size(); i++) {
      set.rules.emplace_back();
      read_rule(r, *a->get(i)->as_table(), i, c, names, set.rules.back());
    }
    if (!c.inspect && !a->empty())
      r.error(at(n->source()), "rules need worker.inspect = true: with inspect = false no "
                               "connection is followed");
  }

  if (set.rules.empty()) return;
  std::vector<match::CompileError> bad;
  match::Database::compile(set, &bad);
  for (auto& e : bad) r.error(Where{e.line, e.column}, std::move(e.message));
}

}  // namespace ctl
