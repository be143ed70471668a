#include "match/match.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <hs.h>

namespace match {

const char* action_name(Action a) noexcept {
  switch (a) {
    case Action::kRecord: return "record";
    case Action::kSkip: return "skip";
    case Action::kTag: return "tag";
    case Action::kMirror: return "mirror";
    case Action::kDrop: return "drop";
  }
  return "?";
}

const char* field_name(Field f) noexcept {
  switch (f) {
    case Field::kMethod: return "method";
    case Field::kUri: return "uri";
    case Field::kPath: return "path";
    case Field::kQuery: return "query";
    case Field::kHost: return "host";
    case Field::kHeader: return "headers";
    case Field::kBody: return "body";
  }
  return "?";
}

bool parse_net(std::string_view s, Net* out, std::string* why) {
  const size_t slash = s.find('/');
  const std::string ip(s.substr(0, slash));
  Net n;
  n.version = ip.find(':') == std::string::npos ? 4 : 6;
  if (inet_pton(n.version == 4 ? AF_INET : AF_INET6, ip.c_str(), n.addr) != 1) {
    *why = "\"" + ip + "\" is not an IPv4 or IPv6 address";
    return false;
  }
  const unsigned max = n.version == 4 ? 32 : 128;
  n.prefix = uint8_t(max);
  if (slash != std::string_view::npos) {
    const std::string_view p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), ::isdigit) ||
        std::stoul(std::string(p)) > max) {
      *why = "prefix length \"/" + std::string(p) + "\" must be 0 to " + std::to_string(max);
      return false;
    }
    n.prefix = uint8_t(std::stoul(std::string(p)));
  }
  for (unsigned b = n.prefix; b < max; b++)
    if (n.addr[b / 8] & (0x80 >> (b % 8))) {
      *why = "\"" + std::string(s) + "\" has address bits set past its /" +
             std::to_string(n.prefix) + " prefix";
      return false;
    }
  *out = n;
  return true;
}

RawParts split_raw(std::string_view raw) noexcept {
  RawParts p;
  const size_t start_end = raw.find('\n');
  if (start_end == std::string_view::npos) return p;
  const size_t first = start_end + 1;
  size_t pos = first;
  for (size_t eol; (eol = raw.find('\n', pos)) != std::string_view::npos; pos = eol + 1) {
    if (eol == pos || (eol == pos + 1 && raw[pos] == '\r')) {
      p.headers = raw.substr(first, pos - first);
      p.body = raw.substr(eol + 1);
      return p;
    }
  }
  p.headers = raw.substr(first, pos - first);  // cut: complete lines only
  return p;
}

