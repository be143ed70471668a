// The framer fed by hand: records into a deque, one connection, client on
// key side a. Shared by the tests under tests/http/.
#pragma once

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <rte_ring.h>

#include "../eal_env.h"
#include "http/http.h"

namespace {

/* The records a stage's message channel carries (core/channel.h, over an
 * EAL mempool and ring as a worker's), read back after every call. */
struct Out {
  core::Waiting waiting;
  core::Channel ch;
  std::vector<http::Message> emitted;

  Out() {
    loomtest::test_pool();  // the EAL
    ch.open("test_http_msgs_" + std::to_string(loomtest::next_name()), sizeof(http::Message), 0, 16384, &waiting,
            nullptr);
    ch.caller_counts();
  }
  /* Takes what the framer pushed, in order, and gives the records back. */
  void drain() {
    void* r;
    while (rte_ring_sc_dequeue(ch.ring(), &r) == 0) {
      emitted.push_back(*static_cast<http::Message*>(r));
      core::Channel::put(r);
    }
  }
  /* Records out of the pool: taken by the framer and not given back. */
  unsigned held() const { return rte_mempool_in_use_count(ch.pool()); }
};

http::Records records_of(Out& o) {
  http::Records r;
  r.messages = &o.ch;
  return r;
}

constexpr int kClient = 0;  // key side a is the client in these tests

struct Harness {
  http::Stats st;
  Out out;
  std::unique_ptr<http::Framer> fr;
  std::unique_ptr<http::Conn> conn = std::make_unique<http::Conn>();
  flow::Flow f{};
  reasm::HalfStream hs[2];  // what reassembly knows of each direction (the connection record's)

  explicit Harness(bool synced = true, uint32_t pending = http::kPendingDefault) {
    fr = std::make_unique<http::Framer>(&st, records_of(out), 65536, pending);
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
    fr->data(*conn, f, hs, dir, reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), ts);
    out.drain();
  }
  void end() {
    fr->end(*conn, f, 99);
    out.drain();
  }
  std::vector<http::Message> kind(bool request) const {
    std::vector<http::Message> v;
    for (const auto& m : out.emitted)
      if (m.request == request) v.push_back(m);
    return v;
  }
};


}  // namespace
