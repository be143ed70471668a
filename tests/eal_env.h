// One EAL for the whole unit-test binary: no hugepages, no PCI, no
// telemetry (loom_telemetry_tests, built with LOOMTEST_TELEMETRY: with
// it), a private file prefix. Tests that need mbufs call
// test_pool(), which is created once.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <cstdio>
#include <cstdlib>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

namespace loomtest {

inline rte_mempool* test_pool() {
  static rte_mempool* pool = [] {
#ifdef LOOMTEST_TELEMETRY
    // loom_telemetry_tests: the telemetry socket on, a prefix of its own.
    std::string prefix = "--file-prefix=loomtelemetry" + std::to_string(getpid());
    std::vector<std::string> args = {"loom_telemetry_tests", "--no-huge", "-m", "512", "--no-pci",
                                     "--no-shconf", "-l", "0", prefix};
#else
    std::string prefix = "--file-prefix=loomtest" + std::to_string(getpid());
    std::vector<std::string> args = {"loom_unit_tests", "--no-huge", "-m", "1024", "--no-pci",
                                     "--no-shconf", "--no-telemetry", "-l", "0",
                                     prefix};
#endif
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(int(argv.size()), argv.data()) < 0) return static_cast<rte_mempool*>(nullptr);
    // EAL leaves a runtime directory per prefix; remove it at exit.
    static const std::string dir = rte_eal_get_runtime_dir();
    std::atexit([] {
      ::unlink((dir + "/dpdk_telemetry.v2").c_str());  // telemetry's own unlink runs later
      ::rmdir(dir.c_str());
    });
    rte_mempool* p = rte_pktmbuf_pool_create("loomtest_mbufs", 65535, 256, 0, 2048 + 128, 0);
    if (!p) fprintf(stderr, "test mbuf pool: %s\n", rte_strerror(rte_errno));
    return p;
  }();
  return pool;
}

/* An mbuf holding `len` bytes of `data` (payload only, offset 0). */
inline rte_mbuf* mbuf_of(const uint8_t* data, uint16_t len) {
  rte_mbuf* m = rte_pktmbuf_alloc(test_pool());
  if (!m) return nullptr;
  char* p = rte_pktmbuf_append(m, len);
  if (!p) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  memcpy(p, data, len);
  return m;
}

/* A started net_ring port with one queue pair (`descriptors` each): what
 * is sent on it comes back on its RX queue. UINT16_MAX when it cannot be
 * made. */
inline uint16_t ring_port(const std::string& name, uint16_t descriptors = 512) {
  if (rte_eal_hotplug_add("vdev", name.c_str(), "") != 0) return UINT16_MAX;
  uint16_t id;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) return UINT16_MAX;
  rte_eth_conf conf{};
  if (rte_eth_dev_configure(id, 1, 1, &conf) != 0 ||
      rte_eth_rx_queue_setup(id, 0, descriptors, 0, nullptr, test_pool()) != 0 ||
      rte_eth_tx_queue_setup(id, 0, descriptors, 0, nullptr) != 0 || rte_eth_dev_start(id) != 0)
    return UINT16_MAX;
  return id;
}

/* A number no other object of this test process had: DPDK's rings and
 * pools need names unique in the process, across test files. */
inline unsigned next_name() {
  static unsigned n;
  return n++;
}

}  // namespace loomtest
