/* reasm: TCP stream reassembly, one HalfStream per connection direction.
 *
 * In-order payload is handed to the consumer straight from the mbuf
 * (zero-copy, in order, exactly once). Segments that arrive ahead of a hole
 * are held by mbuf reference (refcnt + 1, nothing copied) in a per-direction
 * list sorted by sequence number, bounded per direction (segments, bytes)
 * and per worker (memcap, counted in mbuf buffer bytes actually held).
 *
 * Policy, stated once:
 *  - Sequence numbers compare modulo 2^32 (RFC 1982 serial arithmetic), so
 *    a stream may wrap any number of times.
 *  - Overlaps: the first copy wins, as in Linux's tcp_data_queue_ofo().
 *    Bytes already delivered are never re-delivered; overlapping bytes
 *    held out of order are compared and a difference is counted
 *    (overlap_conflicts) but not delivered.
 *  - Holes are declared, never zero-filled: when the direction's OFO bounds
 *    or the worker's memcap would be exceeded, when a hole has waited
 *    gap_timeout (capture/packet time), or when the peer has acknowledged
 *    bytes past the hole for ack_gap_timeout (an ACK can overtake its data
 *    in a capture, so one ACK alone is not proof: Zeek #335). The consumer
 *    gets gap(len) and delivery resumes after the hole.
 *  - flush() at connection end declares the remaining holes and delivers
 *    everything held, so nothing buffered is lost silently.
 *  - Mid-stream pickup (no SYN): the first pickup_segments data segments are
 *    held, then the stream starts at the lowest of them; in captures the
 *    first segment seen is often a later one (reordering, retransmission).
 *  - Small segments (up to kCollapseMax bytes) are copied into 2 KiB chunks
 *    of the reassembler's own, and adjacent ones share a chunk (Linux's
 *    tcp_collapse_ofo_queue, counted as ofo_collapsed): held data costs
 *    what its bytes cost, so 2,000 one-byte segments in any order take one
 *    node and one chunk, not 2,000 mbufs and the direction's node limit.
 *  - Memcap pressure reclaims the oldest held data first, from streams
 *    seen without a handshake before those with one (ofo_reclaimed): one
 *    source cannot pin the memcap against everyone else. Reclaiming
 *    declares that stream's first hole, as its own limits would.
 *  - An in-order segment that overlaps held bytes is compared with them;
 *    a difference is an overlap conflict like any other.
 *  - A FIN ends its direction's stream. Data past it is held, not dropped:
 *    no TCP sends past its own FIN, so if the receiver acknowledges that
 *    data, the FIN was not the sender's (forged, or lost before the
 *    receiver): it is forgotten (fin_overrun) and the stream goes on.
 *    Held data past a FIN that nobody acknowledged is dropped at the end.
 *  - Bytes of a declared hole that the receiver had acknowledged were
 *    sent but never captured: capture loss (capture_loss_bytes, as Zeek's
 *    capture_loss counts ACKs for data not seen).
 *
 * Thread: one Reassembler per worker; not thread-safe. Allocates only in
 * the constructor (the OFO node pool); the fast path never allocates.
 */
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <rte_mbuf.h>

#include "core/counters.h"

