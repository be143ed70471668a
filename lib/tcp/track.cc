#include "tcp/track.h"

#include <string>

#include <rte_ip.h>

#include "reasm/reasm.h"

namespace tcp {

using reasm::seq_lt;

Options read_options(const rte_mbuf* m, const pkt::Parsed& p) noexcept {
  Options o;
  // parse() checked that the whole TCP header, options included, lies in
  // the first segment.
  const uint8_t* t = rte_pktmbuf_mtod(m, const uint8_t*);
  uint32_t i = uint32_t(p.l4_off) + 20;
  const uint32_t end = p.payload_off;
  while (i < end) {
    const uint8_t kind = t[i];
    if (kind == 0) break;      // end of option list
    if (kind == 1) {           // no-operation
      i++;
      continue;
    }
    if (i + 1 >= end) break;
    const uint8_t len = t[i + 1];
    if (len < 2 || i + len > end) break;  // malformed: what follows is not options
    if (kind == 19) o.md5 = true;
    if (kind == 29) o.ao = true;
    i += len;
  }
  return o;
}

bool bad_checksum(const rte_mbuf* m, const pkt::Parsed& p) noexcept {
  if (p.missing) return false;  // cut by the capture: nothing to check it against
  const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t l4_len = uint32_t(p.payload_off - p.l4_off) + p.payload_len;
  uint16_t phdr;
  if (p.ip_version == 4) {
    phdr = rte_ipv4_phdr_cksum(reinterpret_cast<const rte_ipv4_hdr*>(f + p.l3_off), 0);
  } else {
    // The pseudo-header's length is the upper-layer packet's: with
    // extension headers in between, IPv6's payload length is not it.
    if (p.l4_off != p.l3_off + 40) return false;
    phdr = rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(f + p.l3_off), 0);
  }
  const uint16_t field = uint16_t(f[p.l4_off + 16] << 8 | f[p.l4_off + 17]);
  // Checksum offload on the capturing host leaves the pseudo-header sum in
  // the field of what it sends (or nothing): unverifiable, not wrong.
  if (field == 0 || field == rte_be_to_cpu_16(phdr)) return false;
  uint32_t sum = 0;
  if (rte_raw_cksum_mbuf(m, p.l4_off, l4_len, reinterpret_cast<uint16_t*>(&sum)) != 0) return false;
  sum = (sum & 0xFFFF) + phdr;
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  return sum != 0xFFFF;
}

namespace {

/* Where the receiver of a direction's bytes stands: the next byte
 * reassembly expects and the highest ACK the receiver sent. */
struct Expect {
  bool known = false;
  uint32_t a = 0, b = 0;  // the two estimates (equal when only one is known)

  explicit Expect(const reasm::HalfStream& h) noexcept {
    if (h.seq_known) {
      known = true;
      a = b = h.next_seq;
    }
    if (h.ack_known) {
      if (!known) a = h.peer_ack;
      known = true;
      b = h.peer_ack;
    }
    if (seq_lt(b, a)) std::swap(a, b);
  }
  bool exact(uint32_t s) const noexcept { return known && (s == a || s == b); }
  /* RCV.NXT <= s < RCV.NXT + RCV.WND, with the estimates' spread. */
  bool in_window(uint32_t s) const noexcept {
    return known && !seq_lt(s, a) && uint32_t(s - b) < kWindow;
  }
};

Decision track(uint8_t flags) noexcept { return {Act::kTrack, flags, 0}; }
Decision act(Act a, uint8_t flags = 0, uint32_t isn = 0) noexcept { return {a, flags, isn}; }

bool over(const flow::Flow& f, const reasm::HalfStream* hs) noexcept {
  return (f.flags & flow::kEnded) || (f.tcp & kRstHeld) ||
         (hs[0].fin_seen && hs[1].fin_seen);
}

Decision judge_rst(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                   const rte_mbuf* m, Stats& s) noexcept {
  const reasm::HalfStream& h = hs[dir];
  const reasm::HalfStream& peer = hs[1 - dir];
  // Third, security (RFC 9293 step 3, taken first: a receiver that drops
  // the segment for its options never looks at its RST bit). TCP-MD5 and
  // TCP-AO are all or nothing per connection, decided by its SYN.
  const Options o = read_options(m, p);
  const bool signed_rst = o.md5 || o.ao;
  const bool syn_known = h.syn_seen || peer.syn_seen;
  const bool negotiated = f.tcp & (kAuthMd5 | kAuthAo);
  if (syn_known && signed_rst && !negotiated) {
    s.rst_bad_auth.add(1);
    return act(Act::kIgnore);
  }
  if (negotiated && !signed_rst) {
    s.rst_missing_auth.add(1);
    return act(Act::kIgnore);
  }
  // Second, the RST bit (RFC 5961 3.2). SYN-SENT first (RFC 9293
  // 3.10.7.3): an RST that acknowledges the SYN refuses the connection.
  const uint8_t fl = p.tcp_flags;
  if (!h.seq_known && peer.syn_seen && (fl & kAck) && p.ack == peer.isn + 1 &&
      !(signed_rst && !syn_known)) {
    s.rst_accepted.add(1);
    return act(Act::kEnd);
  }
  const Expect e(h);
  // A signature Loom cannot check on a connection whose SYN it never saw
  // proves nothing either way: at most a hold.
  if (e.exact(p.seq) && !(signed_rst && !syn_known)) {
    s.rst_accepted.add(1);
    return act(Act::kEnd);
  }
  if (!e.known || e.in_window(p.seq)) {
    s.rst_held.add(1);
    return act(Act::kHold);
  }
  s.rst_out_of_window.add(1);
  return act(Act::kIgnore);
}

Decision judge_syn(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                   Stats& s) noexcept {
  const reasm::HalfStream& h = hs[dir];
  const reasm::HalfStream& peer = hs[1 - dir];
  const uint8_t fl = p.tcp_flags;
  const bool ended = f.flags & flow::kEnded;
  const bool same_isn = h.syn_seen && p.seq == h.isn;
  if (fl & kAck) {
    // A SYN-ACK that acknowledges an ISN other than the client's known one
    // answers a new SYN: the server took a new connection (proof that a
    // SYN Loom ignored, or never saw, was real).
    const bool new_client = peer.syn_seen && p.ack != peer.isn + 1;
    if ((new_client && !same_isn) || (ended && h.syn_seen && !same_isn)) {
      s.reuse_synack.add(1);
      return act(Act::kReuse, fl, p.ack - 1);
    }
    return track(fl);
  }
  // Fourth, the SYN bit (RFC 9293 step 4; RFC 5961 4.2 for a live one).
  if (ended || (h.syn_seen && !same_isn)) {
    if (same_isn) {
      s.syn_stale.add(1);
      return act(Act::kIgnore);
    }
    if (!over(f, hs)) {
      s.syn_on_open.add(1);
      return act(Act::kIgnore);
    }
    s.reuse_syn.add(1);
    return act(Act::kReuse, fl);
  }
  return track(fl);
}

}  // namespace

