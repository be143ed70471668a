/* core/mem: where Loom's large, long-lived allocations come from — flow
 * and parser tables, record and capture pools, the mbuf pools.
 *
 * With hugepages they stay in EAL memory: hugepage-backed, on the worker's
 * NUMA socket, known to every PMD. Without (--no-huge: offline runs, labs),
 * EAL memory is one memfd mapping, and that is slow to live in: every
 * 4 KiB page is faulted and zeroed through the page cache at first touch,
 * populating a mempool touches every object, and rte_free() zeroes a block
 * again, faulting in pages nobody used. For Loom's default tables that was
 * 0.3-0.6 s of each offline run's start-up and exit (docs/performance.md).
 * There, anonymous private mappings are used instead, with transparent huge
 * pages asked for: 2 MiB per fault, only where touched, one munmap() to
 * free. Only for memory no device or other process reads: mbuf pools say
 * whether one may (port::mbufs_stay_in_process).
 *
 * Control path only (start-up and exit); nothing here is called per packet.
 */
#pragma once

#include <cstddef>
#include <cstdint>

struct rte_mempool;

namespace core::mem {

/* True when large allocations bypass EAL memory (no hugepages, IOVA as VA).
 * Fixed once the EAL is up. */
bool anonymous();

/* Zeroed memory, 64-byte aligned; nullptr when none is left. Free with
 * mem::free(). */
void* zalloc(const char* name, size_t bytes, int socket);
void free(void* p);

/* rte_mempool_create() without constructors, multi-producer/consumer. */
rte_mempool* pool_create(const char* name, unsigned n, unsigned elt_size, unsigned cache,
                         int socket);

/* rte_pktmbuf_pool_create(), for ports no device DMAs into when `dma` is
 * false. */
rte_mempool* pktmbuf_pool_create(const char* name, unsigned n, unsigned cache,
                                 uint16_t data_room, int socket, bool dma);

}  // namespace core::mem
