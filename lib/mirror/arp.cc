#include "mirror/arp.h"

#include <cstring>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_udp.h>

namespace mirror {

namespace {

constexpr uint16_t kMinFrame = RTE_ETHER_MIN_LEN - RTE_ETHER_CRC_LEN;  // 60
constexpr uint16_t kIpLen = sizeof(rte_ipv4_hdr);

/* Appends a zeroed frame of len bytes (at least 60) to the empty mbuf m. */
uint8_t* frame_of(rte_mbuf* m, uint16_t len) noexcept {
  const uint16_t n = len < kMinFrame ? kMinFrame : len;
  auto* f = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, n));
  if (f != nullptr) std::memset(f, 0, n);
  return f;
}

void put_eth(uint8_t* f, const rte_ether_addr& dst, const rte_ether_addr& src,
             uint16_t type) noexcept {
  auto* e = reinterpret_cast<rte_ether_hdr*>(f);
  e->dst_addr = dst;
  e->src_addr = src;
  e->ether_type = rte_cpu_to_be_16(type);
}

/* An IPv4 header for l4_len bytes of protocol proto: DF, TTL 64. */
rte_ipv4_hdr* put_ipv4(uint8_t* f, const ProbeAddrs& a, uint8_t proto, uint16_t id,
                       uint16_t l4_len) noexcept {
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(f + RTE_ETHER_HDR_LEN);
  ip->version_ihl = RTE_IPV4_VHL_DEF;
  ip->total_length = rte_cpu_to_be_16(uint16_t(kIpLen + l4_len));
  ip->packet_id = rte_cpu_to_be_16(id);
  ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
  ip->time_to_live = 64;
  ip->next_proto_id = proto;
  ip->src_addr = rte_cpu_to_be_32(a.src_ip);
  ip->dst_addr = rte_cpu_to_be_32(a.dst_ip);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  return ip;
}

void put_payload(uint8_t* p, uint16_t id, uint16_t seq, uint64_t tsc) noexcept {
  ProbePayload pl{};
  std::memcpy(pl.magic, kProbeMagic, sizeof pl.magic);
  pl.id = rte_cpu_to_be_16(id);
  pl.seq = rte_cpu_to_be_16(seq);
  pl.tsc = tsc;
  std::memcpy(p, &pl, sizeof pl);
}

bool get_payload(const uint8_t* p, uint32_t len, uint16_t id, ProbeReply& out) noexcept {
  ProbePayload pl;
  if (len < sizeof pl) return false;
  std::memcpy(&pl, p, sizeof pl);
  if (std::memcmp(pl.magic, kProbeMagic, sizeof pl.magic) != 0) return false;
  if (rte_be_to_cpu_16(pl.id) != id) return false;
  out.seq = rte_be_to_cpu_16(pl.seq);
  out.tsc = pl.tsc;
  return true;
}

/* The unfragmented IPv4 datagram of protocol proto in an untagged frame:
 * its header, and its payload's offset and length (trailing Ethernet
 * padding excluded), or nullptr. */
