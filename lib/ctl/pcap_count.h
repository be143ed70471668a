/* ctl/pcap_count: how many packets a capture holds, so an offline run
 * knows when net_pcap has delivered all of them (the PMD has no EOF: at
 * the end rx_burst just returns 0 forever).
 *
 * Reads only the 16-byte record headers of a classic libpcap file (either
 * byte order, usec or nsec); packet data goes through the PMD. Control
 * path: offline runs call it on a thread of their own, alongside EAL
 * start-up and the worker.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace ctl {

/* Record count, or nullopt for pcapng, an unreadable file or a read error
 * (the caller then falls back to a quiet period), or when *stop turns true
 * (checked before each 1 MiB read). A truncated last record is not
 * counted: libpcap does not deliver it either. */
std::optional<uint64_t> count_pcap_records(const std::string& path,
                                           const std::atomic<bool>* stop = nullptr);

}  // namespace ctl
