/* pkt/rst: TCP resets for a connection a drop rule rejects.
 *
 * build_rst() makes a reset from a frame of the connection as parsed:
 * towards the frame's destination (forward: the frame's own addresses and
 * sequence number, so it lands exactly where the dropped segment would
 * have) or back to its sender (reverse: addresses, ports and MACs swapped,
 * sequence number = the frame's ACK, which is what the sender expects
 * next from its peer, with ACK set). Both are accepted by RFC 5961
 * receivers, which want the exact next sequence number. The L2 header
 * (VLAN tags included) and the IP header (IPv6 extension headers
 * included) are copied, lengths and checksums recomputed; no payload.
 *
 * Fast-path safe: one mbuf from `pool`, nullptr when it is empty; no
 * logging, no exceptions.
 */
#pragma once

#include <rte_mbuf.h>

#include "pkt/parse.h"

namespace pkt {

rte_mbuf* build_rst(const rte_mbuf* m, const Parsed& p, bool reverse, rte_mempool* pool) noexcept;

}  // namespace pkt
