/* flow: the per-worker flow table.
 *
 * One entry per TCP connection for both directions: the key is canonical
 * (the lower address:port first), so a SYN and its SYN-ACK find the same
 * record, and the worker that symmetric RSS gives a connection owns it for
 * its whole life. IPv4 and IPv6, with the VLAN IDs and the tunnel identity
 * in the key (Key below).
 *
 * Storage is a Flow array allocated once at start-up on the worker's
 * socket, a free-slot stack, and an open-addressing index (linear probing,
 * at most half full, backward-shift deletion): one 32-bit entry per index
 * slot, the flow's slot plus 8 bits of its hash, so a probe rarely touches
 * a flow that is not the one sought. All max_flows_per_worker slots are
 * usable, and nothing is allocated per packet. It replaced an rte_hash,
 * which kept a second copy of every key and its own buckets (~73 bytes a
 * flow, ~330 with the record) and cost a lookup three cache misses (bucket,
 * key, record) where this costs two (index line, record). Lookups are done
 * in bulk per burst, the misses of a burst overlapped. The hash is a CRC32
 * (one SSE4.2 instruction per 8 bytes) of the canonical key, not the NIC's
 * RSS hash: net_pcap and af_packet deliver none, the RSS input has no
 * VLAN, and the index needs one function for every packet of a flow; the
 * RSS hash's job, choosing the worker, is done by then.
 *
 * Eviction is incremental: a clock hand visits a few slots per insert and
 * per idle poll and ends flows idle past their state's timeout (new,
 * established, closed). A full table either evicts the least recently
 * active of a small sample of slots (sampled LRU) or drops the new flow,
 * as configured; both are counted. Ending a flow is the caller's (Sweep,
 * victim() below), which flushes its streams first, so nothing is lost
 * silently.
 *
 * Thread: one Table per worker lcore; not thread-safe. The telemetry thread
 * reads only the counters (core::Counter).
 */
#pragma once

#include <cstdint>
#include <cstring>

#include <rte_hash_crc.h>
#include <string>


#include "core/counters.h"
#include "pkt/parse.h"

namespace flow {

/* The innermost TCP connection and where it lives: its VLAN(s) and its
 * tunnel, so that one 5-tuple in two tenants' networks (two VNIs, two
 * S-tags) stays two connections. Outer IP addresses are not in it: the
 * two directions of a tunnelled connection cross the tunnel between
 * different endpoint pairs, and a tap may see them through different
 * VTEPs; the tunnel identity (VNI, GRE key, ERSPAN session) is what both
 * directions share. 44 bytes, packed into 4-bit and 12-bit fields so that
 * Flow stays 240 bytes (the key fills the hole Flow had before its
 * 8-byte fields). */
struct Key {
  uint8_t a[16];   // lower endpoint's address (IPv4: first 4 bytes)
  uint8_t b[16];
  uint16_t pa, pb; // ports, host order
  uint32_t vlan : 12;        // first VID, 0 if untagged
  uint32_t vlan_inner : 12;  // second VID (QinQ), 0 if none
  uint32_t ipver : 4;        // 4 or 6
  uint32_t encap : 4;        // pkt::Encap, the outermost (0: none)
  uint32_t tunnel_id;        // the outermost tunnel's VNI / GRE key / ERSPAN session
};
static_assert(sizeof(Key) == 44);

/* Two keys equal (make_key zeroes the key first, so all 44 bytes count). */
inline bool same(const Key& x, const Key& y) noexcept {
  uint64_t a[5], b[5];
  uint32_t ta, tb;
  std::memcpy(a, &x, sizeof a);
  std::memcpy(b, &y, sizeof b);
  std::memcpy(&ta, reinterpret_cast<const uint8_t*>(&x) + 40, 4);
  std::memcpy(&tb, reinterpret_cast<const uint8_t*>(&y) + 40, 4);
  return ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4]) |
          uint64_t(ta ^ tb)) == 0;
}

/* A hash of the key for ids that outlive a release (message ids): the
 * bytes of the 40-byte key Loom had before tunnels were decoded, then the
 * tunnel identity only when there is one, so that untunnelled traffic
 * keeps its ids. */
