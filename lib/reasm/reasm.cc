#include "reasm/reasm.h"

#include <algorithm>
#include <cstring>

namespace reasm {

Reassembler::Reassembler(const Limits& lim, uint32_t nodes, Stats* s, uint32_t chunks)
    : lim_(lim), s_(s), nodes_(size_t(nodes) + 1) {
  // One call delivers each held node at most once, and declares at most
  // one hole before each node it delivers (and one more at a FIN).
  out_.resize(2 * size_t(nodes) + 16);
  lent_mbufs_.reserve(nodes);
  for (uint32_t i = 1; i < nodes_.size(); i++) nodes_[i].next = i + 1 < nodes_.size() ? i + 1 : kNil;
  free_head_ = nodes_.size() > 1 ? 1 : kNil;
  if (!chunks) chunks = std::max<uint32_t>(16, nodes / 16);
  chunks_ = std::make_unique_for_overwrite<uint8_t[]>(size_t(chunks) * kChunk);
  free_chunks_.reserve(chunks);
  lent_chunks_.reserve(chunks);
  for (uint32_t i = chunks; i-- > 0;) free_chunks_.push_back(i);
}

Reassembler::~Reassembler() {
  // Flows are flushed before the worker goes away; anything still held
  // here would be a leak of mbuf references, so give them back.
  done();
  for (size_t i = 1; i < nodes_.size(); i++)
    if (nodes_[i].m) rte_pktmbuf_free(nodes_[i].m);
}

uint32_t Reassembler::alloc_node(HalfStream& h, void* owner, int dir) noexcept {
  const uint32_t i = free_head_;
  if (i == kNil) return i;
  free_head_ = nodes_[i].next;
  Node& n = nodes_[i];
  n.h = &h;
  n.owner = owner;
  n.dir = uint8_t(dir);
  n.list = h.syn_seen ? 0 : 1;
  n.older = newest_[n.list];
  n.newer = kNil;
  if (n.older != kNil)
    nodes_[n.older].newer = i;
  else
    oldest_[n.list] = i;
  newest_[n.list] = i;
  return i;
}

void Reassembler::update_gauges() noexcept {
  s_->ofo_bytes_in_use.set(bytes_in_use_);
  s_->ofo_mbufs_in_use.set(mbufs_in_use_);
  s_->ofo_mem_in_use.set(mem_in_use_);
  if (bytes_in_use_ > s_->ofo_bytes_peak.get()) s_->ofo_bytes_peak.set(bytes_in_use_);
  if (mbufs_in_use_ > s_->ofo_mbufs_peak.get()) s_->ofo_mbufs_peak.set(mbufs_in_use_);
  if (mem_in_use_ > s_->ofo_mem_peak.get()) s_->ofo_mem_peak.set(mem_in_use_);
}

[[gnu::always_inline]] inline void Reassembler::put(const Span& sp) noexcept {
  if (out_n_ == out_.size()) [[unlikely]] {  // cannot happen by construction: counted, not written
    s_->delivery_overflow.add(1);
    return;
  }
  out_[out_n_++] = sp;
}

void Reassembler::give_back() noexcept {
  if (!lent_mbufs_.empty()) rte_pktmbuf_free_bulk(lent_mbufs_.data(), unsigned(lent_mbufs_.size()));
  lent_mbufs_.clear();
  free_chunks_.insert(free_chunks_.end(), lent_chunks_.begin(), lent_chunks_.end());
  lent_chunks_.clear();
}

void Reassembler::release(uint32_t idx, bool lent) noexcept {
  Node& n = nodes_[idx];
  (n.older != kNil ? nodes_[n.older].newer : oldest_[n.list]) = n.newer;
  (n.newer != kNil ? nodes_[n.newer].older : newest_[n.list]) = n.older;
  bytes_in_use_ -= n.len;
  if (n.m) {
    mem_in_use_ -= n.m->buf_len;
    mbufs_in_use_--;
    if (lent)
      lent_mbufs_.push_back(n.m);
    else
      rte_pktmbuf_free(n.m);  // drops our reference; frees when it was the last
  } else {
    mem_in_use_ -= kChunk;
    (lent ? lent_chunks_ : free_chunks_).push_back(n.off);
  }
  n.m = nullptr;
  n.next = free_head_;
  free_head_ = idx;
}

bool Reassembler::syn(HalfStream& h, uint32_t isn) noexcept {
  if (h.syn_seen) return isn == h.isn;  // a retransmitted SYN is harmless
  if (h.seq_known && h.delivered) return false;
  h.syn_seen = true;
  h.isn = isn;
  h.seq_known = true;
  h.next_seq = isn + 1;  // the SYN occupies one sequence number
  return true;
}

void Reassembler::deliver(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off,
                          uint32_t len) noexcept {
  h.next_seq += len;
  h.delivered += len;
  t_.bytes_delivered += len;
  if (h.fin_seen && h.next_seq == h.fin_seq) h.fin_done = true;
  if (!m)  // a copy chunk: `off` is its index
    put({owner, nullptr, chunk(off), 0, len, 0, uint8_t(dir), false});
  else if (off + len <= m->data_len)  // within the first segment: the usual case
    put({owner, nullptr, rte_pktmbuf_mtod_offset(m, const uint8_t*, off), 0, len, 0,
         uint8_t(dir), false});
  else
    put({owner, m, nullptr, off, len, 0, uint8_t(dir), false});
}

void Reassembler::drain(HalfStream& h, void* owner, int dir) noexcept {
  while (h.ofo_head != kNil) {
    Node& n = nodes_[h.ofo_head];
    if (seq_gt(n.seq, h.next_seq)) break;  // still a hole before it
    if (h.fin_seen && !seq_lt(n.seq, h.fin_seq)) break;  // past the FIN: wait for the ACK
    const uint32_t end = n.seq + n.len;
    const bool lent = seq_gt(end, h.next_seq);
    if (lent) {
      const uint32_t cut = h.next_seq - n.seq;
      if (n.m) {
        deliver(h, owner, dir, n.m, n.off + cut, n.len - cut);
      } else {
        // Shift the chunk's bytes so that deliver() reads them from its start.
        if (cut) std::memmove(chunk(n.off), chunk(n.off) + cut, n.len - cut);
        deliver(h, owner, dir, nullptr, n.off, n.len - cut);
      }
    }
    const uint32_t idx = h.ofo_head;
    h.ofo_head = n.next;
    h.ofo_n--;
    h.ofo_bytes -= n.len;
    release(idx, lent);
  }
  if (h.ofo_head == kNil) h.hole_since_ns = 0;
  update_gauges();
}

void Reassembler::declare_hole(HalfStream& h, void* owner, int dir, uint32_t upto) noexcept {
  if (h.fin_seen && seq_gt(upto, h.fin_seq)) upto = h.fin_seq;  // nothing is lost past the FIN
  const uint32_t len = upto - h.next_seq;
  if (seq_le(upto, h.next_seq)) return;
  const uint32_t lost = acked_in_hole(h, len);
  s_->capture_loss_bytes.add(lost);
  put({owner, nullptr, nullptr, 0, len, lost, uint8_t(dir), true});
  h.gaps++;
  h.gap_bytes += len;
  s_->gaps.add(1);
  s_->gap_bytes.add(len);
  h.next_seq = upto;
  if (h.fin_seen && seq_ge(h.next_seq, h.fin_seq)) {
    h.next_seq = h.fin_seq;
    h.fin_done = true;
    drop_past_fin(h);
  }
  drain(h, owner, dir);
}

void Reassembler::drop_past_fin(HalfStream& h) noexcept {
  // Held bytes at or past the FIN cannot be part of the stream (they were
  // queued before the FIN was seen). The list is sorted: cut its tail.
  uint32_t prev = kNil, cur = h.ofo_head;
  while (cur != kNil && seq_lt(nodes_[cur].seq, h.fin_seq)) {
    Node& n = nodes_[cur];
    if (seq_gt(n.seq + n.len, h.fin_seq)) {
      h.ofo_bytes -= n.len - (h.fin_seq - n.seq);
      bytes_in_use_ -= n.len - (h.fin_seq - n.seq);
      n.len = h.fin_seq - n.seq;
    }
    prev = cur;
    cur = n.next;
  }
  if (prev == kNil)
    h.ofo_head = kNil;
  else
    nodes_[prev].next = kNil;
  while (cur != kNil) {
    const uint32_t next = nodes_[cur].next;
    h.ofo_n--;
    h.ofo_bytes -= nodes_[cur].len;
    s_->ofo_dropped.add(1);
    release(cur);
    cur = next;
  }
  update_gauges();
}

const uint8_t* Reassembler::node_bytes(const Node& n, uint32_t at, uint32_t len,
                                       uint8_t* buf) const noexcept {
  if (!n.m) return chunk(n.off) + at;
  return static_cast<const uint8_t*>(rte_pktmbuf_read(n.m, n.off + at, len, buf));
}

bool Reassembler::same_bytes(const rte_mbuf* a, uint32_t aoff, const Node& b, uint32_t at,
                             uint32_t len) const noexcept {
  uint8_t ba[128], bb[128];
  while (len) {
    const uint32_t n = std::min<uint32_t>(len, sizeof ba);
    const void* pa = rte_pktmbuf_read(a, aoff, n, ba);
    const void* pb = node_bytes(b, at, n, bb);
    if (!pa || !pb || std::memcmp(pa, pb, n) != 0) return false;
    len -= n;
    aoff += n;
    at += n;
  }
  return true;
}

namespace {

void copy_out(const rte_mbuf* m, uint32_t off, uint32_t n, uint8_t* dst) noexcept {
  const void* p = rte_pktmbuf_read(m, off, n, dst);
  if (p && p != dst) std::memcpy(dst, p, n);
}

}  // namespace

/* Takes a small piece into a copy chunk: appended to the held run just
 * before it, put in front of the one just after it, or in a chunk of its
 * own. Returns the node now holding it, or kNil (hold it by reference). */
uint32_t Reassembler::collapse(HalfStream& h, uint32_t prev, uint32_t cur, rte_mbuf* m,
                               uint32_t off, uint32_t seq, uint32_t piece, void* owner,
                               int dir) noexcept {
  if (piece > kCollapseMax) return kNil;
  // Never join across the FIN: bytes past it wait for an ACK on their own.
  const bool at_fin = h.fin_seen && (seq == h.fin_seq || seq + piece == h.fin_seq);
  if (prev != kNil && !at_fin) {
    Node& p = nodes_[prev];
    if (!p.m && p.seq + p.len == seq && p.len + piece <= kChunk) {
      copy_out(m, off, piece, chunk(p.off) + p.len);
      p.len += piece;
      h.ofo_bytes += piece;
      bytes_in_use_ += piece;
      s_->ofo_collapsed.add(1);
      return prev;
    }
  }
  if (cur != kNil && !at_fin) {
    Node& c = nodes_[cur];
    if (!c.m && seq + piece == c.seq && c.len + piece <= kChunk) {
      // Segments arriving in reverse: each goes in front of the last.
      std::memmove(chunk(c.off) + piece, chunk(c.off), c.len);
      copy_out(m, off, piece, chunk(c.off));
      c.seq = seq;
      c.len += piece;
      h.ofo_bytes += piece;
      bytes_in_use_ += piece;
      s_->ofo_collapsed.add(1);
      return cur;
    }
  }
  if (free_chunks_.empty()) return kNil;
  const uint32_t idx = alloc_node(h, owner, dir);
  if (idx == kNil) return kNil;
  Node& n = nodes_[idx];
  n.m = nullptr;
  n.off = free_chunks_.back();
  free_chunks_.pop_back();
  n.seq = seq;
  n.len = piece;
  n.next = cur;
  copy_out(m, off, piece, chunk(n.off));
  if (prev == kNil)
    h.ofo_head = idx;
  else
    nodes_[prev].next = idx;
  h.ofo_n++;
  h.ofo_bytes += piece;
  mem_in_use_ += kChunk;
  bytes_in_use_ += piece;
  return idx;
}

/* Over the memcap or out of nodes: give back the oldest held data of
 * another stream, preferring streams seen without their handshake. False
 * when the oldest is this stream's own (its own limits handle it) or
 * nothing is held. */
bool Reassembler::reclaim(HalfStream& self, uint64_t now_ns) noexcept {
  const int list = oldest_[1] != kNil ? 1 : 0;
  const uint32_t v = oldest_[list];
  if (v == kNil || nodes_[v].h == &self) return false;
  HalfStream& vh = *nodes_[v].h;
  void* owner = nodes_[v].owner;
  const int dir = nodes_[v].dir;
  const uint32_t before = vh.ofo_n;
  if (!vh.seq_known)
    settle_pickup(vh, owner, dir);
  else if (vh.fin_seen && !seq_lt(nodes_[vh.ofo_head].seq, vh.fin_seq))
    drop_past_fin(vh);  // unacknowledged data past a FIN is the first to go
  else
    declare_hole(vh, owner, dir, nodes_[vh.ofo_head].seq);
  vh.hole_since_ns = vh.ofo_head != kNil ? now_ns : 0;
  s_->ofo_reclaimed.add(before - vh.ofo_n);
  return vh.ofo_n < before;  // no progress: let the caller drop instead of looping
}

void Reassembler::check_in_order_overlap(const HalfStream& h, rte_mbuf* m, uint32_t off,
                                         uint32_t seq, uint32_t len) noexcept {
  const uint32_t end = seq + len;
  for (uint32_t i = h.ofo_head; i != kNil && seq_lt(nodes_[i].seq, end); i = nodes_[i].next) {
    const Node& n = nodes_[i];
    const uint32_t lo = seq_gt(n.seq, seq) ? n.seq : seq;
    const uint32_t hi = seq_lt(n.seq + n.len, end) ? n.seq + n.len : end;
    // A held run may end before this segment starts (still queued behind
    // next_seq until drain() trims it): nothing to compare. Without this
    // check hi - lo wrapped and the comparison read far past the run
    // (found by reasm_fuzz).
    if (!seq_lt(lo, hi)) continue;
    if (!same_bytes(m, off + (lo - seq), n, lo - n.seq, hi - lo)) s_->overlap_conflicts.add(1);
  }
}

void Reassembler::data(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off,
                       uint32_t seq, uint32_t len, uint64_t now_ns) noexcept {
  if (len == 0) return;
  t_.segments++;
  if (!h.seq_known) {
    // Mid-stream pickup: hold until the start is clear (see the header).
    if (h.fin_seen && seq_gt(seq + len, h.fin_seq)) {
      if (seq_ge(seq, h.fin_seq)) return;
      len = h.fin_seq - seq;
    }
    if (insert_ofo(h, owner, dir, m, off, seq, len, now_ns)) {
      if (++h.pickup_n >= lim_.pickup_segments) settle_pickup(h, owner, dir);
      return;
    }
    // No room to hold it: start the stream now and take this segment the
    // ordinary way.
    settle_pickup(h, owner, dir);
    if (!h.seq_known) {
      h.seq_known = true;
      h.next_seq = seq;
    }
  }
  if (h.fin_seen && seq_gt(seq + len, h.fin_seq)) {
    // Bytes past the FIN: no TCP sends them after its real FIN, so either
    // they are not the stream's or that FIN was not the sender's (forged,
    // or dropped before the receiver). Held until the receiver's ACK says
    // it took them (ack()); dropped at the end otherwise.
    const uint32_t before = seq_lt(seq, h.fin_seq) ? h.fin_seq - seq : 0;
    insert_ofo(h, owner, dir, m, off + before, seq + before, len - before, now_ns);
    if (!before) return;
    len = before;
  }
  if (h.fin_done) {
    s_->retransmits.add(1);
    return;
  }
  const uint32_t end = seq + len;
  if (seq_le(end, h.next_seq)) {
    // Keep-alives carry 0 or 1 byte just below the next expected byte.
    if (len <= 1 && seq == h.next_seq - 1)
      s_->keepalives.add(1);
    else
      s_->retransmits.add(1);
    return;
  }
  if (seq_lt(seq, h.next_seq)) {
    const uint32_t cut = h.next_seq - seq;
    seq += cut;
    off += cut;
    len -= cut;
    s_->retransmits.add(1);
  }
  if (h.fin_seen && seq_gt(seq + len, h.fin_seq)) {
    // Bytes past the FIN cannot belong to this stream.
    if (seq_ge(seq, h.fin_seq)) return;
    len = h.fin_seq - seq;
  }
  if (seq == h.next_seq) {
    t_.in_order++;
    if (h.ofo_head != kNil) check_in_order_overlap(h, m, off, seq, len);
    deliver(h, owner, dir, m, off, len);
    drain(h, owner, dir);
    return;
  }
  insert_ofo(h, owner, dir, m, off, seq, len, now_ns);
  check_timers(h, owner, dir, now_ns);
}

bool Reassembler::insert_ofo(HalfStream& h, void* owner, int dir, rte_mbuf* m, uint32_t off,
                             uint32_t seq, uint32_t len, uint64_t now_ns) noexcept {
  // Make room first: declare the oldest hole of this direction until the
  // segment fits its bounds and the worker's memcap. Each declaration
  // delivers what was held behind the hole (counted as pruned).
  for (;;) {
    const bool over_dir = h.ofo_n + 1 > lim_.max_ofo_segments ||
                          uint64_t(h.ofo_bytes) + len > lim_.max_ofo_bytes;
    // What holding it may cost: a chunk for a small piece, else its mbuf.
    const uint32_t cost = len <= kCollapseMax && !free_chunks_.empty() ? kChunk : m->buf_len;
    const bool over_mem = mem_in_use_ + cost > lim_.memcap_bytes;
    if (!over_dir && !over_mem && free_head_ != kNil) break;
    if (over_mem || free_head_ == kNil) {
      s_->memcap_hits.add(1);
      if (!over_dir && reclaim(h, now_ns)) continue;
    }
    if (!h.seq_known) return false;  // picking up: the caller settles first
    if (h.ofo_head == kNil) {
      // Nothing of ours to give back: the worker is full of other flows'
      // segments. Drop this one; it becomes a hole, declared later.
      s_->ofo_dropped.add(1);
      return false;
    }
    const uint32_t before = h.ofo_n;
    if (h.fin_seen && !seq_lt(nodes_[h.ofo_head].seq, h.fin_seq))
      drop_past_fin(h);  // only data past the FIN is held: it gives way first
    else
      declare_hole(h, owner, dir, nodes_[h.ofo_head].seq);
    if (h.ofo_n == before) {  // nothing could be given back: drop, never spin
      s_->ofo_dropped.add(1);
      return false;
    }
    s_->ofo_pruned.add(before - h.ofo_n);
    h.hole_since_ns = h.ofo_head != kNil ? now_ns : 0;
    // Past the FIN, bytes wait for the receiver's ACK: no shortcut.
    if (h.fin_seen && !seq_lt(seq, h.fin_seq)) continue;
    if (seq_le(seq + len, h.next_seq)) {
      s_->retransmits.add(1);
      return true;
    }
    if (seq_le(seq, h.next_seq)) {
      const uint32_t cut = h.next_seq - seq;
      deliver(h, owner, dir, m, off + cut, len - cut);
      drain(h, owner, dir);
      return true;
    }
  }
  if (h.ofo_head == kNil) h.hole_since_ns = now_ns;

  // Sorted insert; where the new segment overlaps held ones, the held
  // (first) copy wins and only the new bytes in between are kept.
  uint32_t prev = kNil, cur = h.ofo_head;
  bool queued = false, dropped = false;
  while (len) {
    uint32_t piece = len;
    if (cur != kNil) {
      const Node& c = nodes_[cur];
      const uint32_t cend = c.seq + c.len;
      if (seq_ge(seq, cend)) {
        prev = cur;
        cur = c.next;
        continue;
      }
      if (seq_ge(seq, c.seq)) {
        const uint32_t ov = std::min<uint32_t>(len, cend - seq);
        if (!same_bytes(m, off, c, seq - c.seq, ov)) s_->overlap_conflicts.add(1);
        seq += ov;
        off += ov;
        len -= ov;
        prev = cur;
        cur = c.next;
        continue;
      }
      piece = std::min<uint32_t>(len, c.seq - seq);
    }
    if (const uint32_t into = collapse(h, prev, cur, m, off, seq, piece, owner, dir); into != kNil) {
      // Put in front of cur: cur now starts where the rest of the segment
      // does, so the next pass compares that rest with cur's bytes.
      if (into != cur) prev = into;
      queued = true;
      seq += piece;
      off += piece;
      len -= piece;
      continue;
    }
    const uint32_t idx = alloc_node(h, owner, dir);
    if (idx == kNil) {
      s_->ofo_dropped.add(1);
      dropped = true;
      break;
    }
    for (rte_mbuf* s = m; s; s = s->next) rte_mbuf_refcnt_update(s, 1);
    Node& n = nodes_[idx];
    n.m = m;
    n.seq = seq;
    n.len = piece;
    n.off = off;
    n.next = cur;
    if (prev == kNil)
      h.ofo_head = idx;
    else
      nodes_[prev].next = idx;
    prev = idx;
    h.ofo_n++;
    h.ofo_bytes += piece;
    mem_in_use_ += m->buf_len;
    bytes_in_use_ += piece;
    mbufs_in_use_++;
    queued = true;
    seq += piece;
    off += piece;
    len -= piece;
  }
  if (queued)
    s_->ofo_queued.add(1);
  else if (!dropped)
    s_->retransmits.add(1);  // every byte already held: a duplicate
  update_gauges();
  return true;
}

void Reassembler::settle_pickup(HalfStream& h, void* owner, int dir) noexcept {
  if (h.seq_known || h.ofo_head == kNil) return;
  h.seq_known = true;
  h.next_seq = nodes_[h.ofo_head].seq;
  drain(h, owner, dir);
}

void Reassembler::uncaptured(HalfStream& h, void* owner, int dir, uint32_t seq,
                             uint32_t len) noexcept {
  if (h.seq_known && h.next_seq == seq) declare_hole(h, owner, dir, seq + len);
}

void Reassembler::fin(HalfStream& h, void* owner, int dir, uint32_t seq, uint64_t now_ns) noexcept {
  if (!h.fin_seen) {
    h.fin_seen = true;
    h.fin_seq = seq;
    drop_past_fin(h);
  }
  if (!h.seq_known) {
    if (h.ofo_head != kNil) {
      settle_pickup(h, owner, dir);
    } else {
      h.seq_known = true;
      h.next_seq = seq;
    }
  }
  if (seq_ge(h.next_seq, h.fin_seq)) h.fin_done = true;
  check_timers(h, owner, dir, now_ns);
}

void Reassembler::ack(HalfStream& h, void* owner, int dir, uint32_t a, uint64_t now_ns) noexcept {
  if (!h.ack_known || seq_gt(a, h.peer_ack)) {
    h.peer_ack = a;
    h.ack_known = true;
  }
  // The receiver took bytes past the FIN (the FIN itself takes one): it
  // never got that FIN, and the stream goes on.
  if (h.fin_seen && seq_gt(a, h.fin_seq + 1) && a - h.fin_seq < (1u << 30)) {
    h.fin_seen = h.fin_done = false;
    s_->fin_overrun.add(1);
    drain(h, owner, dir);
  }
  check_timers(h, owner, dir, now_ns);
}

/* Time since `since`, zero if the clock went backwards (packets of one
 * flow can arrive with earlier timestamps from another queue or port). */
static inline uint64_t elapsed(uint64_t now, uint64_t since) noexcept {
  return now > since ? now - since : 0;
}

void Reassembler::check_timers(HalfStream& h, void* owner, int dir, uint64_t now_ns) noexcept {
  if (!h.seq_known || h.fin_done) return;
  // hole_since_ns is meaningful whenever segments are held (a hole precedes
  // them by construction).
  if (h.ofo_head != kNil && elapsed(now_ns, h.hole_since_ns) > lim_.gap_timeout_ns) {
    declare_hole(h, owner, dir, nodes_[h.ofo_head].seq);
    h.hole_since_ns = h.ofo_head != kNil ? now_ns : 0;
  }
  // The peer holds bytes we never saw. Sanity bound: an ACK more than 1 GiB
  // ahead is garbage or a different connection, not evidence.
  if (h.ack_known && seq_gt(h.peer_ack, h.next_seq) && h.peer_ack - h.next_seq < (1u << 30)) {
    uint32_t target = h.peer_ack;
    if (h.fin_seen && seq_gt(target, h.fin_seq)) target = h.fin_seq;  // the ACK of the FIN
    if (h.ofo_head != kNil && seq_lt(nodes_[h.ofo_head].seq, target)) target = nodes_[h.ofo_head].seq;
    if (seq_le(target, h.next_seq)) {
      h.ack_hole_since_ns = 0;
    } else if (!h.ack_hole_since_ns) {
      h.ack_hole_since_ns = now_ns ? now_ns : 1;
    } else if (elapsed(now_ns, h.ack_hole_since_ns) > lim_.ack_gap_timeout_ns) {
      declare_hole(h, owner, dir, target);
      h.ack_hole_since_ns = 0;
    }
  } else {
    h.ack_hole_since_ns = 0;
  }
}

void Reassembler::flush(HalfStream& h, void* owner, int dir) noexcept {
  settle_pickup(h, owner, dir);
  if (h.fin_seen) drop_past_fin(h);  // nobody took them: not the stream's
  // Every iteration delivers at least the head node: declare_hole moves
  // next_seq to it (never past a FIN: drop_past_fin removed those).
  while (h.ofo_head != kNil) {
    if (seq_gt(nodes_[h.ofo_head].seq, h.next_seq))
      declare_hole(h, owner, dir, nodes_[h.ofo_head].seq);
    else
      drain(h, owner, dir);
  }
  // Bytes the FIN says were sent but that never came are a hole too.
  if (h.fin_seen && !h.fin_done && h.seq_known && seq_lt(h.next_seq, h.fin_seq))
    declare_hole(h, owner, dir, h.fin_seq);
  h.hole_since_ns = h.ack_hole_since_ns = 0;
}

}  // namespace reasm
