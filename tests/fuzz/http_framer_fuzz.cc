// libFuzzer target for the HTTP framer: the input is a script of chunks
// for the two directions of one connection, interleaved, with gaps, so
// that every split, every state and every pairing path is reachable.
//   byte 0: bit 0 client synced, bit 1 server synced, bits 2-4 pending
//           pool size (1 << n), bit 5 raw capture, bit 6 carry headers
//           (Loom's default list, a 40-byte bound: cuts are reached)
//   then repeated: one control byte c, then (c & 63) + 1 data bytes;
//           c & 64: server to client, else client to server;
//           c == 0xFF: a gap in the direction of the next chunk.
// Checks: no crash, no leak of pending entries or records.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <memory>
#include <vector>

#include "http/http.h"

namespace {

struct Pool {
  std::vector<std::unique_ptr<http::Message>> live;
  size_t out = 0;
  uint8_t raw[4][512];
  int raw_next = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Pool pool;
  http::Stats st;
  http::Sink sink;
  sink.ctx = &pool;
  sink.alloc = [](void* c) {
    auto* p = static_cast<Pool*>(c);
    p->live.push_back(std::make_unique<http::Message>());
    p->out++;
    return p->live.back().get();
  };
  sink.emit = [](void* c, http::Message* m) {
    auto* p = static_cast<Pool*>(c);
    std::string j = http::message_json(*m);  // every record must print
    if (j.empty() || j.back() != '\n') std::abort();
    // Carried headers: whole entries within the bound, never past it.
    if (m->hdrs_len > 40) std::abort();
    for (size_t at = 0; at < m->hdrs_len;) {
      if (at + 3 > m->hdrs_len || m->hdrs[at] > 2) std::abort();
      at += 3 + (size_t(m->hdrs[at + 1]) | size_t(m->hdrs[at + 2]) << 8);
      if (at > m->hdrs_len) std::abort();
    }
    http::message_gor(*m);
    p->out--;
  };
  sink.release = [](void* c, http::Message*) { static_cast<Pool*>(c)->out--; };
  if (data[0] & 32) {
    sink.alloc_raw = [](void* c) {
      auto* p = static_cast<Pool*>(c);
      return p->raw[p->raw_next++ & 3];
    };
    sink.raw_cap = sizeof pool.raw[0];
  }
  http::Framer fr(&st, sink, 1024, 1u << ((data[0] >> 2) & 7), 1u << 20);
  if (data[0] & 64) fr.set_carry({"user-agent", "content-type", "x-forwarded-for"}, 40);
  auto conn = std::make_unique<http::Conn>();
  std::memset(static_cast<void*>(conn.get()), 0, sizeof *conn);
  flow::Flow f{};
  f.key.pa = 40000;
  f.key.pb = 80;
  const bool synced[2] = {bool(data[0] & 1), bool(data[0] & 2)};
  fr.start(*conn, f, 0, synced);
  size_t i = 1;
  bool gap_next = false;
  while (i < size) {
    const uint8_t c = data[i++];
    if (c == 0xFF) {
      gap_next = true;
      continue;
    }
    const int dir = (c & 64) ? 1 : 0;
    if (gap_next) fr.gap(*conn, f, dir, i);
    gap_next = false;
    const size_t n = std::min<size_t>((c & 63) + 1, size - i);
    fr.data(*conn, f, dir, data + i, uint32_t(n), i);
    i += n;
  }
  fr.end(*conn, f, size + 1);
  if (pool.out != 0 || st.pending_in_use.get() != 0) std::abort();  // a record or entry leaked
  return 0;
}
