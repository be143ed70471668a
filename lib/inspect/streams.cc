#include "inspect/streams.h"

#include "tcp/track.h"

namespace inspect {

Streams::Streams(uint32_t record_ring, uint32_t empty_sample, unsigned worker, int socket,
                 const core::Waiting* w, Stats* stats)
    : empty_sample_(empty_sample), stats_(stats) {
  records_.open("loom_streams_" + std::to_string(worker), sizeof(StreamRecord), socket, record_ring,
                w, &stats->records_dropped);
}

void Streams::start(StreamSide* s) noexcept {
  for (int d = 0; d < 2; d++) {
    s[d].sha.init();
    s[d].first_ns = s[d].last_ns = s[d].loss = 0;
  }
}

void Streams::end(const flow::Flow& f, Conn& c, flow::End why) noexcept {
  if (summarise_empty(c, why)) return;
  // Client to server first, so each connection's two lines read in order.
  const int c2s = flow::client_side(f);
  emit(f, c, c2s);
  emit(f, c, 1 - c2s);
}

bool Streams::summarise_empty(const Conn& c, flow::End why) noexcept {
  // Two ~600-byte lines per half-open connection made a SYN flood write
  // more than it carried; such connections are counted by how they ended,
  // and a bounded sample keeps their records for a look.
  for (int d = 0; d < 2; d++)
    if (c.hs[d].delivered || c.hs[d].gap_bytes || c.sides()[d].loss) return false;
  stats_->empty_connections.add(1);
  stats_->empty_by_end[size_t(why) < kNumEnds ? size_t(why) : 0].add(1);
  if (empty_sampled_ < empty_sample_) {
    empty_sampled_++;
    return false;
  }
  stats_->empty_summarised.add(1);
  return true;
}

static_assert(size_t(flow::End::kShutdown) + 1 == kNumEnds, "empty_end_name() lists every flow::End");

const char* empty_end_name(size_t end) noexcept {
  // flow::end_name()'s words, as counter names (no '-').
  static const char* const kNames[kNumEnds] = {"open",        "fin",   "rst",     "timeout",
                                                "evicted",     "capture_end", "reuse", "shutdown"};
  return end < kNumEnds ? kNames[end] : "?";
}

void Streams::emit(const flow::Flow& f, Conn& c, int dir) noexcept {
  auto* r = static_cast<StreamRecord*>(records_.take());
  if (!r) return;
  const bool known = f.flags & flow::kClientKnown;
  const int client = flow::client_side(f);
  r->key = f.key;
  r->src_side = uint8_t(dir);
  r->c2s = dir == client;
  r->client_inferred = !known;
  r->end = f.end[dir];
  r->tcp_anomalies = f.tcp & tcp::kSawAny;
  r->gaps = c.hs[dir].gaps;
  r->generation = f.generation;
  r->bytes = c.hs[dir].delivered;
  r->gap_bytes = c.hs[dir].gap_bytes;
  r->packets = f.pkts[dir];
  StreamSide& s = c.sides()[dir];
  r->capture_loss = s.loss;
  r->first_ts_ns = s.first_ns;
  r->last_ts_ns = s.last_ns;
  s.sha.final(r->sha256);
  // The fields that join with other records (lib/join formats them).
  r->conn_id = flow::connection_id(f.key, f.generation, f.created_ns);
  records_.push(r);
  stats_->records_emitted.add(1);
}

}  // namespace inspect
