/* ctl/reader: reading typed values out of the startup file's TOML tables
 * with every problem recorded at its file:line:column, instead of
 * stopping at the first. Shared by config.cc and rules_config.cc so both
 * speak the same words. Private to lib/ctl (toml++ stays out of
 * config.h). */
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "ctl/config.h"

namespace ctl::detail {

inline Where at(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }

inline const char* type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: return "a date/time";
    default: return "nothing";
  }
}

/* Reads typed values out of one table and records every problem with its
 * location instead of stopping at the first. */
class Reader {
 public:
  Reader(std::string file, std::vector<ConfigError>& errs) : file_(std::move(file)), errs_(errs) {}

  void error(Where w, std::string msg) { errs_.push_back({file_, w, std::move(msg)}); }
  void error(const toml::node& n, std::string msg) { error(at(n.source()), std::move(msg)); }

  /* Rejects keys not in `allowed`, naming the ones that are. */
  void only_keys(const toml::table& t, const std::string& ctx,
                 std::initializer_list<std::string_view> allowed) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      if (allowed.size() == 0)
        error(at(k.source()), "unknown key '" + std::string(k.str()) + "' in " + ctx + ": " +
                                  ctx + " has no settings in this version of Loom");
      else
        error(at(k.source()), "unknown key '" + std::string(k.str()) + "' in " + ctx +
                                  "; allowed keys are: " + list);
    }
  }

  const toml::table* table(const toml::table& t, std::string_view key, const std::string& ctx) {
    const toml::node* n = t.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) {
      error(*n, ctx + " must be a table ([" + std::string(key) + "]), not " + type_name(n->type()));
      return nullptr;
    }
    return n->as_table();
  }

  template <class T>
  bool uint(const toml::table& t, std::string_view key, const std::string& ctx, uint64_t lo,
            uint64_t hi, T& out, Where* where = nullptr) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (where) *where = at(n->source());
    const auto* v = n->as_integer();
    if (!v) {
      error(*n, ctx + " must be an integer, not " + std::string(type_name(n->type())));
      return false;
    }
    const int64_t x = v->get();
    if (x < 0 || uint64_t(x) < lo || uint64_t(x) > hi) {
      error(*n, ctx + " = " + std::to_string(x) + " is out of range; allowed: " +
                    std::to_string(lo) + " to " + std::to_string(hi));
      return false;
    }
    out = T(x);
    return true;
  }

  bool boolean(const toml::table& t, std::string_view key, const std::string& ctx, bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (!n->is_boolean()) {
      error(*n, ctx + " must be true or false, not " + std::string(type_name(n->type())));
      return false;
    }
    out = n->as_boolean()->get();
    return true;
  }

  bool string(const toml::table& t, std::string_view key, const std::string& ctx,
              std::string& out, Where* where = nullptr) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    if (where) *where = at(n->source());
    if (!n->is_string()) {
      error(*n, ctx + " must be a string, not " + std::string(type_name(n->type())));
      return false;
    }
    out = n->as_string()->get();
    return true;
  }

  template <class E>
  bool choice(const toml::table& t, std::string_view key, const std::string& ctx,
              std::initializer_list<std::pair<std::string_view, E>> options, E& out) {
    std::string s;
    if (!string(t, key, ctx, s)) return false;
    std::string list;
    for (auto& [name, val] : options) {
      if (name == s) {
        out = val;
        return true;
      }
      list += (list.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    }
    error(*t.get(key), ctx + " = \"" + s + "\" is not one of " + list);
    return false;
  }

  bool strings(const toml::table& t, std::string_view key, const std::string& ctx,
               std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (!n) return false;
    const toml::array* a = n->as_array();
    if (!a) {
      error(*n, ctx + " must be an array of strings, not " + std::string(type_name(n->type())));
      return false;
    }
    out.clear();
    bool ok = true;
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        error(e, ctx + " must hold only strings; this element is " + type_name(e.type()));
        ok = false;
        continue;
      }
      out.push_back(e.as_string()->get());
    }
    return ok;
  }

  /* The node at `key` if it has the wanted type; nullptr if absent, or
   * (recorded) of another type. */
  const toml::node* typed(const toml::table& t, std::string_view key, toml::node_type type,
                          const std::string& ctx) {
    const toml::node* n = t.get(key);
    if (n && n->type() != type) {
      error(*n, ctx + " must be " + type_name(type) + ", not " + type_name(n->type()));
      return nullptr;
    }
    return n;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::vector<ConfigError>& errs_;
};

}  // namespace ctl::detail