const rte_ipv4_hdr* get_ipv4(const uint8_t* f, uint32_t len, uint8_t proto, uint32_t& l4_off,
                             uint32_t& l4_len) noexcept {
  if (len < RTE_ETHER_HDR_LEN + kIpLen) return nullptr;
  const auto* e = reinterpret_cast<const rte_ether_hdr*>(f);
  if (e->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) return nullptr;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(f + RTE_ETHER_HDR_LEN);
  const uint32_t ihl = rte_ipv4_hdr_len(ip);
  const uint32_t total = rte_be_to_cpu_16(ip->total_length);
  if ((ip->version_ihl >> 4) != 4 || ihl < kIpLen || total < ihl ||
      RTE_ETHER_HDR_LEN + total > len)
    return nullptr;
  if (rte_be_to_cpu_16(ip->fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
    return nullptr;
  if (ip->next_proto_id != proto) return nullptr;
  l4_off = RTE_ETHER_HDR_LEN + ihl;
  l4_len = total - ihl;
  return ip;
}

uint16_t fold(uint32_t s) noexcept {
  s = (s & 0xFFFF) + (s >> 16);
  return uint16_t((s & 0xFFFF) + (s >> 16));
}

}  // namespace

bool build_arp_request(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip,
                       uint32_t target_ip) noexcept {
  uint8_t* f = frame_of(m, RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr));
  if (f == nullptr) return false;
  rte_ether_addr bcast;
  std::memset(bcast.addr_bytes, 0xFF, RTE_ETHER_ADDR_LEN);
  put_eth(f, bcast, our_mac, RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(f + RTE_ETHER_HDR_LEN);
  arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
  arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
  arp->arp_hlen = RTE_ETHER_ADDR_LEN;
  arp->arp_plen = 4;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
  arp->arp_data.arp_sha = our_mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(our_ip);
  arp->arp_data.arp_tip = rte_cpu_to_be_32(target_ip);  // target MAC stays 0: unknown
  return true;
}

/* The Ethernet/IPv4 ARP message of `frame` with this opcode, or nullptr. */
static const rte_arp_hdr* arp_of(const uint8_t* frame, uint32_t len, uint16_t opcode) noexcept {
  if (len < RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr)) return nullptr;
  const auto* e = reinterpret_cast<const rte_ether_hdr*>(frame);
  if (e->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) return nullptr;
  const auto* arp = reinterpret_cast<const rte_arp_hdr*>(frame + RTE_ETHER_HDR_LEN);
  if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
      arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
      arp->arp_hlen != RTE_ETHER_ADDR_LEN || arp->arp_plen != 4 ||
      arp->arp_opcode != rte_cpu_to_be_16(opcode))
    return nullptr;
  return arp;
}

bool parse_arp_reply(const uint8_t* frame, uint32_t len, Neighbour& out) noexcept {
  const rte_arp_hdr* arp = arp_of(frame, len, RTE_ARP_OP_REPLY);
  if (!arp) return false;
  out.ip = rte_be_to_cpu_32(arp->arp_data.arp_sip);
  out.mac = arp->arp_data.arp_sha;
  return true;
}

bool answer_arp_request(const uint8_t* frame, uint32_t len, const rte_ether_addr& our_mac,
                        uint32_t our_ip, rte_mbuf* m, Neighbour& asker) noexcept {
  const rte_arp_hdr* req = arp_of(frame, len, RTE_ARP_OP_REQUEST);
  if (!req || rte_be_to_cpu_32(req->arp_data.arp_tip) != our_ip) return false;
  uint8_t* f = frame_of(m, RTE_ETHER_HDR_LEN + sizeof(rte_arp_hdr));
  if (f == nullptr) return false;
  asker.ip = rte_be_to_cpu_32(req->arp_data.arp_sip);
  asker.mac = req->arp_data.arp_sha;
  put_eth(f, asker.mac, our_mac, RTE_ETHER_TYPE_ARP);
  auto* arp = reinterpret_cast<rte_arp_hdr*>(f + RTE_ETHER_HDR_LEN);
  *arp = *req;
  arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
  arp->arp_data.arp_tha = req->arp_data.arp_sha;
  arp->arp_data.arp_tip = req->arp_data.arp_sip;
  arp->arp_data.arp_sha = our_mac;
  arp->arp_data.arp_sip = rte_cpu_to_be_32(our_ip);
  return true;
}

bool build_icmp_echo(rte_mbuf* m, const ProbeAddrs& a, uint16_t id, uint16_t seq,
                     uint64_t tsc) noexcept {
  constexpr uint16_t l4_len = sizeof(rte_icmp_hdr) + sizeof(ProbePayload);
  uint8_t* f = frame_of(m, RTE_ETHER_HDR_LEN + kIpLen + l4_len);
  if (f == nullptr) return false;
  put_eth(f, a.dst_mac, a.src_mac, RTE_ETHER_TYPE_IPV4);
  put_ipv4(f, a, IPPROTO_ICMP, seq, l4_len);
  uint8_t* l4 = f + RTE_ETHER_HDR_LEN + kIpLen;
  auto* icmp = reinterpret_cast<rte_icmp_hdr*>(l4);
  icmp->icmp_type = RTE_IP_ICMP_ECHO_REQUEST;
  icmp->icmp_ident = rte_cpu_to_be_16(id);
  icmp->icmp_seq_nb = rte_cpu_to_be_16(seq);
  put_payload(l4 + sizeof(rte_icmp_hdr), id, seq, tsc);
  icmp->icmp_cksum = uint16_t(~rte_raw_cksum(l4, l4_len));
  return true;
}

