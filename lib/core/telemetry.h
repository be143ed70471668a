/* core/telemetry: what every library's telemetry unit shares, and the
 * commands of the data core owns.
 *
 * Each library that owns data registers its own `/loom/<lib>` commands
 * from its own `telemetry.cc` (lib/port: /loom/ports; lib/inspect: flows,
 * decap, reasm, http, top_flows, flow; lib/sink: /loom/outputs;
 * lib/mirror: /loom/collectors; lib/ctl: info, rules, rules_reload), the
 * way DPDK's libraries each register theirs. Registration is an explicit call per library
 * (`<lib>::register_telemetry(source)`), made by ctl::register_telemetry
 * before rte_eal_init, not an RTE_INIT constructor: Loom's libraries are
 * static archives (lib/meson.build), and the linker drops an archive
 * member no one references, constructor and all; link_whole would pull
 * every object of every library into every test and fuzz binary instead.
 * The call also hands each library its typed source (what it reads, with
 * the lifetime the caller guarantees) and lets a test register exactly
 * the libraries it exercises.
 *
 * DPDK 22.11's callbacks take no context pointer, so each unit keeps the
 * source it was given in a file-static copy. A source's `ready` says when
 * the vectors it points to are complete; until then a command answers
 * {"status": "starting"} (starting()).
 *
 * What a lower library's reply holds from a higher one (the ports' byte
 * totals in /loom/workers, a worker's parse counters) comes in its source
 * as a function the wiring (lib/ctl) fills, so no library includes a
 * library above it.
 *
 * core's commands:
 *   /loom/workers   per worker: rx, tx, drops by reason, polls; ",<id>":
 *                   one worker in detail (plus what `detail` adds)
 *   /loom/latency   relay hold time RX to TX; ",<id>": one worker
 *   /loom/drops     every listed counter with its help: core's drop
 *                   reasons, and what each library added with explain()
 *
 * Handlers run on DPDK's telemetry thread and only read counters (no
 * locks, core::Counter). Every reply fits the 16 KB socket limit.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <rte_telemetry.h>

#include "core/worker.h"

namespace core::tel {

/* DPDK 22.11 refuses help texts of 64 characters or more (MAX_HELP_LEN);
 * a longer one here does not compile. docs/operations.md has the long
 * form of each. */
struct Cmd {
  consteval Cmd(const char* n, telemetry_cb f, const char* h) : name(n), fn(f), help(h) {
    size_t len = 0;
    while (h[len]) len++;
    if (len >= 64) throw "telemetry help text of 64 characters or more";
  }
  const char* name;
  telemetry_cb fn;
  const char* help;
};

/* Registers each command; a refusal (a name taken) is logged. */
void add_cmds(std::span<const Cmd> cmds);

inline void add_u64(rte_tel_data* d, const char* k, uint64_t v) { rte_tel_data_add_dict_u64(d, k, v); }
inline void add_u64(rte_tel_data* d, const std::string& k, uint64_t v) {
  rte_tel_data_add_dict_u64(d, k.c_str(), v);
}

/* The reply while start-up is still building what a command reads. */
int starting(rte_tel_data* d);

inline bool is_ready(const std::atomic<bool>* ready) {
  return ready && ready->load(std::memory_order_acquire);
}

/* A ",<index>" parameter below `n`: kAll when there is none, kBad for
 * anything but a decimal index below n (the command then gives null). */
enum class Pick { kAll, kOne, kBad };
Pick pick(const char* params, size_t n, size_t* index);

/* /loom/drops: adds one counter's key ("<block>_<name>", as telemetry and
 * stats.json name it) and help text. Before the socket serves. */
void explain(const std::string& key, const char* help);

/* Adds every counter of a counters.def struct under "<block>_<name>". */
template <class Stats>
void explain_block(const char* block, const Stats& zero) {
  zero.visit([&](const char* name, CounterKind, const char* help, const Counter&) {
    explain(std::string(block) + "_" + name, help);
  });
}

struct WorkersSource {
  const std::atomic<bool>* ready = nullptr;
  const std::vector<std::unique_ptr<WorkerCtx>>* workers = nullptr;
  const bool* latency = nullptr;  // worker.latency: the hold histograms are filled
  // Bytes are the ports' (ethdev): lib/port's, summed into rx/tx.
  std::function<void(uint64_t* rx_bytes, uint64_t* tx_bytes)> port_bytes;
  // ",<id>": what else that worker shows (its parse and stream counters).
  std::function<void(rte_tel_data*, size_t worker)> detail;
};

/* /loom/workers, /loom/latency, /loom/drops. `src` outlives telemetry. */
void register_telemetry(WorkersSource src);

}  // namespace core::tel
