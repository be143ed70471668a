// One EAL per fuzzing process, for the targets that need mbufs: no
// hugepages, no PCI, no telemetry, a private prefix (fuzzers run several
// processes with -jobs).
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

namespace loomfuzz {

inline rte_mempool* pool(unsigned n) {
  static rte_mempool* p = [n] {
    std::string prefix = "--file-prefix=loomfuzz" + std::to_string(getpid());
    std::vector<std::string> args = {"fuzz", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                     "--no-telemetry", "-l", "0", "--log-level=1", prefix};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    if (rte_eal_init(int(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "fuzz: EAL: %s\n", rte_strerror(rte_errno));
      std::abort();
    }
    rte_mempool* mp = rte_pktmbuf_pool_create("loomfuzz_mbufs", n, 0, 0, 2048 + 128, 0);
    if (!mp) std::abort();
    return mp;
  }();
  return p;
}

}  // namespace loomfuzz
