/* mirror: the frames Loom sends and recognises to reach its collectors:
 * ARP to learn the next hop's MAC, and ICMP or UDP echo probes to measure
 * each collector's round-trip time (collectors.h chooses from those).
 *
 * IPv4 only, like the encapsulations in encap.h (their outer header is
 * IPv4): an IPv6 collector would need Neighbour Discovery and IPv6 outer
 * headers together, which Loom does not build.
 *
 * The echo probes carry the same 24-byte payload, ProbePayload: a magic
 * string that marks the reply as Loom's, the probe's id and sequence
 * number (UDP has no header fields for them), and the TSC value the
 * caller read when it built the probe, echoed back so the RTT needs no
 * table of send times. The UDP probe targets an echo service (RFC 862),
 * which returns the datagram to the port it came from.
 *
 * Frames are untagged; the parsers reject VLAN-tagged frames. Builders
 * write into an empty mbuf (frames from ARP and probes are padded to the
 * 60-byte Ethernet minimum, since some PMDs send short frames as they
 * are). Parsers read a contiguous frame (an mbuf's first segment) and
 * check every length against it. IPv4 addresses in host order.
 *
 * Thread: any; pure functions, noexcept, no allocation. They run at a
 * probe's rate (a few per second), not per relayed frame.
 */
#pragma once

#include <cstdint>

#include <rte_ether.h>
#include <rte_mbuf.h>

namespace mirror {

/* Writes a broadcast ARP request "who has target_ip, tell our_ip" into the
 * empty mbuf m. False if m has no room. */
bool build_arp_request(rte_mbuf* m, const rte_ether_addr& our_mac, uint32_t our_ip,
                       uint32_t target_ip) noexcept;

struct Neighbour {
  uint32_t ip;
  rte_ether_addr mac;
};

/* An Ethernet/IPv4 ARP reply: its sender's address pair. False for any
 * other frame. The caller checks that out.ip is the address it asked for. */
bool parse_arp_reply(const uint8_t* frame, uint32_t len, Neighbour& out) noexcept;

/* If frame is an ARP request for our_ip, writes the reply into the empty
 * mbuf m, fills `asker` with the requester's pair and returns true. A
 * collector's kernel forgets Loom's MAC after a while and asks again;
 * unanswered, it would drop its echo replies. */
bool answer_arp_request(const uint8_t* frame, uint32_t len, const rte_ether_addr& our_mac,
                        uint32_t our_ip, rte_mbuf* m, Neighbour& asker) noexcept;

/* Who sends a probe to whom: our MAC and the next hop's, our address and
 * the collector's. */
struct ProbeAddrs {
  rte_ether_addr src_mac, dst_mac;
  uint32_t src_ip, dst_ip;
};

constexpr char kProbeMagic[8] = {'L', 'O', 'O', 'M', 'P', 'R', 'B', '1'};

struct ProbePayload {
  char magic[8];
  uint16_t id, seq;  // network order
  uint32_t zero;
  uint64_t tsc;      // as the sender read it (host order: only Loom reads it)
};
static_assert(sizeof(ProbePayload) == 24);

/* What a recognised echo reply says. */
struct ProbeReply {
  uint32_t ip;    // the collector (the reply's source)
  uint16_t seq;
  uint64_t tsc;   // the TSC the probe carried: RTT = now - tsc
};

/* Writes an ICMP echo request (identifier id, sequence seq, ProbePayload)
 * into the empty mbuf m, checksums set. False if m has no room. */
bool build_icmp_echo(rte_mbuf* m, const ProbeAddrs& a, uint16_t id, uint16_t seq,
                     uint64_t tsc) noexcept;

/* An ICMP echo reply to one of our probes with identifier id: its checksum
 * holds, and its payload is a ProbePayload with id. False otherwise. */
bool parse_icmp_echo_reply(const uint8_t* frame, uint32_t len, uint16_t id,
                           ProbeReply& out) noexcept;

/* Writes a UDP datagram from src_port to dst_port (the collector's echo
 * service) carrying a ProbePayload, checksums set, into the empty mbuf m. */
bool build_udp_echo(rte_mbuf* m, const ProbeAddrs& a, uint16_t src_port, uint16_t dst_port,
                    uint16_t id, uint16_t seq, uint64_t tsc) noexcept;

/* A UDP datagram from echo_port to our_port whose checksum (if any) holds
 * and whose payload is a ProbePayload with id. False otherwise. */
bool parse_udp_echo_reply(const uint8_t* frame, uint32_t len, uint16_t our_port,
                          uint16_t echo_port, uint16_t id, ProbeReply& out) noexcept;

}  // namespace mirror
