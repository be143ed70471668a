/* ctl/pcap_count: how many packets a capture holds, so an offline run
 * knows when net_pcap has delivered all of them (the PMD has no EOF: at
 * the end rx_burst just returns 0 forever).
 *
 * Reads only the 16-byte record headers of a classic libpcap file (either
 * byte order, usec or nsec); packet data goes through the PMD. Control
 * path: offline runs call it on a thread of their own, alongside EAL
 * start-up and the worker.
 *
 * capture_link_type() reads the link type the same file declares, which
 * net_pcap ignores (it hands each record's bytes over raw): the parser
 * must know it to find the IP header.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace ctl {

/* A record header libpcap refuses: its captured length is over libpcap's
 * limit (262144 bytes), so pcap_next_ex() fails there and net_pcap goes on
 * reading the bytes after that header as if they were records. */
struct PcapDamage {
  bool found = false;
  uint64_t record = 0;   // 1-based index of the bad record
  uint64_t offset = 0;   // file offset of its header
  uint32_t caplen = 0;   // the length it claims
  std::string str(const std::string& path) const;  // the sentence to print
};

/* libpcap's MAXIMUM_SNAPLEN: a longer captured length is an error. */
constexpr uint32_t kPcapMaxCaplen = 262144;

/* Record count, or nullopt for pcapng, an unreadable file or a read error
 * (the caller then falls back to a quiet period), or when *stop turns true
 * (checked before each 1 MiB read). A truncated last record is not
 * counted: libpcap does not deliver it either. A damaged record header
 * ends the count: the records before it are counted and *damage (when
 * given) says where. */
std::optional<uint64_t> count_pcap_records(const std::string& path,
                                           const std::atomic<bool>* stop = nullptr,
                                           PcapDamage* damage = nullptr);

/* The capture's link type: the classic header's (either byte order, usec
 * or nsec magic), or pcapng's interfaces' (every Interface Description
 * Block of every section, read by walking the block headers). Throws
 * std::runtime_error, naming the file, for a pcapng whose interfaces
 * differ (libpcap, which net_pcap reads with, refuses those too) or a
 * link type pkt::parse() does not decode (its number and what is
 * decoded). A file that is neither format, or unreadable, gives
 * Ethernet: net_pcap then reports it. */
uint32_t capture_link_type(const std::string& path);

/* The snap length the capture declares (pcap header, or pcapng's first
 * interface), 0 when unknown or unlimited. A record exactly that long may
 * have been cut: the parser then takes an IP length past its end as bytes
 * not captured rather than a malformed packet. */
uint32_t capture_snaplen(const std::string& path);

/* The capture has records shorter than the packet on the wire (captured
 * length below original length) among its first 100,000: tools such as
 * editcap -s cut records without changing the declared snap length. */
bool capture_has_cut_records(const std::string& path);

}  // namespace ctl
