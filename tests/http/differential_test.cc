// Loom's framer against llhttp on valid traffic: the same byte streams,
// fed in the same random splits, must give the same messages (method,
// URI, Host, status, body length, chunked, complete). llhttp is linked
// by the tests only, as this reference.
#include <gtest/gtest.h>

#include <llhttp.h>

#include <functional>
#include <random>

#include "harness.h"

namespace {

struct Ref {
  std::string method, uri, host, field;
  unsigned status = 0;
  uint64_t body = 0;
  bool chunked = false, complete = false, is_host = false;
};

struct RefParser {
  llhttp_t p;
  llhttp_settings_t st;
  std::vector<Ref> out;
  explicit RefParser(bool request) {
    llhttp_settings_init(&st);
    st.on_message_begin = [](llhttp_t* p) { self(p).out.emplace_back(); return 0; };
    st.on_url = [](llhttp_t* p, const char* a, size_t n) { self(p).out.back().uri.append(a, n); return 0; };
    st.on_header_field = [](llhttp_t* p, const char* a, size_t n) {
      self(p).out.back().field.append(a, n);
      return 0;
    };
    st.on_header_field_complete = [](llhttp_t* p) {
      Ref& r = self(p).out.back();
      std::string f = r.field;
      for (auto& ch : f) ch = char(std::tolower(ch));
      r.is_host = f == "host";
      r.field.clear();
      return 0;
    };
    st.on_header_value = [](llhttp_t* p, const char* a, size_t n) {
      Ref& r = self(p).out.back();
      if (r.is_host) r.host.append(a, n);
      return 0;
    };
    st.on_header_value_complete = [](llhttp_t* p) { self(p).out.back().is_host = false; return 0; };
    st.on_headers_complete = [](llhttp_t* p) {
      Ref& r = self(p).out.back();
      r.chunked = p->flags & F_CHUNKED;
      if (p->type == HTTP_REQUEST) r.method = llhttp_method_name(llhttp_method_t(p->method));
      else r.status = p->status_code;
      return 0;
    };
    st.on_body = [](llhttp_t* p, const char*, size_t n) { self(p).out.back().body += n; return 0; };
    st.on_message_complete = [](llhttp_t* p) { self(p).out.back().complete = true; return 0; };
    llhttp_init(&p, request ? HTTP_REQUEST : HTTP_RESPONSE, &st);
    p.data = this;
  }
  static RefParser& self(llhttp_t* p) { return *static_cast<RefParser*>(p->data); }
  void feed(const std::string& s) { ASSERT_EQ(llhttp_execute(&p, s.data(), s.size()), HPE_OK); }
};

std::string body_of(std::mt19937& rng, bool chunked, size_t n, std::string& head) {
  std::string b(n, 'x');
  for (auto& ch : b) ch = char('a' + rng() % 26);
  if (!chunked) {
    head += "Content-Length: " + std::to_string(n) + "\r\n\r\n";
    return b;
  }
  head += "Transfer-Encoding: chunked\r\n\r\n";
  std::string o;
  for (size_t at = 0; at < n;) {
    const size_t c = std::min<size_t>(n - at, 1 + rng() % 700);
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx", c);
    o += hex;
    if (rng() % 3 == 0) o += ";ext=v";
    o += "\r\n" + b.substr(at, c) + "\r\n";
    at += c;
  }
  o += "0\r\n";
  if (rng() % 2) o += "X-Trailer: t\r\n";
  return o + "\r\n";
}

void feed_split(std::mt19937& rng, const std::string& s, const std::function<void(const std::string&)>& f) {
  for (size_t at = 0; at < s.size();) {
    const size_t n = std::min<size_t>(s.size() - at, 1 + rng() % 1500);
    f(s.substr(at, n));
    at += n;
  }
}

TEST(HttpDifferential, SameMessagesAsLlhttpOnValidTraffic) {
  static const char* methods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"};
  static const unsigned statuses[] = {200, 201, 302, 404, 418, 500};
  for (unsigned seed = 1; seed <= 200; seed++) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937 rng(seed);
    std::string req, resp;
    const int n = 1 + int(rng() % 8);
    for (int i = 0; i < n; i++) {
      std::string h = std::string(methods[rng() % 7]) + " /p" + std::to_string(rng() % 1000) +
                      "?q=" + std::to_string(i) + " HTTP/1.1\r\nHost: h" + std::to_string(i) +
                      ".test\r\nUser-Agent: t\r\n";
      const bool has_body = rng() % 2;
      std::string b = has_body ? body_of(rng, rng() % 2, rng() % 3000, h) : "";
      if (!has_body) h += "\r\n";
      req += h + b;
      std::string rh = "HTTP/1.1 " + std::to_string(statuses[rng() % 6]) + " Some Reason\r\nServer: s\r\n";
      std::string rb = body_of(rng, rng() % 2, rng() % 5000, rh);
      resp += rh + rb;
    }
    Harness h;
    RefParser rq(true), rs(false);
    feed_split(rng, req, [&](const std::string& s) { h.c2s(s); rq.feed(s); });
    feed_split(rng, resp, [&](const std::string& s) { h.s2c(s); rs.feed(s); });
    h.end();
    const auto q = h.kind(true), r = h.kind(false);
    ASSERT_EQ(q.size(), rq.out.size());
    ASSERT_EQ(r.size(), rs.out.size());
    for (size_t i = 0; i < q.size(); i++) {
      EXPECT_EQ(q[i].method, rq.out[i].method) << i;
      EXPECT_EQ(std::string(q[i].uri, q[i].uri_len), rq.out[i].uri) << i;
      EXPECT_EQ(std::string(q[i].host, q[i].host_len), rq.out[i].host) << i;
      EXPECT_EQ(q[i].body_len, rq.out[i].body) << i;
      EXPECT_EQ(bool(q[i].chunked), rq.out[i].chunked) << i;
      EXPECT_EQ(!(q[i].flags & http::kIncomplete), rq.out[i].complete) << i;
      EXPECT_EQ(q[i].flags & ~uint32_t(http::kUnpaired), 0u) << i;
    }
    for (size_t i = 0; i < r.size(); i++) {
      EXPECT_EQ(r[i].status, rs.out[i].status) << i;
      EXPECT_EQ(r[i].body_len, rs.out[i].body) << i;
      EXPECT_EQ(bool(r[i].chunked), rs.out[i].chunked) << i;
      EXPECT_EQ(!(r[i].flags & http::kIncomplete), rs.out[i].complete) << i;
      EXPECT_EQ(std::memcmp(r[i].id, q[i].id, 12), 0) << i;
    }
    if (HasFailure()) return;
  }
}

}  // namespace
