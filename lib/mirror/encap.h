/* mirror: copies of relayed frames for a remote collector, raw or inside
 * VXLAN, GRE (Transparent Ethernet Bridging) or ERSPAN type II.
 *
 * Encapsulation copies; raw mirroring may copy or clone. raw_clone() is
 * the cheaper call (one allocation from an indirect pool with no data
 * room, a reference count, no byte copied), but it keeps the relay's mbuf,
 * a buffer of the RX pool, alive until the mirror port has sent the clone:
 * a slow or congested mirror link then holds RX buffers and can starve the
 * NIC's RX rings. raw_copy() and encap_copy() spend one memcpy of the
 * frame (its head was just parsed and is in cache) to return the relay's
 * mbuf to its pool as soon as the relay has sent it. The copy also gives
 * the encapsulation a headroom of its own to prepend into, so the outer
 * headers need no chained header mbuf and the mirror port no
 * multi-segment TX (as long as the mirror pool's data room holds the MTU).
 *
 * Outer headers come from an EncapTemplate filled once from the collector's
 * settings on the control path; per frame encap_copy() copies it in front
 * of the inner frame and patches lengths, the IPv4 identification and
 * header checksum (incrementally, from a sum precomputed over the fixed
 * fields), the VXLAN UDP source port and the GRE sequence number.
 *
 * Checksums. The outer IPv4 header checksum is always set. The VXLAN UDP
 * checksum is 0, as RFC 7348 section 5 recommends over IPv4: computing it
 * would read every byte of the copy a second time, and the inner frame
 * keeps its own checksums. GRE carries no checksum (C bit clear).
 *
 * MTU. `mtu` bounds the outer IPv4 datagram, as an interface MTU does. A
 * frame that would not fit is cut (the copy takes only the bytes that fit)
 * and counted `truncated`; ERSPAN also sets its T bit. Loom never
 * fragments: collectors (Wireshark, Zeek, ERSPAN and VXLAN terminators)
 * accept truncated mirror frames, DF stays set, and fragmenting would
 * double the mirror's packet rate and push reassembly onto the collector.
 * raw_clone() never cuts (the clone shares the original's bytes).
 *
 * The outer IPv4 ID is a per-template counter. With DF set and no
 * fragments the datagrams are atomic (RFC 6864), so two workers' templates
 * for one collector may reuse an ID harmlessly. ERSPAN's GRE sequence
 * number is per template as well: a collector sees one sequence per worker.
 *
 * Thread: make_template() on the control path (throws on bad settings).
 * A template carries mutable counters, so each worker owns its own copy;
 * encap_copy(), raw_copy() and raw_clone() are fast-path safe: noexcept,
 * no logging, no allocation besides the given mbuf pool, and they never
 * write the original frame. Counts go to a Tally kept by the caller and
 * committed to Stats once per burst.
 */
#pragma once

#include <cstdint>

#include <rte_ether.h>
#include <rte_mbuf.h>

#include "core/counter.h"

namespace mirror {

enum class EncapKind : uint8_t { kVxlan, kGre, kErspan2 };

/* One collector's encapsulation. IPv4 addresses in host order
 * (RTE_IPV4(10, 0, 0, 1)). */
struct EncapConfig {
  EncapKind kind = EncapKind::kVxlan;
  rte_ether_addr src_mac{};  // the mirror port's
  rte_ether_addr dst_mac{};  // the next hop's (from ARP)
  uint32_t src_ip = 0, dst_ip = 0;
  uint16_t mtu = 1500;       // largest outer IPv4 datagram
  uint32_t vni = 0;          // VXLAN, 24 bits
  uint16_t session_id = 0;   // ERSPAN, 10 bits
  uint16_t vlan = 0;         // ERSPAN, 12 bits
  uint8_t cos = 0;           // ERSPAN, 3 bits
  uint16_t ip_id = 0;        // first outer IPv4 ID
  uint32_t seq = 0;          // first ERSPAN GRE sequence number
};

constexpr uint16_t kVxlanPort = 4789;
constexpr uint16_t kGreProtoTeb = 0x6558;
constexpr uint16_t kGreProtoErspan2 = 0x88BE;
constexpr uint16_t kOuterMax = 64;  // bytes; VXLAN and ERSPAN II use 50

struct EncapTemplate {
  EncapKind kind;
  uint8_t len;           // outer header bytes (Ethernet to VXLAN/GRE/ERSPAN)
  uint16_t max_inner;    // inner frame bytes that fit the MTU
  uint32_t ip_sum;       // ones'-complement sum of the IPv4 header, length/ID/checksum 0
  uint16_t ip_id;        // next outer IPv4 ID
  uint32_t seq;          // next GRE sequence number (ERSPAN)
  alignas(16) uint8_t bytes[kOuterMax];
};

/* Fills a template from cfg. Throws std::invalid_argument naming the bad
 * value (VNI over 24 bits, MTU too small for the headers, ...). */
EncapTemplate make_template(const EncapConfig& cfg);

struct Stats {
  core::Counter copies;     // mirror frames built
  core::Counter truncated;  // of which cut to fit the mirror MTU
  core::Counter no_mbuf;    // mirror pool empty: frame not mirrored
};

/* Per-burst counts, committed to Stats once per burst. */
struct Tally {
  uint64_t copies = 0, truncated = 0, no_mbuf = 0;
  void commit(Stats& s) const noexcept;
};

/* The encapsulated copy of m (at most t.max_inner bytes of it) from pool,
 * or nullptr when the pool is empty. flow_hash picks the VXLAN source port;
 * pass inner_flow_hash(m) or a hash the caller already has. The copy
 * holds the frame's bytes only: a VLAN tag the NIC stripped on RX (Loom
 * enables no such offload) would be missing from it. */
rte_mbuf* encap_copy(const rte_mbuf* m, rte_mempool* pool, EncapTemplate& t,
                     uint32_t flow_hash, Tally& tally) noexcept;

/* A copy of m's first max_len bytes from pool, or nullptr (pool empty). */
rte_mbuf* raw_copy(const rte_mbuf* m, rte_mempool* pool, uint32_t max_len,
                   Tally& tally) noexcept;

/* An indirect mbuf sharing m's data (m's reference count + 1), from a pool
 * of data room 0, or nullptr. m must stay unmodified until both are sent. */
rte_mbuf* raw_clone(rte_mbuf* m, rte_mempool* indirect_pool, Tally& tally) noexcept;

/* A hash of the frame's flow that is the same for both directions: the
 * NIC's RSS hash when it gave one (Loom's RSS key is symmetric), else a
 * CRC of the IP addresses and ports XORed together. Both directions of a
 * connection then take the same ECMP path to the collector and stay in
 * order relative to each other. 0 for non-IP frames. */
uint32_t inner_flow_hash(const rte_mbuf* m) noexcept;

}  // namespace mirror
