#include "flow/flow.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include <rte_byteorder.h>
#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_prefetch.h>

#include "core/mem.h"

namespace flow {

static_assert(sizeof(Flow) == 96, "per-flow state: docs/performance.md, State per flow");

namespace {
/* Orders the endpoints (the lower one is `a`) and fills them in; alen is
 * a constant in each instance, so the compares and copies are inline. */
inline uint32_t load32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <size_t alen>
[[gnu::always_inline]] inline int order(const pkt::Parsed& p, Key& k) noexcept {
  int c;
  if constexpr (alen == 4) {
    // memcmp's order on 4 bytes is that of their big-endian value.
    const uint32_t s = rte_be_to_cpu_32(load32(p.src)), d = rte_be_to_cpu_32(load32(p.dst));
    c = s < d ? -1 : (s > d ? 1 : 0);
  } else {
    c = std::memcmp(p.src, p.dst, alen);
  }
  if (c == 0) c = p.sport < p.dport ? -1 : (p.sport > p.dport ? 1 : 0);
  if (c <= 0) {
    std::memcpy(k.a, p.src, alen);
    std::memcpy(k.b, p.dst, alen);
    k.pa = p.sport;
    k.pb = p.dport;
    return 0;
  }
  std::memcpy(k.a, p.dst, alen);
  std::memcpy(k.b, p.src, alen);
  k.pa = p.dport;
  k.pb = p.sport;
  return 1;
}
}  // namespace

int make_key(const pkt::Parsed& p, Key& k) noexcept {
  std::memset(&k, 0, sizeof k);
  k.ipver = p.ip_version & 0xF;
  if (p.n_vlan) [[unlikely]] {
    k.vlan = p.vlan_id;
    k.vlan_inner = p.vlan_inner;
  }
  if (p.encap) [[unlikely]] {
    k.encap = p.encap & 0xF;
    k.tunnel_id = p.tunnel_id;
  }
  return p.ip_version == 6 ? order<16>(p, k) : order<4>(p, k);
}

void encap_json(std::string& o, const Key& k) {
  if (k.vlan_inner) {
    o += ",\"vlan_inner\":";
    o += std::to_string(unsigned(k.vlan_inner));
  }
  if (!k.encap) return;
  o += ",\"encap\":\"";
  o += pkt::encap_name(uint8_t(k.encap));
  o += "\",\"tunnel_id\":";
  o += std::to_string(unsigned(k.tunnel_id));
}

size_t endpoint_str(const Key& k, int side, char* out, size_t n) noexcept {
  // Once per record on the sink thread: digits by hand, not snprintf().
  char b[INET6_ADDRSTRLEN + 8];
  char* p = b;
  auto dec = [](char* q, unsigned v) {
    char t[5];
    int d = 0;
    do {
      t[d++] = char('0' + v % 10);
      v /= 10;
    } while (v);
    while (d) *q++ = t[--d];
    return q;
  };
  const uint8_t* a = side == 0 ? k.a : k.b;
  const uint16_t port = side == 0 ? k.pa : k.pb;
  if (k.ipver == 6) {
    *p++ = '[';
    if (!inet_ntop(AF_INET6, a, p, INET6_ADDRSTRLEN)) *p = 0;
    p += std::strlen(p);
    *p++ = ']';
  } else {
    for (int i = 0; i < 4; i++) {
      if (i) *p++ = '.';
      p = dec(p, a[i]);
    }
  }
  *p++ = ':';
  p = dec(p, port);
  const size_t len = std::min(size_t(p - b), n ? n - 1 : 0);
  if (n) {
    std::memcpy(out, b, len);
    out[len] = 0;
  }
  return len;
}

const char* state_name(State s) noexcept {
  switch (s) {
    case State::kNew: return "new";
    case State::kEstablished: return "established";
    case State::kClosing: return "closing";
    case State::kClosed: return "closed";
  }
  return "?";
}

const char* end_name(End e) noexcept {
  switch (e) {
    case End::kNone: return "open";
    case End::kFin: return "fin";
    case End::kRst: return "rst";
    case End::kTimeout: return "timeout";
    case End::kEvicted: return "evicted";
    case End::kCaptureEnd: return "capture-end";
    case End::kReuse: return "reuse";
    case End::kShutdown: return "shutdown";
  }
  return "?";
}

namespace {

constexpr uint32_t kSlotBits = 24;  // flow.max_flows_per_worker <= 2^24
constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;

// The home position takes the hash's high bits (multiply-shift onto any
// index size), the signature its low 8.
inline uint32_t sig_of(uint32_t h) noexcept {
  const uint32_t s = h & 0xFF;
  return s ? s : 1;  // never 0: an all-zero entry is an empty one
}

}  // namespace

uint32_t Table::hash(const Key& k) noexcept {
  // rte_hash_crc reads 8 bytes at a time; a Key is only 4-aligned.
  uint64_t w[(sizeof(Key) + 7) / 8];
  std::memcpy(w, &k, sizeof k);
  return rte_hash_crc(w, sizeof k, 0);
}

Table::Table(const TableConfig& cfg, unsigned worker, int socket, TableStats* stats)
    : cfg_(cfg), s_(stats) {
  if (cfg.max_flows == 0 || cfg.max_flows > (1u << kSlotBits))
    throw std::runtime_error("flow table of " + std::to_string(cfg.max_flows) +
                             " flows: 1 to 16777216 per worker");
  // At most half full: linear probing stays at one or two index lines.
  size_ = 2 * cfg.max_flows;
  index_ = static_cast<uint32_t*>(core::mem::zalloc("loom_flow_index", sizeof(uint32_t) * size_, socket));
  free_ = static_cast<uint32_t*>(
      core::mem::zalloc("loom_flow_free", sizeof(uint32_t) * cfg.max_flows, socket));
  flows_ = static_cast<Flow*>(
      core::mem::zalloc("loom_flow_records", sizeof(Flow) * size_t(cfg.max_flows), socket));
  if (!index_ || !free_ || !flows_) {
    core::mem::free(index_);
    core::mem::free(free_);
    core::mem::free(flows_);
    throw std::runtime_error("cannot allocate " +
                             std::to_string((sizeof(Flow) + 12) * cfg.max_flows >> 20) +
                             " MB for the flow table of worker " + std::to_string(worker) +
                             "; raise eal.memory_mb or lower flow.max_flows_per_worker");
  }
  // Lowest slots first, as the sweeper walks them (and a run's end, in slot order).
  for (uint32_t i = 0; i < cfg.max_flows; i++) free_[i] = cfg.max_flows - 1 - i;
  n_free_ = cfg.max_flows;
}

Table::~Table() {
  core::mem::free(index_);
  core::mem::free(free_);
  core::mem::free(flows_);
}

int32_t Table::probe(const Key& k, uint32_t h) const noexcept {
  const uint32_t sig = sig_of(h);
  for (uint32_t i = home(h);; i = next(i)) {
    const uint32_t e = index_[i];
    if (!e) return -1;
    if ((e >> kSlotBits) == sig && same(flows_[e & kSlotMask].key, k)) return int32_t(e & kSlotMask);
  }
}

void Table::lookup_bulk(const Key* const* keys, uint32_t n, int32_t* pos) noexcept {
  // Three passes so the cache misses of a burst overlap: hash and fetch
  // every key's index line; then each first candidate's flow line; then
  // compare (a signature match that is not the key probes on).
  uint32_t h[64];
  for (uint32_t base = 0; base < n; base += 64) {
    const uint32_t m = n - base < 64 ? n - base : 64;
    for (uint32_t i = 0; i < m; i++) {
      h[i] = hash(*keys[base + i]);
      rte_prefetch0(&index_[home(h[i])]);
    }
    for (uint32_t i = 0; i < m; i++) {
      const uint32_t e = index_[home(h[i])];
      if (!e) continue;
      // 240-byte records: the key may end on the record's second line.
      const char* r = reinterpret_cast<const char*>(&flows_[e & kSlotMask]);
      rte_prefetch0(r);
      rte_prefetch0(r + sizeof(Key) - 1);
    }
    for (uint32_t i = 0; i < m; i++) pos[base + i] = probe(*keys[base + i], h[i]);
  }
}

uint64_t Table::timeout_of(const Flow& f) const noexcept {
  switch (f.state) {
    case State::kNew: return cfg_.timeouts.new_ns;
    case State::kEstablished: return cfg_.timeouts.established_ns;
    case State::kClosing: return cfg_.timeouts.established_ns;
    case State::kClosed: return cfg_.timeouts.closed_ns;
  }
  return cfg_.timeouts.new_ns;
}

void Table::remove(Flow& f) noexcept {
  unlink(index_of(f));
  f.flags = 0;
  active_--;
  s_->active.set(active_);
}

void Table::sweep(uint64_t now_ns, uint32_t budget, Sweep& out) noexcept {
  out.n = 0;
  uint32_t due = 0;
  if (budget > Sweep::kMax) budget = Sweep::kMax;
  for (uint32_t i = 0; i < budget && active_ > due; i++) {
    Flow& f = flows_[hand_];
    hand_ = hand_ + 1 == cfg_.max_flows ? 0 : hand_ + 1;
    if (!(f.flags & kInUse)) continue;
    const bool up = now_ns > f.last_ns && now_ns - f.last_ns > timeout_of(f);
    if (up && f.state != State::kClosed) s_->evicted_timeout.add(1);
    due += up;
    out.flow[out.n] = &f;
    out.due[out.n++] = up;
  }
}

Flow* Table::victim() noexcept {
  Flow* v = nullptr;
  for (uint32_t seen = 0, visited = 0; seen < 8 && visited < cfg_.max_flows; visited++) {
    Flow& f = flows_[hand_];
    hand_ = hand_ + 1 == cfg_.max_flows ? 0 : hand_ + 1;
    if (!(f.flags & kInUse)) continue;
    seen++;
    if (!v || f.last_ns < v->last_ns) v = &f;
  }
  if (v) s_->evicted_full.add(1);
  return v;
}

Flow* Table::insert(const Key& k, uint64_t now_ns) noexcept {
  if (!n_free_) {
    s_->table_full_drops.add(1);
    return nullptr;
  }
  const uint32_t slot = free_[--n_free_];
  const uint32_t h = hash(k);
  uint32_t i = home(h);
  while (index_[i]) i = next(i);
  index_[i] = slot | sig_of(h) << kSlotBits;
  Flow& f = flows_[slot];
  std::memset(static_cast<void*>(&f), 0, sizeof f);  // all-zero is a valid empty flow
  f.key = k;
  f.flags = kInUse;
  f.state = State::kNew;
  f.created_ns = f.last_ns = now_ns;
  active_++;
  s_->active.set(active_);
  s_->inserts.add(1);
  return &f;
}

void Table::unlink(uint32_t slot) noexcept {
  uint32_t i = home(hash(flows_[slot].key));
  while ((index_[i] & kSlotMask) != slot || !index_[i]) i = next(i);
  // Backward-shift deletion: pull later entries of the run into the hole
  // when their home allows it, so no tombstones lengthen later probes.
  auto dist = [this](uint32_t from, uint32_t to) { return to >= from ? to - from : to + size_ - from; };
  for (uint32_t j = next(i);; j = next(j)) {
    const uint32_t e = index_[j];
    if (!e) break;
    if (dist(home(hash(flows_[e & kSlotMask].key)), j) >= dist(i, j)) {
      index_[i] = e;
      i = j;
    }
  }
  index_[i] = 0;
  free_[n_free_++] = slot;
}

}  // namespace flow