inline uint32_t stable_hash(const Key& k, uint32_t seed) noexcept {
  alignas(8) uint8_t b[40] = {};  // rte_hash_crc reads 8 bytes at a time
  std::memcpy(b, k.a, 16);
  std::memcpy(b + 16, k.b, 16);
  std::memcpy(b + 32, &k.pa, 2);
  std::memcpy(b + 34, &k.pb, 2);
  const uint16_t vlan = uint16_t(k.vlan);
  std::memcpy(b + 36, &vlan, 2);
  b[38] = uint8_t(k.ipver);
  uint32_t h = rte_hash_crc(b, sizeof b, seed);
  if (k.vlan_inner || k.encap || k.tunnel_id) {
    h = rte_hash_crc_4byte(uint32_t(k.vlan_inner) | uint32_t(k.encap) << 12, h);
    h = rte_hash_crc_4byte(k.tunnel_id, h);
  }
  return h;
}

/* A connection's id for records that leave the host (the Kafka key, the
 * records' "conn_id"): 64 bits from the canonical key, so both directions
 * and both record kinds agree, which connection on the key it is and when
 * it began. The low half is the hash message ids carry (bytes 4-7). */
inline uint64_t connection_id(const Key& k, uint32_t generation, uint64_t created_ns) noexcept {
  const uint32_t lo = rte_hash_crc_8byte(created_ns, rte_hash_crc_4byte(generation, stable_hash(k, 0)));
  const uint32_t hi =
      rte_hash_crc_8byte(created_ns, rte_hash_crc_4byte(generation, stable_hash(k, 0x9E3779B9u)));
  return uint64_t(hi) << 32 | lo;
}

/* Fills the canonical key; returns the packet's direction: 0 when it goes
 * from endpoint a to endpoint b, 1 otherwise. */
int make_key(const pkt::Parsed& p, Key& k) noexcept;

/* Appends the key's encapsulation to a JSON object being written:
 * ,"vlan_inner":N when there is a second VLAN tag, and
 * ,"encap":"<kind>","tunnel_id":N when there is an encapsulation;
 * nothing for a plain (or singly tagged) frame, so records of untunnelled
 * traffic are the same as before tunnels were decoded. Sink thread. */
void encap_json(std::string& o, const Key& k);

/* "ip:port" or "[ipv6]:port" of one endpoint (0: a, 1: b), NUL-terminated
 * in out (cut at n - 1); returns its length. */
size_t endpoint_str(const Key& k, int side, char* out, size_t n) noexcept;

enum class State : uint8_t { kNew, kEstablished, kClosing, kClosed };
const char* state_name(State s) noexcept;

enum class End : uint8_t { kNone, kFin, kRst, kTimeout, kEvicted, kCaptureEnd, kReuse, kShutdown };
const char* end_name(End e) noexcept;

enum FlowFlags : uint8_t {
  kInUse = 1,
  kClientKnown = 2,     // the SYN told us who the client is
  kEnded = 4,           // streams flushed and reported (closed or reused)
  kWrongCore = 8,       // RSS would put this flow on another worker
  kPcap = 16,           // selected for packets.pcap: its packets are recorded
  kDropped = 32,        // a drop rule matched: inline, its frames are no longer relayed
  kMirrored = 64,       // a mirror rule matched: its frames are copied to the mirror
  kClientByBytes = 128, // no SYN seen: the first payload said who the client is
};

/* Flow::rules. Flow conditions (addresses, ports) are judged once, at the
 * connection's first packet; unless they decide, each message is judged. */
enum RulesState : uint8_t {
  kRulesUnjudged = 0,
  kRulesPerMessage,     // messages decide (or there are no rules)
  kRulesNoHttp,         // decided at the start, and no HTTP work is needed (skip, drop)
  kRulesDecided,        // decided at the start (mirror, record, tag); messages framed
};

/* What finds and ages a connection, 96 bytes (with two index entries and
 * a free-stack entry, 108 per slot); the key, compared by every lookup,
 * comes first. What the inspection keeps per connection (reassembly,
 * fingerprints, lookback, HTTP) is its own record in the slot of the same
 * number (inspect/conn.h), so a lookup's probes touch only the key's
 * line. */
struct alignas(16) Flow {
  Key key;
  State state;
  uint8_t flags;
  uint8_t client;       // key side (0: a, 1: b) that opened the connection
  uint8_t end[2];       // per direction, why it ended
  uint8_t rules;        // RulesState: what the operator's rules decided at its start
  uint8_t reject;       // a drop rule wants resets: 1 to send, 2 sent
  uint8_t tcp;          // the TCP tracker's own bits (tcp::TrackFlags)
  uint32_t generation;  // connections seen on this key (port reuse)
  uint64_t created_ns;
  uint64_t last_ns;     // last activity, from the burst's clock
  uint32_t pkts[2];     // per direction (key side a->b is 0)
  uint64_t bytes[2];    // frame bytes per direction
};

