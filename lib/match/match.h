/* match: operator rules, compiled once into Hyperscan, matched per message
 * and per connection.
 *
 * A rule is a name, conditions and an action. HTTP conditions put a regex
 * or a literal on one field of a message (method, URI, path, query, Host,
 * a named header, a bounded prefix of the body) and combine as "all of" or
 * "any of"; flow conditions (client and server networks, server ports) are
 * always all required. The first rule in file order that matches decides,
 * as in a firewall, so an operator reads the file top-down; when none
 * does, the set's default action applies.
 *
 * Compilation turns every pattern into one Hyperscan block-mode database
 * per field (and one per header name) instead of one regex per rule: a
 * message costs one scan per field present, whatever the number of rules.
 * Pattern ids are condition indexes; a scan only sets bits in the
 * scratch's condition bitmap, and the rules are then evaluated in order
 * over that bitmap. Literals are escaped into regexes so that a field has
 * one database. Patterns that could match an empty field are refused, as
 * Hyperscan refuses them; an absent or empty field never matches.
 *
 * Flow conditions can be decided from the 5-tuple alone: match_flow()
 * tells at connection start whether a rule already decides every message
 * of the connection (so the stage can drop, mirror or skip it before any
 * HTTP work), or whether messages must be matched one by one.
 *
 * Threads and memory: compile() runs on the control path and allocates
 * freely; the Database is then immutable and shared read-only by every
 * worker. Each worker owns one Scratch (Hyperscan scratch plus the
 * condition bitmap) and one Counters; match() and match_flow() allocate
 * nothing and never throw. A reload compiles a new Database and makes new
 * Scratches and Counters for it off the fast path; a set that does not
 * compile is refused and the old one keeps running.
 *
 * Counts (Counters): hits per rule, decisions per action, scan errors.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/counter.h"

struct hs_database;
struct hs_scratch;

namespace match {

/* Same order and values as http::Verdict (checked where the two meet). */
enum class Action : uint8_t { kRecord, kSkip, kTag, kMirror, kDrop };
constexpr size_t kNumActions = 5;
const char* action_name(Action a) noexcept;

enum class Field : uint8_t { kMethod, kUri, kPath, kQuery, kHost, kHeader, kBody };
constexpr size_t kNumFields = 7;
const char* field_name(Field f) noexcept;

/* One pattern on one field. */
struct Condition {
  Field field = Field::kUri;
  std::string header;     // lower-case header name, for Field::kHeader
  std::string pattern;    // regex (Hyperscan's PCRE subset) or literal bytes
  bool literal = false;
  bool nocase = false;
  uint32_t line = 0, column = 0;  // the pattern in the startup file
};

/* An IPv4 or IPv6 network; host bits are zero. */
struct Net {
  uint8_t version = 4;    // 4 or 6
  uint8_t prefix = 0;     // bits
  uint8_t addr[16] = {};  // network byte order; IPv4 in the first 4 bytes
};

struct PortRange {
  uint16_t lo = 0, hi = 0;
};

struct Rule {
  std::string name;
  std::vector<Condition> conds;       // HTTP conditions
  bool any_of = false;                // conds: any one (true) or all (false)
  std::vector<Net> client, server;    // flow conditions: empty is any
  std::vector<PortRange> server_port;
  Action action = Action::kRecord;
  std::string tag;                    // Action::kTag
  bool reject = false;                // Action::kDrop: TCP RST both ways
  uint32_t line = 0, column = 0;      // the rule's table
};

struct RuleSet {
  std::vector<Rule> rules;            // file order: the first match wins
  Action default_action = Action::kRecord;  // never kDrop
  std::string default_tag;            // default_action == kTag
  uint32_t body_prefix_bytes = 1024;  // body bytes a body condition sees
};

/* Parses "10.0.0.0/8", "2001:db8::/32" or a single address (a /32 or
 * /128). False with the reason in `why`. Control path. */
bool parse_net(std::string_view s, Net* out, std::string* why);

/* The connection, as the flow table knows it at its start. */
struct FlowView {
  uint8_t version = 4;                // 4 or 6
  uint8_t client_ip[16] = {};         // network byte order; IPv4 in the first 4 bytes
  uint8_t server_ip[16] = {};
  uint16_t client_port = 0, server_port = 0;  // host byte order
};

/* One finished message. Strings may be truncated (the framer's bounded
 * copies). raw is the message as captured on the wire: start line, header
 * block, then the body as sent (chunked framing is not decoded, so a body
 * pattern sees chunk sizes); it may be cut anywhere, or empty without a
 * capture buffer. */
struct MessageView {
  std::string_view method, uri, host, raw;
};

/* The parts of raw: `headers` is the header lines after the start line,
 * `body` what follows the blank line. When raw was cut before the blank
 * line, `headers` keeps only the complete lines and `body` is empty. */
