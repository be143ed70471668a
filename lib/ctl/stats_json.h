/* ctl/stats_json: every counter of a Runtime as JSON.
 *
 * stats.json holds only what the input determines (packet, byte and drop
 * counts), so two offline runs over one capture give identical files;
 * run.json holds what the machine determines (wall time, polls, rates).
 * Files are written to a temporary name, fsynced and renamed, so a reader
 * never sees half a file. Control path; reads counters without locks.
 */
#pragma once

#include <string>

#include "ctl/json.h"
#include "ctl/runtime.h"
#include "inspect/counters_walk.h"

namespace ctl {

/* Sums of the per-worker counters. */
struct Totals {
  uint64_t rx_packets = 0, tx_packets = 0;
  uint64_t rx_bytes = 0, tx_bytes = 0;  // from the ports (ethdev ibytes/obytes)
  uint64_t rx_backpressure = 0;
  uint64_t rx_pool_empty = 0;
  uint64_t drops[core::kNumDrops] = {};
  uint64_t polls_busy = 0, polls_idle = 0;
};
Totals totals(const Runtime& rt);

/* Records the workers' rings could not take (dropped before any sink saw
 * them), summed over workers, by the kind of record. */
struct RecordDrops {
  uint64_t streams = 0, messages = 0, packets = 0;
  uint64_t all() const noexcept { return streams + messages + packets; }
  /* What an output of this name ("streams", "kafka_streams", "pcap", the
   * rest carry messages) lost that way. */
  uint64_t of_output(const std::string& name) const noexcept {
    if (name == "streams" || name == "kafka_streams") return streams;
    return name == "pcap" ? packets : messages;
  }
};
RecordDrops record_drops(const Runtime& rt);

/* Mirror copies for collector i (the prober's index, < mirror::kMaxCollectors)
 * that the mirror port took and refused, summed over workers; and those
 * not made while no collector had a MAC. stats.json, /loom/collectors and
 * the metrics read these. */
struct CollectorCopies {
  uint64_t mirrored = 0, dropped = 0;
};
CollectorCopies collector_copies(const Runtime& rt, size_t i);
uint64_t copies_without_collector(const Runtime& rt);

/* The inspection counters ("pkt", "flows", "reasm", "streams" blocks) of
 * the given stages, summed. Gauges are summed too (bytes in use...). */
void write_inspect_stats(JsonWriter& j, const std::vector<const inspect::Stage*>& st);

/* Visits every inspection counter of the given stages, summed: block name,
 * counter name, value (inspect/counters_walk.h, which telemetry shares). */
inline void for_each_inspect_counter(const std::vector<const inspect::Stage*>& st,
                                     void (*fn)(void* ctx, const char* block, const char* name,
                                                uint64_t v),
                                     void* ctx) {
  inspect::for_each_counter(st, fn, ctx);
}

std::string stats_json(const Runtime& rt);
std::string run_json(const Runtime& rt, double wall_seconds);

/* Writes `content` to `path` via path.tmp + fsync + rename. */
bool write_file_durable(const std::string& path, const std::string& content);

}  // namespace ctl
