// The framer fed by hand: records into a deque, one connection, client on
// key side a. Shared by the tests under tests/http/.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "http/http.h"

namespace {

struct Out {
  std::deque<http::Message> pool;  // records live here (stable addresses)
  std::vector<http::Message> emitted;
  int released = 0;
};

http::Sink sink_of(Out& o) {
  http::Sink s;
  s.ctx = &o;
  s.alloc = [](void* ctx) {
    auto* o = static_cast<Out*>(ctx);
    o->pool.emplace_back();
    return &o->pool.back();
  };
  s.emit = [](void* ctx, http::Message* m) { static_cast<Out*>(ctx)->emitted.push_back(*m); };
  s.release = [](void* ctx, http::Message*) { static_cast<Out*>(ctx)->released++; };
  return s;
}

constexpr int kClient = 0;  // key side a is the client in these tests

struct Harness {
  http::Stats st;
  Out out;
  std::unique_ptr<http::Framer> fr;
  std::unique_ptr<http::Conn> conn = std::make_unique<http::Conn>();
  flow::Flow f{};

  explicit Harness(bool synced = true, uint32_t pending = http::kPendingDefault) {
    fr = std::make_unique<http::Framer>(&st, sink_of(out), 65536, pending);
    std::memset(static_cast<void*>(conn.get()), 0, sizeof *conn);
    f.key.ipver = 4;
    f.key.a[0] = 10, f.key.a[3] = 1, f.key.b[0] = 10, f.key.b[3] = 2;
    f.key.pa = 40000, f.key.pb = 80;
    const bool s[2] = {synced, synced};
    fr->start(*conn, f, kClient, s);
  }
  void c2s(const std::string& d, uint64_t ts = 1) { send(0, d, ts); }
  void s2c(const std::string& d, uint64_t ts = 2) { send(1, d, ts); }
  void send(int dir, const std::string& d, uint64_t ts) {
    fr->data(*conn, f, dir, reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), ts);
  }
  void end() { fr->end(*conn, f, 99); }
  std::vector<http::Message> kind(bool request) const {
    std::vector<http::Message> v;
    for (const auto& m : out.emitted)
      if (m.request == request) v.push_back(m);
    return v;
  }
};


}  // namespace
