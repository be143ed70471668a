/* inspect/lookback: recent packets, kept until their connection's fate is
 * known.
 *
 * packets.pcap holds the packets of the connections whose messages were
 * exported, but that choice comes after the packets that carried the
 * message. So each packet of a not-yet-selected connection is copied
 * (its first snaplen bytes) into a per-worker ring of fixed entries,
 * chained per connection: the chain's head, the seq of its latest entry,
 * is the connection's (inspect::Conn::lookback), passed to every call.
 * Selecting a connection turns its chain around (no memory of its own:
 * the links are reversed in place) and hands back
 * the oldest entry the ring still holds; next() follows the chain forward.
 * An entry the walk reaches that the ring has overwritten means packets
 * lost to the pcap (reported as `missed`).
 *
 * Thread: the owning worker. Memory: entries x (snaplen + 40) bytes,
 * allocated once.
 */
#pragma once

#include <cstddef>
#include <cstdint>

#include <rte_mbuf.h>

namespace inspect {

class Lookback {
 public:
  struct Entry {
    uint64_t seq;   // 1 + position in the stream of saved packets; 0: empty
    uint64_t prev;  // the same connection's previous packet (after select: the next), 0: none
    uint64_t ts_ns;
    uint32_t caplen, wirelen;
    uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
  };

  /* Throws with the way out when memory runs short. */
  Lookback(uint32_t entries, uint32_t snaplen, unsigned worker, int socket);
  ~Lookback();
  Lookback(const Lookback&) = delete;
  Lookback& operator=(const Lookback&) = delete;

  /* `last`: the connection's chain (0: a new connection, nothing held). */
  void save(uint64_t& last, const rte_mbuf* m, uint64_t ts_ns) noexcept;
  /* The connection's packets still held, oldest first (nullptr: none);
   * its chain is emptied. */
  Entry* select(uint64_t& last, bool* missed) noexcept;
  Entry* next(Entry* e) noexcept { return e->prev ? &at(e->prev) : nullptr; }

 private:
  Entry& at(uint64_t seq) noexcept {
    return *reinterpret_cast<Entry*>(ring_ + stride_ * ((seq - 1) % entries_));
  }

  uint32_t entries_, snaplen_;
  size_t stride_;
  uint8_t* ring_ = nullptr;
  uint64_t seq_ = 0;          // packets saved so far
};

}  // namespace inspect