namespace reasm {

inline bool seq_lt(uint32_t a, uint32_t b) noexcept { return int32_t(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) noexcept { return int32_t(a - b) <= 0; }
inline bool seq_gt(uint32_t a, uint32_t b) noexcept { return int32_t(a - b) > 0; }
inline bool seq_ge(uint32_t a, uint32_t b) noexcept { return int32_t(a - b) >= 0; }

/* Node index 0 is never used, so an all-zero HalfStream (flow records are
 * cleared with memset) is a valid empty one. */
constexpr uint32_t kNil = 0;

struct Limits {
  uint32_t max_ofo_segments = 1024;      // per direction
  uint32_t max_ofo_bytes = 4u << 20;     // payload bytes per direction
  uint64_t memcap_bytes = 64ull << 20;   // buffer bytes held per worker (reassembly.memcap_mb)
  uint64_t gap_timeout_ns = 10'000'000'000ull;
  uint64_t ack_gap_timeout_ns = 1'000'000'000ull;
  // Mid-stream pickup (no SYN seen): hold this many data segments before
  // choosing where the stream starts (the lowest sequence held). In a
  // capture the first segment seen is not always the earliest one.
  uint32_t pickup_segments = 32;
};

/* Per-worker counters (reasm/counters.def); names follow Linux's TcpExt
 * where one exists. */
struct Stats {
#define LOOM_COUNTERS_DEF "reasm/counters.def"
#include "core/counters_body.inc"
};

struct HalfStream {
  uint32_t isn = 0;           // from the SYN (valid if syn_seen)
  uint32_t next_seq = 0;      // next byte expected
  uint32_t fin_seq = 0;       // sequence of the FIN (valid if fin_seen)
  uint32_t ofo_head = kNil;   // first held segment (node index)
  uint32_t ofo_n = 0;
  uint32_t ofo_bytes = 0;
  uint32_t gaps = 0;
  uint32_t peer_ack = 0;      // highest ACK the peer sent for this direction
  bool seq_known = false;     // next_seq valid (SYN seen or mid-stream pickup)
  bool syn_seen = false;
  bool fin_seen = false;
  bool fin_done = false;      // every byte up to the FIN delivered
  bool ack_known = false;
  uint16_t pickup_n = 0;      // segments held while picking up mid-stream
  uint64_t delivered = 0;     // bytes delivered in order
  uint64_t gap_bytes = 0;
  uint64_t hole_since_ns = 0; // when the current hole appeared (valid while segments are held)
  uint64_t ack_hole_since_ns = 0;
};

/* Bytes of a hole of `len` bytes starting at h.next_seq that the peer had
 * acknowledged: sent, but never in the capture. An ACK more than 1 GiB
 * ahead is garbage, not evidence. */
inline uint32_t acked_in_hole(const HalfStream& h, uint32_t len) noexcept {
  if (!h.ack_known || !seq_gt(h.peer_ack, h.next_seq)) return 0;
  const uint32_t ahead = h.peer_ack - h.next_seq;
  if (ahead >= (1u << 30)) return 0;
  return ahead < len ? ahead : len;
}

/* What reassembly delivered, in stream order: bytes, or a declared hole.
 * Each call appends to the reassembler's delivery list (delivered());
 * the caller reads it and hands it back with done(). Until then every
 * span's bytes stay valid: the mbuf references and copy chunks behind
 * delivered data are given back only by done(). `owner` is the caller's
 * (the flow record): memcap reclaim may deliver another stream's bytes. */
struct Span {
  void* owner;
  const rte_mbuf* m;   // bytes in this mbuf chain from `off`; nullptr: at `p`
  const uint8_t* p;    // contiguous bytes (m == nullptr, !hole): a copy chunk or one segment
  uint32_t off;
  uint32_t len;        // bytes, or the hole's length
  uint32_t lost;       // hole: bytes of it the receiver had acknowledged (capture loss)
  uint8_t dir;
  bool hole;
};

/* Calls f(bytes, len) for each contiguous piece of a data span (an mbuf
 * chain's segments). */
template <class F>
inline void each_piece(const Span& s, F&& f) noexcept {
  if (!s.m) {
    f(s.p, s.len);
    return;
  }
  const rte_mbuf* seg = s.m;
  uint32_t off = s.off, len = s.len;
  while (seg && off >= seg->data_len) {
    off -= seg->data_len;
    seg = seg->next;
  }
  for (; len && seg; seg = seg->next, off = 0) {
    const uint32_t n = std::min<uint32_t>(len, seg->data_len - off);
    f(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), n);
    len -= n;
  }
}

class Reassembler {
 public:
  static constexpr uint32_t kChunk = 2048;        // copy chunk bytes
  static constexpr uint32_t kCollapseMax = 512;   // segments this small are copied

  /* `nodes`: the most segments held at once by this worker; `chunks`: copy
   * chunks (0: nodes / 16). */
  Reassembler(const Limits& lim, uint32_t nodes, Stats* s, uint32_t chunks = 0);
  ~Reassembler();
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  /* SYN (or SYN-ACK) with sequence `isn`. Returns false for a SYN that
   * disagrees with the ISN already known (the caller decides: port reuse). */
  bool syn(HalfStream& h, uint32_t isn) noexcept;

  /* A segment's payload: `len` bytes at offset `off` of mbuf `m`, first
   * byte numbered `seq`. May take a reference on `m`. */
  void data(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off, uint32_t seq,
            uint32_t len, uint64_t now_ns) noexcept;

  /* `len` bytes from `seq` were sent but not captured (a record cut at
   * the capture's snap length): declared as a hole at once when the
   * stream has reached them; otherwise the hole is found as any other. */
  void uncaptured(HalfStream& h, void* owner, int dir, uint32_t seq, uint32_t len) noexcept;

  /* FIN at sequence `seq` (after the segment's payload). */
  void fin(HalfStream& h, void* owner, int dir, uint32_t seq, uint64_t now_ns) noexcept;

  /* The peer acknowledged up to `ack` in this direction. */
  void ack(HalfStream& h, void* owner, int dir, uint32_t ack, uint64_t now_ns) noexcept;

  /* Declares holes whose time is up (called on packets of the flow and
   * from the flow sweeper). */
  void check_timers(HalfStream& h, void* owner, int dir, uint64_t now_ns) noexcept;