/* Key side of the client: the SYN's sender when a SYN was seen; else the
 * side whose first bytes were a request line (or the other side of a
 * status line); else the side with the higher port (servers listen on the
 * low, well-known one). */
inline int client_side(const Flow& f) noexcept {
  return (f.flags & (kClientKnown | kClientByBytes)) ? f.client : (f.key.pa < f.key.pb ? 1 : 0);
}

struct Timeouts {
  uint64_t new_ns = 60'000'000'000ull;
  uint64_t established_ns = 600'000'000'000ull;
  uint64_t closed_ns = 60'000'000'000ull;
};

struct TableConfig {
  uint32_t max_flows = 65536;
  Timeouts timeouts;
  bool evict_when_full = true;
  uint32_t sweep_per_insert = 2;
  uint32_t sweep_per_idle = 16;
};

struct TableStats {
#define LOOM_COUNTERS_DEF "flow/counters.def"
#include "core/counters_body.inc"
};

/* What one sweep step passed, in clock-hand order: each live flow either
 * due (its timeout is up: the caller ends it and then removes it) or not
 * (its timers that need no packet, such as reassembly holes, are the
 * caller's to check). The table decides nothing else: ending a flow is
 * the caller's job, on its own reference, so the table never calls out. */
struct Sweep {
  static constexpr uint32_t kMax = 64;  // slots walked per step
  uint32_t n = 0;
  Flow* flow[kMax];
  bool due[kMax];
};

class Table {
 public:
  Table(const TableConfig& cfg, unsigned worker, int socket, TableStats* stats);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  /* One lookup (a flow created earlier in the burst the bulk lookup ran
   * for); nullptr when absent. */
  Flow* find(const Key& k) noexcept {
    const int32_t pos = probe(k, hash(k));
    return pos >= 0 ? &flows_[pos] : nullptr;
  }

  /* Bulk lookup: pos[i] = slot or -1. */
  void lookup_bulk(const Key* const* keys, uint32_t n, int32_t* pos) noexcept;

  /* Creates the flow of `k`, which must not be in the table (look it up
   * first: a second entry for one key would shadow the first); nullptr
   * when no slot is free (counted: table_full_drops). Making room is the
   * caller's: sweep(), then victim() when the table is full. */
  Flow* insert(const Key& k, uint64_t now_ns) noexcept;

  /* Takes an ended flow out of the table; its slot is reused first. */
  void remove(Flow& f) noexcept;

  /* Walks up to min(budget, Sweep::kMax) slots from the clock hand and
   * reports the live flows it passed (timeouts counted here). Stops early
   * once every live flow is due. */
  void sweep(uint64_t now_ns, uint32_t budget, Sweep& out) noexcept;

  /* The flow to give up for a new one when the table is full: the least
   * recently active of the next 8 live flows (sampled LRU: an exact list
   * would cost two pointer writes per packet); counted as evicted_full.
   * nullptr when the table is empty. */
  Flow* victim() noexcept;

  bool full() const noexcept { return n_free_ == 0; }
  Flow& at(int32_t pos) noexcept { return flows_[pos]; }
  uint32_t index_of(const Flow& f) const noexcept { return uint32_t(&f - flows_); }
  uint32_t capacity() const noexcept { return cfg_.max_flows; }
  /* The table's memory per slot: record, two index entries, free-stack
   * entry. */
  static constexpr uint32_t bytes_per_flow() noexcept { return sizeof(Flow) + 2 * 4 + 4; }
  uint32_t active() const noexcept { return active_; }
  const TableConfig& config() const noexcept { return cfg_; }

 private:
  static uint32_t hash(const Key& k) noexcept;
  int32_t probe(const Key& k, uint32_t h) const noexcept;
  uint32_t home(uint32_t h) const noexcept { return uint32_t((uint64_t(h) * size_) >> 32); }
  uint32_t next(uint32_t i) const noexcept { return i + 1 == size_ ? 0 : i + 1; }
  void unlink(uint32_t slot) noexcept;
  uint64_t timeout_of(const Flow& f) const noexcept;

  TableConfig cfg_;
  uint32_t* index_ = nullptr;  // size_ entries: 0 empty, else slot | signature << 24
  uint32_t size_ = 0;          // twice the slots
  uint32_t* free_ = nullptr;   // stack of free slots
  uint32_t n_free_ = 0;
  Flow* flows_ = nullptr;
  TableStats* s_;
  uint32_t hand_ = 0;
  uint32_t active_ = 0;
};

}  // namespace flow
