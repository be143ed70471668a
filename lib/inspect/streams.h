/* inspect/streams: per-direction stream fingerprints and their records
 * (streams.jsonl). Each connection's record (inspect/conn.h) carries two
 * StreamSides: the SHA-256 of the bytes reassembly delivered in order,
 * first and last packet times, and the capture loss of its holes. When a
 * connection ends, both of its directions become records (client to server first) on the worker's
 * stream channel, except payload-less connections past the sample, which
 * are only counted by how they ended (a SYN flood would otherwise write
 * more than it carried).
 *
 * Thread: the owning worker (the main lcore during Stage::finish()).
 * Allocates its record channel when built, nothing after.
 */
#pragma once

#include <cstdint>
#include <string>

#include "core/channel.h"
#include "flow/flow.h"
#include "inspect/conn.h"
#include "inspect/stats.h"

namespace inspect {

/* One connection direction, as streams.jsonl reports it. */
struct StreamRecord {
  flow::Key key;
  uint8_t src_side;        // key side that sent these bytes
  uint8_t c2s;             // 1: client to server
  uint8_t client_inferred; // no SYN seen: client guessed from the ports
  uint8_t end;             // flow::End
  uint8_t tcp_anomalies;   // tcp::kSaw* bits: control packets the endpoints rejected
  uint32_t gaps;
  uint32_t generation;
  uint64_t bytes, gap_bytes;
  uint64_t capture_loss;   // gap bytes the receiver acknowledged: sent, never captured
  uint64_t first_ts_ns, last_ts_ns;
  uint64_t packets;
  uint64_t conn_id;        // flow::connection_id: the Kafka key, "conn_id"
  uint8_t sha256[32];
};

/* Its streams.jsonl line is join::stream_json's (join/format.h), on the
 * sink thread. */

class Streams {
 public:
  /* `empty_sample`: payload-less connections given records (UINT32_MAX:
   * all). Throws with the way out when memory is short. The fingerprints
   * live in the connection records (inspect/conn.h), built with sides. */
  Streams(uint32_t record_ring, uint32_t empty_sample, unsigned worker, int socket,
          const core::Waiting* w, Stats* stats);

  /* A new connection: both directions' fingerprints start. */
  static void start(StreamSide* s) noexcept;
  /* A packet of direction `dir` at `ts`. */
  static void seen(StreamSide* s, int dir, uint64_t ts) noexcept {
    if (!s[dir].first_ns) s[dir].first_ns = ts;
    s[dir].last_ns = ts;
  }
  static void data(StreamSide* s, int dir, const uint8_t* p, uint32_t len) noexcept {
    s[dir].sha.update(p, len);
  }
  static void hole(StreamSide* s, int dir, uint32_t lost) noexcept { s[dir].loss += lost; }
  /* The connection ended with `why` (its ends already set). */
  void end(const flow::Flow& f, Conn& c, flow::End why) noexcept;

  core::Channel& channel() noexcept { return records_; }

 private:
  /* Counted; true when past the sample (no records). */
  bool summarise_empty(const Conn& c, flow::End why) noexcept;
  void emit(const flow::Flow& f, Conn& c, int dir) noexcept;

  core::Channel records_;
  uint32_t empty_sample_;
  uint32_t empty_sampled_ = 0;  // payload-less connections given records so far
  Stats* stats_;
};

}  // namespace inspect