namespace {

/* judge_control()'s decision, before it is noted on the flow. */
Decision decide(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                const rte_mbuf* m, Stats& s) noexcept {
  uint8_t fl = p.tcp_flags;
  // Over and reported: only a SYN can matter now (a new connection).
  if ((f.flags & flow::kEnded) && !(fl & kSyn)) return track(fl);
  // First of all, the receiver drops a segment whose checksum is wrong
  // (the classic way to show a monitor a packet the endpoint never takes).
  // Only control segments are checked: they are few, and they are what
  // ends a connection.
  if (bad_checksum(m, p)) {
    s.bad_checksum.add(1);
    return act(Act::kIgnore);
  }
  if (fl & kRst) return judge_rst(f, hs, dir, p, m, s);
  if (fl & kSyn) {
    Decision d = judge_syn(f, hs, dir, p, s);
    if (d.act == Act::kIgnore) return d;
    // The connection's SYN (a new one on reuse) says whether it signs its
    // segments.
    if (!(fl & kAck) && (d.act == Act::kReuse || !hs[dir].syn_seen)) {
      const Options o = read_options(m, p);
      f.tcp = uint8_t((f.tcp & ~(kAuthMd5 | kAuthAo)) | (o.md5 ? kAuthMd5 : 0) |
                      (o.ao ? kAuthAo : 0));
    }
    if (d.act == Act::kReuse) return d;
    fl = d.flags;
  }
  // Eighth, the FIN bit: it must sit where the direction's data can end.
  const reasm::HalfStream& h = hs[dir];
  if ((fl & kFin) && h.seq_known) {
    const uint32_t at = p.seq + ((fl & kSyn) ? 1 : 0) + p.payload_len + p.missing;
    if (!(h.fin_seen && at == h.fin_seq)) {
      if (seq_lt(at, h.next_seq)) {
        s.fin_stale.add(1);
        fl &= uint8_t(~kFin);
      } else if (uint32_t(at - h.next_seq) >= kWindow) {
        s.fin_out_of_window.add(1);
        fl &= uint8_t(~kFin);
      }
    }
  }
  return track(fl);
}

}  // namespace

Decision judge_control(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                       const rte_mbuf* m, Stats& s) noexcept {
  const Decision d = decide(f, hs, dir, p, m, s);
  // Flag what was rejected on the connection, for its records.
  const uint8_t fl = p.tcp_flags;
  if (d.act == Act::kIgnore)
    f.tcp |= (fl & kRst) ? kSawRstIgnored : (fl & kSyn) ? kSawSynIgnored : kSawFinIgnored;
  else if (d.act == Act::kHold)
    f.tcp |= kSawRstHeld;
  else if ((fl & kFin) && !(d.flags & kFin))
    f.tcp |= kSawFinIgnored;
  return d;
}

void anomalies_json(std::string& o, uint8_t bits) {
  if (!(bits & kSawAny)) return;
  static constexpr struct {
    uint8_t bit;
    const char* name;
  } kNames[] = {{kSawRstIgnored, "rst_ignored"}, {kSawSynIgnored, "syn_ignored"},
                {kSawFinIgnored, "fin_ignored"}, {kSawRstHeld, "rst_held"}};
  o += ",\"tcp_anomalies\":[";
  bool first = true;
  for (const auto& n : kNames) {
    if (!(bits & n.bit)) continue;
    if (!first) o += ',';
    first = false;
    o += '"';
    o += n.name;
    o += '"';
  }
  o += ']';
}

}  // namespace tcp
