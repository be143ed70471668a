/* inspect/pcap_out: packets.pcap's records. A connection's packets are
 * recorded once it is selected — one of its messages was exported (a
 * verdict other than skip), or from its first packet when HTTP framing is
 * off; until then they wait in the lookback (inspect/lookback.h), so that
 * a selection made at a response still records the request's packets.
 *
 * Thread: the owning worker (the main lcore during Stage::finish()).
 * Allocates its pool, ring and lookback when built, nothing after.
 */
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <rte_mbuf.h>

#include "core/channel.h"
#include "flow/flow.h"
#include "inspect/lookback.h"
#include "inspect/stats.h"

namespace inspect {

/* One packet for packets.pcap: the first caplen bytes of the frame follow
 * the header (the pool's elements are sizeof(PacketRecord) + snaplen). */
struct PacketRecord {
  uint64_t ts_ns;
  uint32_t caplen, wirelen;
  uint8_t* data() noexcept { return reinterpret_cast<uint8_t*>(this + 1); }
  const uint8_t* data() const noexcept { return reinterpret_cast<const uint8_t*>(this + 1); }
};

/* packets.pcap's bytes are join::pcap_file_header's and join::pcap_record's
 * (join/format.h), on the sink thread. */

class PcapOut {
 public:
  /* `lookback`: recent packets kept for a late selection (0: none). */
  PcapOut(uint32_t snaplen, uint32_t lookback, uint32_t ring, unsigned worker, int socket,
          const core::Waiting* w, Stats* stats);

  /* One packet of the connection: recorded if selected, else kept back
   * on its lookback chain (`chain`, its record's: inspect::Conn). */
  void packet(flow::Flow& f, uint64_t& chain, const rte_mbuf* m, uint64_t ts) noexcept;
  /* Selects the connection: what the lookback still holds of it first. */
  void select(flow::Flow& f, uint64_t& chain) noexcept;

  core::Channel& channel() noexcept { return records_; }

 private:
  void emit(uint64_t ts, uint32_t wirelen, const rte_mbuf* m, const uint8_t* bytes,
            uint32_t caplen) noexcept;

  core::Channel records_;
  std::unique_ptr<Lookback> lookback_;
  uint32_t snaplen_;
  Stats* stats_;
};

}  // namespace inspect