  /* Connection end: delivers everything held, declaring the holes between. */
  void flush(HalfStream& h, void* owner, int dir) noexcept;

  const Limits& limits() const noexcept { return lim_; }
  /* One held-run node, for the memory plan (the chunks are nodes / 16). */
  static constexpr size_t bytes_per_node() noexcept { return sizeof(Node) + kChunk / 16; }

  /* What the calls since the last done() delivered, in order. */
  std::span<const Span> delivered() const noexcept { return {out_.data(), out_n_}; }
  /* The caller has read delivered(): gives back the memory behind it. */
  void done() noexcept {
    if (lent()) give_back();
    out_n_ = 0;
  }
  /* done() when nothing was lent. */
  void clear_delivered() noexcept { out_n_ = 0; }
  /* Memory behind delivered() waits for done(). */
  bool lent() const noexcept { return !lent_mbufs_.empty() || !lent_chunks_.empty(); }

  /* Moves the counters every in-order segment touches (segments,
   * in_order, bytes_delivered), tallied in plain fields, into Stats: the
   * caller's, once per burst and idle poll. Until then readers of those
   * three see them a burst late. */
  void commit() noexcept {
    if (!t_.segments && !t_.bytes_delivered) return;
    s_->segments.add(t_.segments);
    s_->in_order.add(t_.in_order);
    s_->bytes_delivered.add(t_.bytes_delivered);
    t_ = {};
  }

 private:
  struct Tally {
    uint64_t segments = 0, in_order = 0, bytes_delivered = 0;
  };
  /* A held run of bytes: in an mbuf (by reference), or, with m == nullptr,
   * copied into chunk `off`. Nodes are also on one of two age lists (by
   * whether their stream saw its SYN), oldest first, for reclaiming. */
  struct Node {
    rte_mbuf* m;
    uint32_t seq;
    uint32_t len;
    uint32_t off;
    uint32_t next;
    uint32_t older, newer;  // age list links
    uint8_t list;           // which age list: 1 no handshake, 0 handshake
    uint8_t dir;
    HalfStream* h;          // the stream holding it
    void* owner;
  };

  void deliver(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off,
               uint32_t len) noexcept;
  void drain(HalfStream& h, void* owner, int dir) noexcept;
  void declare_hole(HalfStream& h, void* owner, int dir, uint32_t upto) noexcept;
  void update_gauges() noexcept;
  void drop_past_fin(HalfStream& h) noexcept;
  void settle_pickup(HalfStream& h, void* owner, int dir) noexcept;
  bool insert_ofo(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off, uint32_t seq,
                  uint32_t len, uint64_t now_ns) noexcept;
  /* Frees a node; `lent`: its bytes were delivered, so its mbuf reference
   * or chunk is kept until done(). */
  void release(uint32_t idx, bool lent = false) noexcept;
  void put(const Span& s) noexcept;
  void give_back() noexcept;
  uint32_t alloc_node(HalfStream& h, void* owner, int dir) noexcept;
  bool same_bytes(const rte_mbuf* a, uint32_t aoff, const Node& b, uint32_t at,
                  uint32_t len) const noexcept;
  const uint8_t* node_bytes(const Node& n, uint32_t at, uint32_t len, uint8_t* buf) const noexcept;
  uint8_t* chunk(uint32_t i) const noexcept { return chunks_.get() + size_t(i) * kChunk; }
  uint32_t collapse(HalfStream& h, uint32_t prev, uint32_t cur, rte_mbuf* m, uint32_t off,
                    uint32_t seq, uint32_t piece, void* owner, int dir) noexcept;
  bool reclaim(HalfStream& self, uint64_t now_ns) noexcept;
  void check_in_order_overlap(const HalfStream& h, rte_mbuf* m, uint32_t off, uint32_t seq,
                              uint32_t len) noexcept;

  Limits lim_;
  Stats* s_;
  Tally t_;                             // commit() moves it into *s_
  std::vector<Span> out_;               // delivery list: capacity fixed at construction
  uint32_t out_n_ = 0;
  std::vector<rte_mbuf*> lent_mbufs_;   // behind delivered spans, until done()
  std::vector<uint32_t> lent_chunks_;
  std::vector<Node> nodes_;
  uint32_t free_head_ = kNil;
  uint32_t oldest_[2] = {kNil, kNil}, newest_[2] = {kNil, kNil};
  std::unique_ptr<uint8_t[]> chunks_;   // uninitialised: pages are touched when used
  std::vector<uint32_t> free_chunks_;
  uint64_t mem_in_use_ = 0;
  uint64_t bytes_in_use_ = 0;
  uint64_t mbufs_in_use_ = 0;
};

}  // namespace reasm