bool parse_icmp_echo_reply(const uint8_t* frame, uint32_t len, uint16_t id,
                           ProbeReply& out) noexcept {
  uint32_t off, l4_len;
  const rte_ipv4_hdr* ip = get_ipv4(frame, len, IPPROTO_ICMP, off, l4_len);
  if (ip == nullptr || l4_len < sizeof(rte_icmp_hdr)) return false;
  const auto* icmp = reinterpret_cast<const rte_icmp_hdr*>(frame + off);
  if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REPLY || icmp->icmp_code != 0 ||
      rte_be_to_cpu_16(icmp->icmp_ident) != id || rte_raw_cksum(icmp, l4_len) != 0xFFFF)
    return false;
  if (!get_payload(frame + off + sizeof(rte_icmp_hdr), l4_len - sizeof(rte_icmp_hdr), id, out))
    return false;
  out.ip = rte_be_to_cpu_32(ip->src_addr);
  return rte_be_to_cpu_16(icmp->icmp_seq_nb) == out.seq;
}

bool build_udp_echo(rte_mbuf* m, const ProbeAddrs& a, uint16_t src_port, uint16_t dst_port,
                    uint16_t id, uint16_t seq, uint64_t tsc) noexcept {
  constexpr uint16_t l4_len = sizeof(rte_udp_hdr) + sizeof(ProbePayload);
  uint8_t* f = frame_of(m, RTE_ETHER_HDR_LEN + kIpLen + l4_len);
  if (f == nullptr) return false;
  put_eth(f, a.dst_mac, a.src_mac, RTE_ETHER_TYPE_IPV4);
  rte_ipv4_hdr* ip = put_ipv4(f, a, IPPROTO_UDP, seq, l4_len);
  uint8_t* l4 = f + RTE_ETHER_HDR_LEN + kIpLen;
  auto* udp = reinterpret_cast<rte_udp_hdr*>(l4);
  udp->src_port = rte_cpu_to_be_16(src_port);
  udp->dst_port = rte_cpu_to_be_16(dst_port);
  udp->dgram_len = rte_cpu_to_be_16(l4_len);
  put_payload(l4 + sizeof(rte_udp_hdr), id, seq, tsc);
  udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);  // 0 is sent as 0xFFFF
  return true;
}

bool parse_udp_echo_reply(const uint8_t* frame, uint32_t len, uint16_t our_port,
                          uint16_t echo_port, uint16_t id, ProbeReply& out) noexcept {
  uint32_t off, l4_len;
  const rte_ipv4_hdr* ip = get_ipv4(frame, len, IPPROTO_UDP, off, l4_len);
  if (ip == nullptr || l4_len < sizeof(rte_udp_hdr)) return false;
  const auto* udp = reinterpret_cast<const rte_udp_hdr*>(frame + off);
  const uint16_t ulen = rte_be_to_cpu_16(udp->dgram_len);
  if (udp->src_port != rte_cpu_to_be_16(echo_port) ||
      udp->dst_port != rte_cpu_to_be_16(our_port) || ulen < sizeof(rte_udp_hdr) ||
      ulen > l4_len)
    return false;
  if (udp->dgram_cksum != 0 &&
      fold(uint32_t(rte_ipv4_phdr_cksum(ip, 0)) + rte_raw_cksum(udp, ulen)) != 0xFFFF)
    return false;
  if (!get_payload(frame + off + sizeof(rte_udp_hdr), ulen - sizeof(rte_udp_hdr), id, out))
    return false;
  out.ip = rte_be_to_cpu_32(ip->src_addr);
  return true;
}

}  // namespace mirror