static std::string_view trim(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool HeaderCursor::next(std::string_view* name, std::string_view* value) noexcept {
  while (!rest_.empty()) {
    const size_t eol = rest_.find('\n');
    std::string_view line = rest_.substr(0, eol);
    rest_.remove_prefix(eol == std::string_view::npos ? rest_.size() : eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {  // obs-fold: more of the previous value
      if (name_.empty()) continue;
    } else {
      const size_t colon = line.find(':');
      name_ = {};
      if (colon == std::string_view::npos || colon == 0 || line[colon - 1] == ' ' ||
          line[colon - 1] == '\t')
        continue;
      name_ = line.substr(0, colon);
      line.remove_prefix(colon + 1);
    }
    *name = name_;
    *value = trim(line);
    return true;
  }
  return false;
}

namespace {

struct HsFree {
  void operator()(hs_database_t* d) const noexcept { hs_free_database(d); }
  void operator()(hs_compile_error_t* e) const noexcept { hs_free_compile_error(e); }
};

/* A literal as a regex: every byte but letters and digits as \xHH, so
 * that literals share their field's database with the regexes. */
std::string escape_literal(const std::string& lit) {
  std::string out;
  for (unsigned char ch : lit) {
    if ((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z')) {
      out += char(ch);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", ch);
      out += hex;
    }
  }
  return out;
}

int on_match(unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) {
  static_cast<uint64_t*>(ctx)[id / 64] |= uint64_t(1) << (id % 64);
  return 0;
}

/* The path and query of a request target (RFC 9112 §3.2): origin-form
 * "/p?q", or absolute-form "http://host/p?q" whose scheme and authority
 * are not part of the path. */
void split_uri(std::string_view uri, std::string_view* path, std::string_view* query) noexcept {
  const size_t scheme = uri.find("://");
  if (scheme != std::string_view::npos && uri.find_first_of("/?") > scheme) {
    const size_t slash = uri.find_first_of("/?", scheme + 3);
    uri = slash == std::string_view::npos ? std::string_view() : uri.substr(slash);
  }
  const size_t q = uri.find('?');
  *path = uri.substr(0, q);
  *query = q == std::string_view::npos ? std::string_view() : uri.substr(q + 1);
}

char lower(char ch) noexcept { return ch >= 'A' && ch <= 'Z' ? char(ch | 0x20) : ch; }

bool in_nets(const std::vector<Net>& nets, uint8_t version, const uint8_t* ip) noexcept {
  if (nets.empty()) return true;
  for (const Net& n : nets) {
    if (n.version != version) continue;
    const unsigned full = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(n.addr, ip, full) != 0) continue;
    if (rest && ((n.addr[full] ^ ip[full]) & uint8_t(0xFF00 >> rest))) continue;
    return true;
  }
  return false;
}

bool flow_ok(const Rule& r, const FlowView& f) noexcept {
  if (!in_nets(r.client, f.version, f.client_ip) || !in_nets(r.server, f.version, f.server_ip))
    return false;
  if (r.server_port.empty()) return true;
  for (const PortRange& p : r.server_port)
    if (f.server_port >= p.lo && f.server_port <= p.hi) return true;
  return false;
}

/* One pattern waiting to be compiled into its Sub. */
struct Pending {
  std::string expr;
  unsigned flags;
  unsigned id;
  const Rule* rule;
  const Condition* cond;
};

}  // namespace

struct Database::Sub {
  std::unique_ptr<hs_database_t, HsFree> db;
  std::string header;  // lower-case header name; empty for the other fields
};

static std::string pattern_error(const RuleSet& set, const Rule& r, const Condition& c,
                                 const std::string& why) {
  const std::string rule = r.name.empty() ? "rule[" + std::to_string(&r - set.rules.data()) + "]"
                                          : "rule \"" + r.name + "\"";
  return rule + ": pattern \"" + c.pattern + "\": " + why;
}

/* Compiles one field's patterns. A bad pattern is reported and left out,
 * and the rest compiled again, so that every bad pattern is named at once
 * (Hyperscan stops at the first). */
static hs_database_t* compile_sub(const RuleSet& set, std::vector<Pending>& pats,
                                  std::vector<CompileError>* errors) {
  for (;;) {
    if (pats.empty()) return nullptr;
    std::vector<const char*> exprs;
    std::vector<unsigned> flags, ids;
    for (const Pending& p : pats) {
      exprs.push_back(p.expr.c_str());
      flags.push_back(p.flags);
      ids.push_back(p.id);
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* raw_err = nullptr;
    if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), unsigned(pats.size()),
                         HS_MODE_BLOCK, nullptr, &db, &raw_err) == HS_SUCCESS)
      return db;
    std::unique_ptr<hs_compile_error_t, HsFree> err(raw_err);
    const int bad = err ? err->expression : -1;
    const std::string why = err && err->message ? err->message : "Hyperscan failed";
    if (bad < 0 || size_t(bad) >= pats.size()) {
      errors->push_back({0, 0, "the rules do not compile together: " + why});
      return nullptr;
    }
    const Pending& p = pats[size_t(bad)];
    errors->push_back({p.cond->line, p.cond->column, pattern_error(set, *p.rule, *p.cond, why)});
    pats.erase(pats.begin() + bad);
  }
}

Database::Database() = default;
Database::~Database() = default;

std::unique_ptr<Database> Database::compile(const RuleSet& set,
                                            std::vector<CompileError>* errors) {
  std::unique_ptr<Database> d(new Database);
  d->set_ = set;
  std::fill(std::begin(d->field_sub_), std::end(d->field_sub_), -1);
  auto tag_id = [&](const std::string& tag) -> uint16_t {
    if (tag.empty()) return 0;
    auto it = std::find(d->tags_.begin(), d->tags_.end(), tag);
    if (it != d->tags_.end()) return uint16_t(it - d->tags_.begin() + 1);
    d->tags_.push_back(tag);
    return uint16_t(d->tags_.size());
  };
  if (set.default_action == Action::kTag) d->default_tag_id_ = tag_id(set.default_tag);

  std::vector<std::vector<Pending>> pending;
  const size_t n_errors = errors->size();
  for (const Rule& r : d->set_.rules) {
    d->first_cond_.push_back(uint32_t(d->n_conds_));
    d->tag_ids_.push_back(r.action == Action::kTag ? tag_id(r.tag) : 0);
    if (r.conds.empty()) d->has_flow_only_ = true;
    for (const Condition& c : r.conds) {
      d->needs_http_ = true;
      d->needs_raw_ |= c.field == Field::kHeader || c.field == Field::kBody;
      int sub = c.field == Field::kHeader ? -1 : d->field_sub_[size_t(c.field)];
      if (c.field == Field::kHeader)
        for (size_t i = 0; i < d->subs_.size(); i++)
          if (d->subs_[i].header == c.header) sub = int(i);
      if (sub < 0) {
        sub = int(d->subs_.size());
        d->subs_.push_back({nullptr, c.field == Field::kHeader ? c.header : std::string()});
        pending.emplace_back();
        if (c.field != Field::kHeader) d->field_sub_[size_t(c.field)] = sub;
      }
      const unsigned id = unsigned(d->n_conds_++);
      if (!c.literal && c.pattern.find('\0') != std::string::npos) {
        const std::string why = "contains a NUL byte; write \\x00 instead";
        errors->push_back({c.line, c.column, pattern_error(d->set_, r, c, why)});
        continue;
      }
      const unsigned flags = HS_FLAG_SINGLEMATCH | (c.nocase ? HS_FLAG_CASELESS : 0);
      pending[size_t(sub)].push_back(
          {c.literal ? escape_literal(c.pattern) : c.pattern, flags, id, &r, &c});
    }
  }
  d->first_cond_.push_back(uint32_t(d->n_conds_));
  for (size_t i = 0; i < d->subs_.size(); i++)
    d->subs_[i].db.reset(compile_sub(d->set_, pending[i], errors));
  if (errors->size() != n_errors) return nullptr;
  return d;
}

