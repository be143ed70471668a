/* tcp: what each segment's control bits do to a tracked connection.
 *
 * A passive monitor sees every packet, forged or stale ones included, but
 * only the endpoints decide what a packet did. judge() applies the checks
 * a receiving TCP makes (RFC 9293 3.10.7.4, hardened by RFC 5961) to the
 * segment's RST, SYN and FIN bits, against the sequence space the tracker
 * has seen, and returns what the caller should do: track the segment as
 * it is, with a control bit cleared, start a new connection on the
 * 4-tuple, end the connection, or ignore the segment. It changes nothing
 * but the tracker's own bits (Flow::tcp); the caller (lib/inspect) applies
 * the decision on its own flow reference.
 *
 * The receiver's window is not known exactly (window scaling is
 * negotiated in options a capture may not hold), so "in window" means
 * within kWindow bytes of the next byte the receiver expects. That byte is
 * known two ways: the next byte reassembly expects, and the highest ACK
 * the receiver sent (either may lag: capture loss, ACKs not yet seen).
 *
 * Policy, with the counter each rejection moves (tcp/counters.def):
 *  - A control segment whose TCP checksum is wrong is dropped by the
 *    receiver, so it changes nothing (bad_checksum); a checksum left to
 *    offload (zero, or the pseudo-header sum) is not judged wrong.
 *  - RST: ends the connection only at exactly the expected sequence
 *    (rst_accepted), or answering a SYN whose ISN it acknowledges. In
 *    window but not exact, or with nothing to check against, it is held
 *    (rst_held): the connection closes unless the endpoints send more
 *    data, which clears the hold (rst_held_then_used). Outside the window
 *    it is ignored (rst_out_of_window). A TCP-MD5 or TCP-AO option that
 *    the connection's SYN did not negotiate, or its absence where the SYN
 *    did, makes the receiver drop the RST (Linux: TCPMD5Unexpected,
 *    TCPMD5NotFound), so Loom ignores it too.
 *  - SYN: on a connection that is over (both FINs, or an RST) it starts a
 *    new one (port reuse, RFC 6191), unless it repeats the old ISN (a late
 *    duplicate: syn_stale). On a live connection a new ISN is answered by
 *    a challenge ACK and changes nothing (syn_on_open); the new connection
 *    is real only when the server's SYN-ACK acknowledges that ISN
 *    (reuse_synack).
 *  - FIN: one below data already delivered (fin_stale)
 *    or past the window (fin_out_of_window) is ignored; the segment's data
 *    still counts.
 *
 * Thread: the worker's; pure but for Flow::tcp and the counters.
 */
#pragma once

#include <cstdint>
#include <string>

#include <rte_mbuf.h>

#include "core/counters.h"
#include "flow/flow.h"
#include "pkt/parse.h"
#include "reasm/reasm.h"

namespace tcp {

struct Stats {
#define LOOM_COUNTERS_DEF "tcp/counters.def"
#include "core/counters_body.inc"
};

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

/* Flow::tcp bits. */
enum TrackFlags : uint8_t {
  kAuthMd5 = 1,   // the connection's SYN carried TCP-MD5 (RFC 2385)
  kAuthAo = 2,    // ... or TCP-AO (RFC 5925)
  kRstHeld = 4,   // an RST was held: the connection closes unless used again
  // What the connection saw, for its stream records (never cleared):
  kSawRstIgnored = 8,   // an RST the receiver would drop
  kSawSynIgnored = 16,  // a SYN the receiver would drop (or answer with a challenge ACK)
  kSawFinIgnored = 32,  // a FIN the receiver would drop
  kSawRstHeld = 64,     // an RST held (see kRstHeld)
};
constexpr uint8_t kSawAny = kSawRstIgnored | kSawSynIgnored | kSawFinIgnored | kSawRstHeld;

/* Appends ,"tcp_anomalies":[...] for the kSaw* bits of `bits` (nothing
 * when none is set, so ordinary connections' records stay as they were). */
void anomalies_json(std::string& o, uint8_t bits);

/* 16 MiB: four times Linux's default largest receive window (tcp_rmem
 * 6 MiB); a forged or stale sequence is usually far outside it. */
constexpr uint32_t kWindow = 16u << 20;

enum class Act : uint8_t {
  kTrack,   // take the segment with Decision::flags
  kReuse,   // a new connection on the 4-tuple: end the old one, then track
  kEnd,     // an accepted RST: the connection is over
  kHold,    // an RST held (see the header): close unless used again
  kIgnore,  // the receiver drops the whole segment
};

struct Decision {
  Act act;
  uint8_t flags;       // the control bits to act on (rejected ones cleared)
  uint32_t client_isn; // kReuse from a SYN-ACK: the new client's ISN (its ACK - 1)
};

/* The TCP options judge() reads, only on SYN and RST segments. */
struct Options {
  bool md5 = false, ao = false;
};
Options read_options(const rte_mbuf* m, const pkt::Parsed& p) noexcept;

/* The TCP checksum is wrong (the receiver would drop the segment). A zero
 * field, or one holding only the pseudo-header sum (checksum offload on
 * the capturing host), is unverifiable and not wrong. */
bool bad_checksum(const rte_mbuf* m, const pkt::Parsed& p) noexcept;

/* A segment with RST, SYN or FIN: the checks above. */
Decision judge_control(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                       const rte_mbuf* m, Stats& s) noexcept;

/* `dir` is the key side that sent the segment; `hs` the connection's two
 * reassembly halves (its record's, inspect/conn.h), which say what each
 * side's receiver expects. Inline: almost every segment carries no
 * control bit, and then there is nothing to judge. */
inline Decision judge(flow::Flow& f, const reasm::HalfStream* hs, int dir, const pkt::Parsed& p,
                      const rte_mbuf* m, Stats& s) noexcept {
  if (!(p.tcp_flags & (kRst | kSyn | kFin))) [[likely]]
    return {Act::kTrack, p.tcp_flags, 0};
  return judge_control(f, hs, dir, p, m, s);
}

/* The endpoints used the connection after a held RST (data or FIN): it
 * lives on. True when a hold was cleared. */
inline bool clear_hold(flow::Flow& f, Stats& s) noexcept {
  if (!(f.tcp & kRstHeld)) return false;
  f.tcp &= uint8_t(~kRstHeld);
  s.rst_held_then_used.add(1);
  return true;
}

}  // namespace tcp
