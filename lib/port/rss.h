/* port/rss: the RSS key Loom programs and the software check that it keeps
 * both directions of a connection on one queue.
 *
 * Symmetry is what lets each worker own its flows without locks, so Loom
 * does not take it on faith: at start-up it hashes sample tuples both ways
 * with the exact key and RETA it programmed (Toeplitz, as the NICs do) and
 * refuses to call the port symmetric unless every pair lands together.
 *
 * Control path only (start-up, telemetry); allocates freely.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace port {

/* 0x6D5A repeated: Toeplitz with this key gives hash(a,b) == hash(b,a)
 * because the key is periodic with period 16 bits, the width of a port and
 * of half an IPv4 address (Woo & Park, "Scalable TCP Session Monitoring
 * with Symmetric Receive-side Scaling", 2012). */
std::vector<uint8_t> symmetric_key(size_t len);

/* The key from Microsoft's RSS verification suite; not symmetric. Used by
 * tests and as the "what most drivers default to" example. */
std::vector<uint8_t> microsoft_key();

/* Toeplitz hash of `data` (network byte order) under `key`; the key must
 * be at least len + 4 bytes long. */
uint32_t toeplitz(const uint8_t* key, size_t key_len, const uint8_t* data,
                  size_t len) noexcept;

/* Hash input for a TCP/UDP tuple, in the order NICs feed it:
 * src addr, dst addr, src port, dst port. 12 bytes (v4) or 36 (v6). */
std::vector<uint8_t> tuple_bytes(const uint8_t* src, const uint8_t* dst,
                                 uint16_t sport, uint16_t dport, bool v6,
                                 bool with_ports);

struct SymmetryReport {
  bool symmetric = true;
  uint32_t tuples = 0;           // sample tuples checked (each both ways)
  uint32_t asymmetric = 0;       // tuples whose two directions split
  std::vector<uint32_t> per_queue;  // tuples landing on each queue
  std::string summary() const;   // one log line
};

/* Checks `n_tuples` deterministic pseudo-random IPv4 and IPv6 TCP tuples
 * (half each) in both directions against key + reta (queue per RETA
 * entry; indexed by hash % reta.size(), as NICs use the low bits). */
SymmetryReport check_symmetry(const std::vector<uint8_t>& key,
                              const std::vector<uint16_t>& reta,
                              uint32_t n_tuples, bool with_ports = true);

/* The RETA most PMDs program by default: entry i -> queue i % n_queues. */
std::vector<uint16_t> default_reta(uint16_t reta_size, uint16_t n_queues);

/* Parses a key written as hex bytes, with optional ':' separators. Throws
 * std::invalid_argument naming the offending character. */
std::vector<uint8_t> parse_hex_key(const std::string& s);

}  // namespace port
