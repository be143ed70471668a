// Flow-table scale (issue: performance, "Scale"): inserts and lookups per
// second with 10 k, 65,536 (the default flow.max_flows_per_worker) and
// 1 M concurrent flows in one worker's table, and the bytes each tracked
// flow costs.
//
//   flow_bench [--rounds R]
//
// Keys are IPv4 TCP 4-tuples spread like real clients (many addresses and
// ports towards a few servers). Inserts go one by one, as the stage does
// on a miss, with the table's normal sweep-per-insert; lookups go in bulk
// bursts of 32 (Table::lookup_bulk), as the stage does per RX burst, in a
// shuffled order so that cache misses are honest, and read the found
// record's state as the stage does next; removes walk the slots in order,
// as the end of a run does. One
// table per size, emptied between rounds: the first round also pays for
// faulting its memory in, which the best of R >= 2 leaves out. Prints a
// markdown table, best of R rounds; exits 1 if an insert fails, a key is
// not found again or a removal leaves a flow behind.
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>
#include <vector>

#include "flow/flow.h"

namespace {

flow::Key key_of(uint32_t i) {
  flow::Key k;
  std::memset(&k, 0, sizeof k);
  k.ipver = 4;
  const uint32_t client = 0x0A000000u | (i / 28000);        // 10.x.y.z
  const uint32_t server = 0xC6120200u | (i % 4);            // 198.18.2.0-3
  const uint16_t cport = uint16_t(1024 + i % 28000), sport = 80;
  // Canonical order: the lower endpoint first (flow::make_key's rule).
  const bool client_low = client < server;
  const uint32_t a = client_low ? client : server, b = client_low ? server : client;
  for (int j = 0; j < 4; j++) {
    k.a[j] = uint8_t(a >> (24 - 8 * j));
    k.b[j] = uint8_t(b >> (24 - 8 * j));
  }
  k.pa = client_low ? cport : sport;
  k.pb = client_low ? sport : cport;
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned rounds = 3;
  if (argc == 3 && std::string(argv[1]) == "--rounds") rounds = unsigned(std::atoi(argv[2]));
  std::vector<std::string> args = {"flow_bench", "--no-huge", "-m", "2048", "--no-pci",
                                   "--no-telemetry", "-l", "0", "--log-level=warning",
                                   "--file-prefix=fbench" + std::to_string(getpid())};
  std::vector<char*> av;
  for (auto& s : args) av.push_back(s.data());
  if (rte_eal_init(int(av.size()), av.data()) < 0) {
    std::fprintf(stderr, "flow_bench: EAL: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  const double hz = double(rte_get_tsc_hz());
  std::printf("| concurrent flows | table size | inserts/s | lookups/s (bulk 32) | removes/s | cycles/insert | cycles/lookup | cycles/remove | bytes per flow |\n");
  std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (uint32_t n : {10000u, 65536u, 1000000u}) {
    double best_ins = 1e30, best_look = 1e30, best_rm = 1e30;
    flow::TableConfig cfg;
    cfg.max_flows = n;
    cfg.evict_when_full = false;
    flow::TableStats st;
    flow::Table t(cfg, 0, 0, &st);
    flow::Sweep sweep;
    std::vector<flow::Key> keys(n);
    for (uint32_t i = 0; i < n; i++) keys[i] = key_of(i);
    for (unsigned r = 0; r < rounds; r++) {
      uint64_t t0 = rte_rdtsc();
      for (uint32_t i = 0; i < n; i++) {
        t.sweep(1, cfg.sweep_per_insert, sweep);  // nothing is due at time 1
        if (!t.insert(keys[i], 1)) {
          std::fprintf(stderr, "flow_bench: insert %u of %u failed\n", i, n);
          return 1;
        }
      }
      best_ins = std::min(best_ins, double(rte_rdtsc() - t0));
      std::vector<const flow::Key*> order(n);
      for (uint32_t i = 0; i < n; i++) order[i] = &keys[i];
      std::shuffle(order.begin(), order.end(), std::mt19937(r + 1));
      int32_t pos[32];
      uint64_t found = 0;
      t0 = rte_rdtsc();
      for (uint32_t i = 0; i < n; i += 32) {
        const uint32_t b = std::min(32u, n - i);
        t.lookup_bulk(order.data() + i, b, pos);
        for (uint32_t j = 0; j < b; j++)
          found += pos[j] >= 0 && t.at(pos[j]).state == flow::State::kNew;
      }
      best_look = std::min(best_look, double(rte_rdtsc() - t0));
      if (found != n) {
        std::fprintf(stderr, "flow_bench: %lu of %u keys found\n", (unsigned long)found, n);
        return 1;
      }
      t0 = rte_rdtsc();
      for (uint32_t i = 0; i < n && t.active(); i++)
        if (t.at(int32_t(i)).flags & flow::kInUse) t.remove(t.at(int32_t(i)));
      best_rm = std::min(best_rm, double(rte_rdtsc() - t0));
      if (t.active() || t.find(keys[0])) {
        std::fprintf(stderr, "flow_bench: %u flows left after removing all\n", t.active());
        return 1;
      }
    }
    std::printf("| %u | %u | %.2f M | %.2f M | %.2f M | %.0f | %.0f | %.0f | %u |\n", n, n,
                double(n) / (best_ins / hz) / 1e6, double(n) / (best_look / hz) / 1e6,
                double(n) / (best_rm / hz) / 1e6, best_ins / n, best_look / n, best_rm / n,
                t.bytes_per_flow());
    std::fflush(stdout);
  }
  std::printf("\nState per tracked flow in the table: %zu bytes of flow::Flow (key, state, "
              "timestamps, counters) + two 4-byte index entries + 4 of free stack; the "
              "inspection's connection record (reassembly, fingerprints) is its own "
              "(inspect/conn.h).\n",
              sizeof(flow::Flow));
  // Every size above inserted all its keys and found every one again.
  std::printf("flow_bench: 3 passed, 0 failed\n");
  rte_eal_cleanup();
  return 0;
}
