#include "flow/flow.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include "core/mem.h"

namespace flow {

static_assert(sizeof(Flow) == 256, "keep a flow at four cache lines (docs/performance.md)");

int make_key(const pkt::Parsed& p, Key& k) noexcept {
  const size_t alen = p.ip_version == 6 ? 16 : 4;
  std::memset(&k, 0, sizeof k);
  k.ipver = p.ip_version;
  k.vlan = p.n_vlan ? p.vlan_id : 0;
  int c = std::memcmp(p.src, p.dst, alen);
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

static uint32_t key_hash(const void* key, uint32_t len, uint32_t init) {
  return rte_hash_crc(key, len, init);
}

Table::Table(const TableConfig& cfg, unsigned worker, int socket, EndFn on_end, void* ctx,
             TableStats* stats, VisitFn on_visit)
    : cfg_(cfg), on_end_(on_end), on_visit_(on_visit), ctx_(ctx), s_(stats) {
  const std::string name = "loom_flows_" + std::to_string(worker);
  rte_hash_parameters p{};
  p.name = name.c_str();
  p.entries = cfg.max_flows;
  p.key_len = sizeof(Key);
  p.hash_func = key_hash;
  p.hash_func_init_val = 0;
  p.socket_id = socket;
  // Extendable buckets: without them a cuckoo table can refuse inserts
  // well before `entries` when buckets collide.
  p.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
  hash_ = rte_hash_create(&p);
  if (!hash_)
    throw std::runtime_error("cannot create the flow table of " + std::to_string(cfg.max_flows) +
                             " flows for worker " + std::to_string(worker) + ": " +
                             rte_strerror(rte_errno));
  flows_ = static_cast<Flow*>(
      core::mem::zalloc("loom_flow_records", sizeof(Flow) * size_t(cfg.max_flows), socket));
  if (!flows_) {
    rte_hash_free(hash_);
    throw std::runtime_error("cannot allocate " + std::to_string(sizeof(Flow) * cfg.max_flows >> 20) +
                             " MB of flow records; raise eal.memory_mb or lower "
                             "flow.max_flows_per_worker");
  }
}

Table::~Table() {
  rte_hash_free(hash_);
  core::mem::free(flows_);
}

void Table::lookup_bulk(const Key* const* keys, uint32_t n, int32_t* pos) noexcept {
  // rte_hash_lookup_bulk takes at most RTE_HASH_LOOKUP_BULK_MAX keys.
  for (uint32_t i = 0; i < n; i += RTE_HASH_LOOKUP_BULK_MAX) {
    const uint32_t m = n - i < RTE_HASH_LOOKUP_BULK_MAX ? n - i : RTE_HASH_LOOKUP_BULK_MAX;
    rte_hash_lookup_bulk(hash_, reinterpret_cast<const void**>(const_cast<const Key**>(keys + i)),
                         m, pos + i);
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

void Table::remove(Flow& f, End why, uint64_t now_ns) noexcept {
  on_end_(ctx_, f, why, now_ns);
  rte_hash_del_key(hash_, &f.key);
  f.flags = 0;
  active_--;
  s_->active.set(active_);
}

void Table::sweep(uint64_t now_ns, uint32_t budget) noexcept {
  for (uint32_t i = 0; i < budget && active_; i++) {
    Flow& f = flows_[hand_];
    hand_ = hand_ + 1 == cfg_.max_flows ? 0 : hand_ + 1;
    if (!(f.flags & kInUse)) continue;
    if (now_ns > f.last_ns && now_ns - f.last_ns > timeout_of(f)) {
      if (f.state != State::kClosed) s_->evicted_timeout.add(1);
      remove(f, End::kTimeout, now_ns);
    } else if (on_visit_) {
      on_visit_(ctx_, f, now_ns);
    }
  }
}

bool Table::evict_one(uint64_t now_ns) noexcept {
  // Sampled LRU: the least recently active of the next 8 used slots. An
  // exact LRU list would cost two pointer writes per packet.
  Flow* victim = nullptr;
  for (uint32_t seen = 0, visited = 0; seen < 8 && visited < cfg_.max_flows; visited++) {
    Flow& f = flows_[hand_];
    hand_ = hand_ + 1 == cfg_.max_flows ? 0 : hand_ + 1;
    if (!(f.flags & kInUse)) continue;
    seen++;
    if (!victim || f.last_ns < victim->last_ns) victim = &f;
  }
  if (!victim) return false;
  s_->evicted_full.add(1);
  remove(*victim, End::kEvicted, now_ns);
  return true;
}

Flow* Table::insert(const Key& k, uint64_t now_ns) noexcept {
  sweep(now_ns, cfg_.sweep_per_insert);
  int32_t pos = rte_hash_add_key(hash_, &k);
  if (pos < 0) {
    if (!cfg_.evict_when_full || !evict_one(now_ns) || (pos = rte_hash_add_key(hash_, &k)) < 0) {
      s_->table_full_drops.add(1);
      return nullptr;
    }
  }
  Flow& f = flows_[pos];
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

void Table::end_all(End why, uint64_t now_ns) noexcept {
  for (uint32_t i = 0; i < cfg_.max_flows && active_; i++)
    if (flows_[i].flags & kInUse) remove(flows_[i], why, now_ns);
}

}  // namespace flow