Scratch::Scratch(const Database& db, hs_scratch* s)
    : db_(db), hs_(s), bits_((db.n_conds_ + 63) / 64) {}

Scratch::Scratch(const Database& db) : Scratch(db, nullptr) {
  for (const auto& sub : db.subs_)
    if (hs_alloc_scratch(sub.db.get(), &hs_) != HS_SUCCESS)  // ~Scratch frees hs_
      throw std::runtime_error("cannot allocate Hyperscan scratch space for the rules");
}

Scratch::~Scratch() {
  if (hs_) hs_free_scratch(hs_);
}

std::unique_ptr<Scratch> Scratch::clone() const {
  hs_scratch_t* s = nullptr;
  if (hs_ && hs_clone_scratch(hs_, &s) != HS_SUCCESS)
    throw std::runtime_error("cannot clone Hyperscan scratch space for the rules");
  return std::unique_ptr<Scratch>(new Scratch(db_, s));
}

bool Database::scan(const Sub& sub, std::string_view data, Scratch& s) const noexcept {
  if (data.empty()) return true;
  return hs_scan(sub.db.get(), data.data(), unsigned(data.size()), 0, s.hs_, on_match,
                 s.bits_.data()) == HS_SUCCESS;
}

Result Database::decide(int rule, Counters* c) const noexcept {
  Result res;
  res.rule = rule;
  if (rule >= 0) {
    const Rule& r = set_.rules[size_t(rule)];
    res.action = r.action;
    res.reject = r.reject;
    res.tag_id = tag_ids_[size_t(rule)];
  } else {
    res.action = set_.default_action;
    res.tag_id = default_tag_id_;
  }
  if (res.tag_id) res.tag = &tags_[res.tag_id - 1u];
  if (c) {
    if (rule >= 0) c->hits[size_t(rule)].add(1);
    c->actions[size_t(res.action)].add(1);
  }
  return res;
}

Result Database::match(Scratch& s, const FlowView& f, const MessageView& m,
                       Counters* c) const noexcept {
  bool ok = &s.db_ == this;  // a scratch made for another (older) set
  std::fill(s.bits_.begin(), s.bits_.end(), 0);
  if (ok && needs_http_) {
    auto field = [&](Field fl, std::string_view data) {
      const int sub = field_sub_[size_t(fl)];
      if (sub >= 0) ok &= scan(subs_[size_t(sub)], data, s);
    };
    std::string_view path, query;
    split_uri(m.uri, &path, &query);
    field(Field::kMethod, m.method);
    field(Field::kUri, m.uri);
    field(Field::kPath, path);
    field(Field::kQuery, query);
    field(Field::kHost, m.host);
    if (needs_raw_) {
      const RawParts raw = split_raw(m.raw);
      field(Field::kBody, raw.body.substr(0, set_.body_prefix_bytes));
      HeaderCursor hc(raw.headers);
      for (std::string_view name, value; hc.next(&name, &value);)
        for (const Sub& sub : subs_)
          if (sub.header.size() == name.size() &&
              std::equal(name.begin(), name.end(), sub.header.begin(),
                         [](char a, char b) { return lower(a) == b; }))
            ok &= scan(sub, value, s);
    }
  }
  if (!ok) {
    if (c) c->scan_errors.add(1);
    return decide(kNoRule, c);
  }
  const uint64_t* bits = s.bits_.data();
  auto hit = [bits](uint32_t id) { return uint32_t(bits[id / 64] >> (id % 64)) & 1; };
  for (size_t i = 0; i < set_.rules.size(); i++) {
    const Rule& r = set_.rules[i];
    if (!flow_ok(r, f)) continue;
    const uint32_t a = first_cond_[i], b = first_cond_[i + 1];
    uint32_t n = 0;
    for (uint32_t id = a; id < b; id++) n += hit(id);
    if (r.any_of ? n > 0 || a == b : n == b - a) return decide(int(i), c);
  }
  return decide(kNoRule, c);
}

Result Database::match_flow(const FlowView& f, Counters* c) const noexcept {
  for (size_t i = 0; i < set_.rules.size(); i++) {
    if (!flow_ok(set_.rules[i], f)) continue;
    if (first_cond_[i + 1] != first_cond_[i]) {
      Result undecided;
      undecided.rule = kUndecided;
      return undecided;
    }
    return decide(int(i), c);
  }
  return decide(kNoRule, c);
}

}  // namespace match
