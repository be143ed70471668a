/* ctl/eal_args: the EAL command line a Config implies, and the checks
 * that turn EAL's own failures into one clear sentence.
 *
 * Control path only, before rte_eal_init.
 */
#pragma once

#include <string>
#include <vector>

#include "ctl/config.h"

namespace ctl {

/* Memory Loom asks EAL for in no-huge mode: the mbuf pool twice over
 * (EAL's heap fragments) plus room for EAL itself and the rings. */
unsigned auto_memory_mb(uint32_t mbufs, uint16_t data_room);

/* EAL memory the inspection stages take besides the mbuf pool: flow
 * records, the hash, stream fingerprints and record rings, per worker. */
unsigned inspect_memory_mb(const Config& c);

/* argv for rte_eal_init, argv[0] included. `mbufs` and `extra_mb` size -m
 * in no-huge mode when eal.memory_mb is 0. */
std::vector<std::string> eal_args(const Config& c, uint32_t mbufs, unsigned extra_mb = 0);

/* Empty when the memory mode can work on this host, else the sentence to
 * print: hugepages mode with no hugetlbfs mounted or no free pages. */
std::string memory_precheck(const Config& c);

/* What the machine can give: MemAvailable plus free hugepages, in bytes
 * (0 when /proc/meminfo cannot be read: no check). */
uint64_t machine_memory_bytes();

}  // namespace ctl
