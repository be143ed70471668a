/* inspect/conn: the inspection's one record per tracked connection.
 *
 * The flow table (flow/flow.h) keeps what finds and ages a connection:
 * key, state, flags, timestamps, packet and byte counts. Everything the
 * inspection keeps per connection is one Conn in the slot of the same
 * number: both directions' reassembly, where the connection's packets
 * wait in the pcap lookback, the index of its HTTP state, and, when
 * streams.jsonl is written, both directions' fingerprints right behind
 * the record (the table's stride says whether). A payload packet touches
 * its flow and this record, and its HTTP state once framed: two places
 * per connection instead of the four per-slot arrays of three owners
 * there were.
 *
 * HTTP state (http::Conn, 312 B) is not in the record: the worker's pool
 * hands it to a connection at its first payload byte, so TLS, idle and
 * half-open connections cost none of it. The record is found by the flow
 * slot, not by an index in the flow, so it costs the flow no field.
 *
 * Thread: the owning worker (the main lcore during Stage::finish()).
 * Allocated once, on the worker's socket.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/sha256.h"
#include "reasm/reasm.h"

namespace inspect {

/* One direction's fingerprint, as streams.jsonl reports it
 * (inspect/streams.h). */
struct StreamSide {
  core::Sha256 sha;
  uint64_t first_ns, last_ns;
  uint64_t loss;  // capture loss (reasm::acked_in_hole)
};

struct Conn {
  static constexpr uint32_t kNoHttp = UINT32_MAX;  // the pool was empty: not framed, not asked again

  reasm::HalfStream hs[2];  // key side a->b is 0
  uint64_t lookback;        // its latest packet in the pcap lookback (Lookback's seq); 0: none
  uint32_t http;            // its HTTP state: 0 none yet, kNoHttp refused, else pool index + 1
  uint32_t spare;           // (the record is 8-aligned for the fingerprints behind it)

  /* Both directions' fingerprints; only in a table built with them. */
  StreamSide* sides() noexcept { return reinterpret_cast<StreamSide*>(this + 1); }
  const StreamSide* sides() const noexcept { return reinterpret_cast<const StreamSide*>(this + 1); }
};

class Conns {
 public:
  /* One record per flow slot; `sides`: with fingerprints. Throws with the
   * way out when memory is short. */
  Conns(uint32_t slots, bool sides, unsigned worker, int socket);
  ~Conns();
  Conns(const Conns&) = delete;
  Conns& operator=(const Conns&) = delete;

  Conn& at(uint32_t slot) noexcept { return *reinterpret_cast<Conn*>(base_ + size_t(slot) * stride_); }
  const Conn& at(uint32_t slot) const noexcept {
    return *reinterpret_cast<const Conn*>(base_ + size_t(slot) * stride_);
  }
  /* A new connection in its slot: both halves empty, nothing in the
   * lookback, no HTTP state (the caller gave back what the last one
   * had); the fingerprints are the stream writer's to start. */
  static void reset(Conn& c) noexcept {
    c.hs[0] = reasm::HalfStream{};
    c.hs[1] = reasm::HalfStream{};
    c.lookback = 0;
    c.http = 0;
  }
  /* Bytes per slot. Not rounded to cache lines: a packet reads one
   * direction's half (72 bytes, one or two lines either way), and
   * rounding would cost an idle connection 32 bytes more. */
  static constexpr size_t stride(bool sides) noexcept {
    return sizeof(Conn) + (sides ? 2 * sizeof(StreamSide) : 0);
  }

 private:
  uint8_t* base_ = nullptr;
  size_t stride_;
};

}  // namespace inspect
