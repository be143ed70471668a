#include "pkt/rst.h"

#include <cstring>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_tcp.h>

namespace pkt {

rte_mbuf* build_rst(const rte_mbuf* m, const Parsed& p, bool reverse, rte_mempool* pool) noexcept {
  if (p.ip_version != 4 && p.ip_version != 6) return nullptr;
  const uint16_t hdrs = p.l4_off;  // L2 + L3 as they were
  const uint16_t len = hdrs + sizeof(rte_tcp_hdr);
  if (rte_pktmbuf_data_len(m) < p.l4_off + sizeof(rte_tcp_hdr)) return nullptr;
  rte_mbuf* r = rte_pktmbuf_alloc(pool);
  if (!r) return nullptr;
  uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(r, len));
  if (!d) {
    rte_pktmbuf_free(r);
    return nullptr;
  }
  std::memcpy(d, rte_pktmbuf_mtod(m, const uint8_t*), hdrs);
  if (reverse) {
    auto* eth = reinterpret_cast<rte_ether_hdr*>(d);
    std::swap(eth->src_addr, eth->dst_addr);
  }
  auto* tcp = reinterpret_cast<rte_tcp_hdr*>(d + p.l4_off);
  std::memset(tcp, 0, sizeof *tcp);
  tcp->data_off = (sizeof(rte_tcp_hdr) / 4) << 4;
  if (reverse) {
    tcp->src_port = rte_cpu_to_be_16(p.dport);
    tcp->dst_port = rte_cpu_to_be_16(p.sport);
    tcp->sent_seq = rte_cpu_to_be_32(p.ack);
    // Acknowledge what the dropped segment carried, SYN and FIN included.
    const uint32_t used = p.payload_len + ((p.tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_FIN_FLAG)) ? 1 : 0);
    tcp->recv_ack = rte_cpu_to_be_32(p.seq + used);
    tcp->tcp_flags = RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG;
  } else {
    tcp->src_port = rte_cpu_to_be_16(p.sport);
    tcp->dst_port = rte_cpu_to_be_16(p.dport);
    tcp->sent_seq = rte_cpu_to_be_32(p.seq);
    tcp->tcp_flags = RTE_TCP_RST_FLAG;
  }
  if (p.ip_version == 4) {
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(d + p.l3_off);
    if (reverse) {
      const rte_be32_t a = ip->src_addr;
      ip->src_addr = ip->dst_addr;
      ip->dst_addr = a;
    }
    ip->total_length = rte_cpu_to_be_16(uint16_t(len - p.l3_off));
    ip->fragment_offset = 0;
    ip->time_to_live = 64;
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    tcp->cksum = rte_ipv4_udptcp_cksum(ip, tcp);
  } else {
    auto* ip = reinterpret_cast<rte_ipv6_hdr*>(d + p.l3_off);
    if (reverse) {
      uint8_t t[16];
      std::memcpy(t, ip->src_addr, 16);
      std::memcpy(ip->src_addr, ip->dst_addr, 16);
      std::memcpy(ip->dst_addr, t, 16);
    }
    ip->payload_len = rte_cpu_to_be_16(uint16_t(len - p.l3_off - sizeof(rte_ipv6_hdr)));
    ip->hop_limits = 64;
    // With extension headers the TCP checksum's pseudo-header still uses
    // the IPv6 addresses and the TCP length: compute it over those.
    if (p.l4_off == p.l3_off + sizeof(rte_ipv6_hdr)) {
      tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
    } else {
      const uint8_t next = ip->proto;
      ip->proto = IPPROTO_TCP;
      const uint16_t pl = ip->payload_len;
      ip->payload_len = rte_cpu_to_be_16(sizeof(rte_tcp_hdr));
      tcp->cksum = rte_ipv6_udptcp_cksum(ip, tcp);
      ip->proto = next;
      ip->payload_len = pl;
    }
  }
  return r;
}

}  // namespace pkt
