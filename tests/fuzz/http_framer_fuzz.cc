// libFuzzer target for the HTTP framer: the input is a script of chunks
// for the two directions of one connection, interleaved, with gaps, so
// that every split, every state and every pairing path is reachable.
//   byte 0: bit 0 client synced, bit 1 server synced, bits 2-4 pending
//           pool size (1 << n), bit 5 raw capture, bit 6 carry headers
//           (Loom's default list, a 40-byte bound: cuts are reached),
//           bit 7 rules (a skip, a tag and a drop: every verdict path)
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

#include <string>

#include <rte_ring.h>

#include "eal_once.h"
#include "http/http.h"
#include "join/format.h"

namespace {

/* A worker's message and capture-buffer channels (core/channel.h), made
 * once per process; every record the framer pushes is checked and given
 * back after each call. */
struct Channels {
  core::Waiting waiting;
  core::Channel messages, raw;
  Channels() {
    loomfuzz::pool(512);  // the EAL
    messages.open("fuzz_msgs", sizeof(http::Message), 0, 4096, &waiting, nullptr);
    messages.caller_counts();
    raw.open_pool("fuzz_raw", 512, 0, 4096, &waiting, nullptr);
    raw.caller_counts();
  }
};

/* Three rules over the fields a message has, made once per process. */
struct Rules {
  std::unique_ptr<match::Database> db;
  std::unique_ptr<match::Scratch> scratch;
  std::unique_ptr<match::Counters> counters;
  match::Active active;
  Rules() {
    match::RuleSet set;
    auto rule = [](const char* name, match::Action a, match::Field f, const char* pat) {
      match::Rule r;
      r.name = name;
      r.action = a;
      if (a == match::Action::kTag) r.tag = name;
      match::Condition c;
      c.field = f;
      c.pattern = pat;
      r.conds.push_back(c);
      return r;
    };
    set.rules.push_back(rule("skip", match::Action::kSkip, match::Field::kMethod, "^POST$"));
    set.rules.push_back(rule("tag", match::Action::kTag, match::Field::kHost, "a"));
    set.rules.push_back(rule("drop", match::Action::kDrop, match::Field::kUri, "x"));
    std::vector<match::CompileError> errors;
    db = match::Database::compile(set, &errors);
    if (!db) std::abort();
    scratch = std::make_unique<match::Scratch>(*db);
    counters = std::make_unique<match::Counters>(set.rules.size());
    active = {db.get(), scratch.get(), counters.get(), 1};
  }
};

void check_and_put(core::Channel& ch) {
  void* r;
  while (rte_ring_sc_dequeue(ch.ring(), &r) == 0) {
    const http::Message* m = static_cast<const http::Message*>(r);
    std::string j = join::message_json(*m);  // every record must print
    if (j.empty() || j.back() != '\n') std::abort();
    // Carried headers: whole entries within the bound, never past it.
    if (m->hdrs_len > 40) std::abort();
    for (size_t at = 0; at < m->hdrs_len;) {
      if (at + 3 > m->hdrs_len || m->hdrs[at] > 2) std::abort();
      at += 3 + (size_t(m->hdrs[at + 1]) | size_t(m->hdrs[at + 2]) << 8);
      if (at > m->hdrs_len) std::abort();
    }
    join::message_gor(*m);
    if (m->raw) core::Channel::put(m->raw);
    core::Channel::put(r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static Channels ch;
  http::Stats st;
  http::Records rec;
  rec.messages = &ch.messages;
  if (data[0] & 32) {
    rec.raw = &ch.raw;
    rec.raw_cap = 512;
  }
  static Rules rules;
  http::Framer fr(&st, rec, 1024, 1u << ((data[0] >> 2) & 7), 1u << 20);
  if (data[0] & 128) fr.set_rules(&rules.active);
  if (data[0] & 64) fr.set_carry({"user-agent", "content-type", "x-forwarded-for"}, 40);
  auto conn = std::make_unique<http::Conn>();
  std::memset(static_cast<void*>(conn.get()), 0, sizeof *conn);
  flow::Flow f{};
  const reasm::HalfStream hs[2]{};
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
    fr.data(*conn, f, hs, dir, data + i, uint32_t(n), i);
    check_and_put(ch.messages);
    i += n;
  }
  fr.end(*conn, f, size + 1);
  check_and_put(ch.messages);
  // A record, a capture buffer or a pending entry leaked.
  if (rte_mempool_in_use_count(ch.messages.pool()) != 0 || rte_mempool_in_use_count(ch.raw.pool()) != 0 ||
      st.pending_in_use.get() != 0)
    std::abort();
  return 0;
}
