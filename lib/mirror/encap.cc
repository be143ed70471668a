#include "mirror/encap.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include <netinet/in.h>

#include <rte_branch_prediction.h>
#include <rte_hash_crc.h>

#include "pkt/parse.h"

namespace mirror {

namespace {

// Offsets in the outer headers (no VLAN tag on the mirror link).
constexpr uint8_t kEthLen = 14, kIpLen = 20;
constexpr uint8_t kIpTotLen = 16, kIpId = 18, kIpCsum = 24;
constexpr uint8_t kL4 = kEthLen + kIpLen;         // UDP or GRE
constexpr uint8_t kUdpSport = kL4, kUdpLen = kL4 + 4;
constexpr uint8_t kGreSeq = kL4 + 4;              // ERSPAN II: GRE with S bit
constexpr uint8_t kErspanFlags = kL4 + 8 + 2;     // COS, En, T, session's top bits

// The VXLAN source port range RFC 7348 section 5 recommends.
constexpr uint16_t kEphemeralBase = 49152, kEphemeralMask = 0x3FFF;

static_assert(RTE_PKTMBUF_HEADROOM >= kOuterMax, "outer headers are prepended into headroom");

void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = uint8_t(v >> 8);
  p[1] = uint8_t(v);
}

void put32(uint8_t* p, uint32_t v) noexcept {
  put16(p, uint16_t(v >> 16));
  put16(p + 2, uint16_t(v));
}

[[noreturn]] void bad(const std::string& what) {
  throw std::invalid_argument("mirror encapsulation: " + what);
}

}  // namespace

EncapTemplate make_template(const EncapConfig& cfg) {
  if (cfg.vni >> 24) bad("vni " + std::to_string(cfg.vni) + " exceeds 24 bits");
  if (cfg.session_id >> 10)
    bad("ERSPAN session id " + std::to_string(cfg.session_id) + " exceeds 10 bits");
  if (cfg.vlan >> 12) bad("ERSPAN vlan " + std::to_string(cfg.vlan) + " exceeds 12 bits");
  if (cfg.cos >> 3) bad("ERSPAN cos " + std::to_string(cfg.cos) + " exceeds 3 bits");

  EncapTemplate t{};
  t.kind = cfg.kind;
  t.ip_id = cfg.ip_id;
  t.seq = cfg.seq;
  uint8_t* h = t.bytes;
  std::memcpy(h, cfg.dst_mac.addr_bytes, 6);
  std::memcpy(h + 6, cfg.src_mac.addr_bytes, 6);
  put16(h + 12, RTE_ETHER_TYPE_IPV4);

  uint8_t* ip = h + kEthLen;
  ip[0] = 0x45;
  put16(ip + 6, 0x4000);  // DF: never fragmented (see the header)
  ip[8] = 64;
  ip[9] = cfg.kind == EncapKind::kVxlan ? IPPROTO_UDP : IPPROTO_GRE;
  put32(ip + 12, cfg.src_ip);
  put32(ip + 16, cfg.dst_ip);

  uint8_t* l4 = h + kL4;
  switch (cfg.kind) {
    case EncapKind::kVxlan:
      put16(l4 + 2, kVxlanPort);  // source port and length per frame, checksum 0
      l4[8] = 0x08;               // VXLAN: I flag, the VNI is valid
      put32(l4 + 12, cfg.vni << 8);
      t.len = kL4 + 8 + 8;
      break;
    case EncapKind::kGre:
      put16(l4 + 2, kGreProtoTeb);  // no checksum, key or sequence
      t.len = kL4 + 4;
      break;
    case EncapKind::kErspan2:
      put16(l4, 0x1000);  // S: sequence number present, which makes it type II
      put16(l4 + 2, kGreProtoErspan2);
      // Ver 1 | VLAN | COS | En | T | Session ID, then Reserved | Index 0.
      put32(l4 + 8, 1u << 28 | uint32_t(cfg.vlan) << 16 | uint32_t(cfg.cos) << 13 |
                        cfg.session_id);
      t.len = kL4 + 8 + 8;
      break;
  }
  const uint32_t overhead = t.len - kEthLen;  // outer IPv4 and what follows it
  if (cfg.mtu < overhead + RTE_ETHER_HDR_LEN)
    bad("mtu " + std::to_string(cfg.mtu) + " leaves no room for an inner frame after " +
        std::to_string(overhead) + " bytes of headers");
  t.max_inner = uint16_t(cfg.mtu - overhead);

  uint32_t sum = 0;  // length, ID and checksum are still 0
  for (int i = 0; i < kIpLen; i += 2) sum += uint32_t(ip[i]) << 8 | ip[i + 1];
  t.ip_sum = sum;
  return t;
}