struct RawParts {
  std::string_view headers, body;
};
RawParts split_raw(std::string_view raw) noexcept;

/* Walks a header block line by line, allocating nothing. A line without a
 * colon (or with a space before it) is skipped; an obs-fold continuation
 * line (RFC 9112 §5.2) is returned as more value of the header before it.
 * Values are trimmed of spaces and tabs. */
class HeaderCursor {
 public:
  explicit HeaderCursor(std::string_view headers) noexcept : rest_(headers) {}
  bool next(std::string_view* name, std::string_view* value) noexcept;

 private:
  std::string_view rest_, name_;
};

/* What decided: rule is the index of the first matching rule in file order,
 * kNoRule when none matched (the default applies), kUndecided when
 * match_flow() cannot decide before seeing messages. */
constexpr int kNoRule = -1;
constexpr int kUndecided = -2;

struct Result {
  int rule = kNoRule;
  Action action = Action::kRecord;
  const std::string* tag = nullptr;   // kTag: the label (lives in the Database)
  uint16_t tag_id = 0;                // kTag: 1 + index in Database::tags(); 0: none
  bool reject = false;                // kDrop: reset both ways
};

/* Per worker; the worker is the only writer. Sized for one Database. */
struct Counters {
  explicit Counters(size_t n_rules) : hits(n_rules) {}
  std::vector<core::Counter> hits;    // decisions per rule, file order
  core::Counter actions[kNumActions]; // decisions per action, defaults included
  core::Counter scan_errors;          // Hyperscan scan failures (the default applied)
};

class Database;

/* A worker's Hyperscan scratch and condition bitmap, sized for one
 * Database. Made and cloned on the control path (throws
 * std::runtime_error); used by one worker at a time. */
class Scratch {
 public:
  explicit Scratch(const Database& db);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  /* Another worker's scratch for the same Database (hs_clone_scratch). */
  std::unique_ptr<Scratch> clone() const;

 private:
  friend class Database;
  Scratch(const Database& db, hs_scratch* s);
  const Database& db_;
  hs_scratch* hs_ = nullptr;
  std::vector<uint64_t> bits_;        // one bit per condition
};

struct CompileError {
  uint32_t line = 0, column = 0;      // the pattern in the startup file; 0: none
  std::string message;                // rule "x": pattern "a(b": Hyperscan's reason
};

class Database {
 public:
  /* Compiles every rule; nullptr with every bad pattern in `errors`.
   * Control path; may take a while for thousands of patterns. */
  static std::unique_ptr<Database> compile(const RuleSet& set,
                                           std::vector<CompileError>* errors);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  /* The first rule matching the message on this flow; the default when
   * none does or a scan fails. Worker thread, with its own Scratch and
   * Counters (nullptr: not counted). No allocation, no exceptions. */
  Result match(Scratch& s, const FlowView& f, const MessageView& m,
               Counters* c) const noexcept;

  /* Decided at connection start: the first rule whose flow conditions
   * hold, if it has no HTTP conditions and no earlier rule with HTTP
   * conditions could apply to this flow (then match() would return the
   * same rule for every message); kNoRule if no rule can apply to this
   * flow; otherwise kUndecided. Any thread; no allocation. */
  Result match_flow(const FlowView& f, Counters* c) const noexcept;

  const RuleSet& rules() const noexcept { return set_; }
  const std::vector<std::string>& tags() const noexcept { return tags_; }
  bool needs_http() const noexcept { return needs_http_; }   // some rule has HTTP conditions
  bool needs_raw() const noexcept { return needs_raw_; }     // ... on headers or body
  bool has_flow_only_rules() const noexcept { return has_flow_only_; }

 private:
  friend class Scratch;
  struct Sub;  // one Hyperscan database: a field, or one header name
  Database();
  bool scan(const Sub& sub, std::string_view data, Scratch& s) const noexcept;
  Result decide(int rule, Counters* c) const noexcept;

  RuleSet set_;
  std::vector<uint32_t> first_cond_;  // rule i's conditions: ids first_cond_[i] ...
  std::vector<uint16_t> tag_ids_;     // per rule; 0: no tag
  uint16_t default_tag_id_ = 0;
  std::vector<std::string> tags_;
  std::vector<Sub> subs_;             // one per field or header name with patterns
  int field_sub_[kNumFields];         // index into subs_, -1: no pattern on it
  size_t n_conds_ = 0;
  bool needs_http_ = false, needs_raw_ = false, has_flow_only_ = false;
};

/* The rules a worker applies: a compiled set, this worker's scratch and
 * counters for it. The control path builds one per worker and reload
 * (lib/ctl/rules.h) swaps it whole; the worker picks it up between bursts. */
struct Active {
  const Database* db = nullptr;
  Scratch* scratch = nullptr;
  Counters* counters = nullptr;
  uint64_t generation = 0;
};

}  // namespace match
