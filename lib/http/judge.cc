#include "http/judge.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "http/http.h"

namespace http {

namespace {

void copy_name(char* dst, size_t cap, const std::string& s) noexcept {
  const size_t n = std::min(cap - 1, s.size());
  std::memcpy(dst, s.data(), n);
  dst[n] = 0;
}

}  // namespace

match::FlowView flow_view(const flow::Key& k, int client) noexcept {
  match::FlowView v;
  v.version = k.ipver;
  std::memcpy(v.client_ip, client ? k.b : k.a, 16);
  std::memcpy(v.server_ip, client ? k.a : k.b, 16);
  v.client_port = client ? k.pb : k.pa;
  v.server_port = client ? k.pa : k.pb;
  return v;
}

void describe(const match::Active& a, Message& m) noexcept {
  const match::RuleSet& set = a.db->rules();
  if (m.rule_index >= 0 && size_t(m.rule_index) < set.rules.size()) {
    const match::Rule& r = set.rules[size_t(m.rule_index)];
    copy_name(m.rule, sizeof m.rule, r.name);
    if (r.action == match::Action::kTag) copy_name(m.tag, sizeof m.tag, r.tag);
  } else if (set.default_action == match::Action::kTag) {
    copy_name(m.tag, sizeof m.tag, set.default_tag);
  }
}

match::Result judge(const match::Active& a, Message& m) noexcept {
  static_assert(uint8_t(match::Action::kDrop) == uint8_t(Verdict::kDrop) &&
                uint8_t(match::Action::kMirror) == uint8_t(Verdict::kMirror) &&
                uint8_t(match::Action::kTag) == uint8_t(Verdict::kTag) &&
                uint8_t(match::Action::kSkip) == uint8_t(Verdict::kSkip) &&
                uint8_t(match::Action::kRecord) == uint8_t(Verdict::kRecord));
  match::MessageView mv;
  mv.method = m.request ? std::string_view(m.method) : std::string_view();
  mv.uri = std::string_view(m.uri, m.uri_len);
  mv.host = std::string_view(m.host, m.host_len);
  if (m.raw) mv.raw = std::string_view(reinterpret_cast<const char*>(m.raw), m.raw_len);
  const match::Result r = a.db->match(*a.scratch, flow_view(m.key, m.client_side), mv, a.counters);
  m.rule_index = int16_t(r.rule);
  describe(a, m);
  return r;
}

}  // namespace http