rte_mbuf* encap_copy(const rte_mbuf* m, rte_mempool* pool, EncapTemplate& t,
                     uint32_t flow_hash, Tally& tally) noexcept {
  const uint32_t inner = std::min<uint32_t>(m->pkt_len, t.max_inner);
  rte_mbuf* c = rte_pktmbuf_copy(m, pool, 0, inner);
  if (unlikely(c == nullptr)) {
    tally.no_mbuf++;
    return nullptr;
  }
  // Fails only for a pool whose buffers are smaller than the headroom.
  auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(c, t.len));
  if (unlikely(h == nullptr)) {
    rte_pktmbuf_free(c);
    tally.no_mbuf++;
    return nullptr;
  }
  std::memcpy(h, t.bytes, t.len);
  const bool cut = inner < m->pkt_len;
  tally.copies++;
  tally.truncated += cut;

  const uint16_t ip_len = uint16_t(t.len - kEthLen + inner);
  const uint16_t id = t.ip_id++;
  uint32_t sum = t.ip_sum + ip_len + id;
  sum = (sum & 0xFFFF) + (sum >> 16);
  sum = (sum & 0xFFFF) + (sum >> 16);
  put16(h + kIpTotLen, ip_len);
  put16(h + kIpId, id);
  put16(h + kIpCsum, uint16_t(~sum));

  switch (t.kind) {
    case EncapKind::kVxlan:
      put16(h + kUdpSport, uint16_t(kEphemeralBase | (flow_hash & kEphemeralMask)));
      put16(h + kUdpLen, uint16_t(ip_len - kIpLen));
      break;
    case EncapKind::kGre:
      break;
    case EncapKind::kErspan2: {
      put32(h + kGreSeq, t.seq++);
      // En 3: the original frame's VLAN tag is kept inside it; 0: untagged.
      const uint8_t* f = h + t.len;
      const uint16_t type = c->data_len >= t.len + 14 ? uint16_t(f[12] << 8 | f[13]) : 0;
      const bool tagged = type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ;
      h[kErspanFlags] |= uint8_t((tagged ? 3 : 0) << 3 | (cut ? 1 : 0) << 2);
      break;
    }
  }
  return c;
}

rte_mbuf* raw_copy(const rte_mbuf* m, rte_mempool* pool, uint32_t max_len,
                   Tally& tally) noexcept {
  rte_mbuf* c = rte_pktmbuf_copy(m, pool, 0, max_len);  // length clamped to the frame
  if (unlikely(c == nullptr)) {
    tally.no_mbuf++;
    return nullptr;
  }
  tally.copies++;
  tally.truncated += max_len < m->pkt_len;
  return c;
}

rte_mbuf* raw_clone(rte_mbuf* m, rte_mempool* indirect_pool, Tally& tally) noexcept {
  rte_mbuf* c = rte_pktmbuf_clone(m, indirect_pool);
  if (unlikely(c == nullptr)) {
    tally.no_mbuf++;
    return nullptr;
  }
  tally.copies++;
  return c;
}

uint32_t inner_flow_hash(const rte_mbuf* m) noexcept {
  if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) return m->hash.rss;
  pkt::Parsed p{};  // zeroed: ports stay 0 for IP protocols without them
  pkt::Malformed why;
  const pkt::Kind k = pkt::parse_mbuf(m, p, &why);
  if (k == pkt::Kind::kNonIp || k == pkt::Kind::kMalformed) return 0;
  uint8_t mix[16];
  for (int i = 0; i < 16; i++) mix[i] = p.src[i] ^ p.dst[i];
  const uint32_t ports = uint32_t(p.sport ^ p.dport) << 8 | p.l4_proto;
  return rte_hash_crc_4byte(ports, rte_hash_crc(mix, sizeof mix, 0));
}

void Tally::commit(Stats& s) const noexcept {
  s.copies.add(copies);
  s.truncated.add(truncated);
  s.no_mbuf.add(no_mbuf);
}

}  // namespace mirror
