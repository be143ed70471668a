/* ctl/plan: what a startup file implies for the workers' inspection, as a
 * pure function of the parsed Config (no EAL, no ports), so that every
 * mapping from a key to the stage's setting (units, derived sizes, which
 * outputs need which records) is in one place and unit-tested
 * (tests/ctl/plan_test.cc).
 *
 * Thread: any; pure.
 */
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/worker.h"
#include "ctl/config.h"
#include "inspect/stage.h"

namespace ctl {

/* The inspection stage's config for `c`; `have_out_dir`: outputs are
 * written (offline --out, or live outputs.dir). */
inspect::Config stage_config(const Config& c, bool have_out_dir);

/* Capture buffers are made: for http.gor, and for rules, which may read
 * headers and body. */
bool raw_buffers(const Config& c);
/* The HTTP pool: http.max_connections_per_worker states, never more than
 * the flow slots; 0 (the default) is one per slot. */
bool http_pool_per_slot(const Config& c);
uint64_t http_conns(const Config& c);

/* What one unit of each sized thing costs a worker, in bytes, from the
 * structures' sizes (docs/configuration.md quotes them). */
struct UnitCosts {
  uint64_t flow;            // a tracked flow slot: table record, index, connection record
  uint64_t http_conn;       // an HTTP connection state and its free-stack entry (with http.enabled)
  uint64_t held_byte_x1000; // a held out-of-order byte, x1000: mbuf buffer and header per data byte
  uint64_t ofo_node;        // a held run's node (and its share of copy chunks)
  uint64_t stream_record;   // a streams.jsonl record in flight
  uint64_t message_record;  // a messages.jsonl record in flight (without its raw capture buffer)
};
UnitCosts unit_costs(const Config& c);

/* One consumer of a worker's memory as the plan sizes it. */
struct MemoryUse {
  std::string what;
  std::string key;   // the startup-file key that sizes it
  uint64_t bytes;
};

/* Every consumer of one worker's memory, largest first. */
std::vector<MemoryUse> worker_memory(const Config& c);
uint64_t total(const std::vector<MemoryUse>& uses);

/* "a 1.2 GiB, b 300 MiB, c 12 MiB": the `n` largest, for error messages. */
std::string largest(const std::vector<MemoryUse>& uses, size_t n = 3);

/* [worker] memory_mb: sizes flow.max_flows_per_worker and
 * reassembly.memcap_mb where the file left them out (what the fixed
 * consumers leave is shared half and half, or all to the one not given),
 * then checks the whole plan against the budget. Empty, or the sentence
 * naming the largest consumers. */
std::string apply_memory_budget(Config& c);

/* The whole process (every worker's plan, the mbuf pool of `mbufs`, the
 * mirror pool) against `machine_bytes` (free RAM plus free hugepages,
 * ctl::machine_memory_bytes). Empty, or the sentence naming the largest. */
std::string check_machine(const Config& c, uint32_t mbufs, uint64_t machine_bytes);

/* What each worker polls and where it relays, in the config's port indices
 * (app/ maps them to ethdev port ids once the ports exist). Inline, each
 * worker gets one TX buffer per peer port it relays into, on the next TX
 * queue of that port not yet taken by an earlier worker: every TX queue
 * has one writer (lcore-local, no lock), and the count per port matches
 * the TX queues the parser configured. Passive and offline queues relay
 * nowhere (tx_slot core::kNoTx). */
struct TxPlan {
  uint16_t port = 0;   // index into Config::ports
  uint16_t queue = 0;  // that port's TX queue this worker owns
};
struct RxPlan {
  uint16_t port = 0;   // index into Config::ports
  uint16_t queue = 0;
  uint16_t tx_slot = core::kNoTx;  // index into WorkerPlan::tx, or kNoTx: relays nowhere
};
struct WorkerPlan {
  unsigned lcore = 0;
  std::vector<RxPlan> rx;
  std::vector<TxPlan> tx;
};
std::vector<WorkerPlan> plan_workers(const Config& c);

/* For port index `port`: which worker polls each of its RX queues (-1
 * none), as the stage's software RSS check wants it. */
std::vector<int16_t> queue_owners(const Config& c, size_t port);

/* The receive pool and what reassembly may hold of it. Reassembly holds
 * mbufs by reference, so the automatic pool (mempool.mbufs unset) also
 * covers every worker's memcap (a full out-of-order budget never starves
 * RX); offline no more than the capture's records can be held
 * (`most_records`, UINT64_MAX unknown). A pool sized by hand can be
 * smaller than the memcap lets reassembly hold: once reassembly held
 * every free mbuf the PMD could not receive, nothing would fill the
 * holes and the relay would stall until a hole timed out (seen in
 * tests/e2e/faults_ns_test.sh, pool). So live, with a hand-sized pool,
 * each worker's reassembly gets at most its share of half of what the
 * pool has beyond RX's and TX's own needs; past that its memcap logic
 * reclaims and drops, counted. */
struct PoolPlan {
  uint32_t mbufs = 0;
  uint64_t memcap_limit = UINT64_MAX;  // bytes per worker; UINT64_MAX: reassembly.memcap_mb alone
  uint64_t held_per_worker = 0;        // with a limit: the mbufs it allows
  bool memcap_cut = false;             // the limit is below reassembly.memcap_mb (worth a warning)
};
PoolPlan plan_pool(const Config& c, uint64_t most_records);

}  // namespace ctl
