#include "core/mem.h"

#include <sys/mman.h>

#include <cerrno>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

namespace core::mem {
namespace {

constexpr size_t kHuge = 2u << 20;
constexpr size_t kHeader = 64;  // keeps zalloc's 64-byte alignment

struct Mapping {
  void* base;
  size_t len;
};

/* A private anonymous mapping, 2 MiB-aligned so transparent huge pages can
 * back all of it. The kernel zeroes pages as they are first touched. */
Mapping map(size_t bytes) {
  const size_t len = RTE_ALIGN_CEIL(bytes, kHuge);
  void* p = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return {nullptr, 0};
  char* a = static_cast<char*>(RTE_PTR_ALIGN_CEIL(p, kHuge));
  const size_t head = size_t(a - static_cast<char*>(p));
  if (head) munmap(p, head);
  if (kHuge - head) munmap(a + len, kHuge - head);
  madvise(a, len, MADV_HUGEPAGE);  // advice only: THP may be off
  return {a, len};
}

/* A mapping that says its own size in its first bytes (kHeader). */
void* map_with_header(size_t bytes) {
  Mapping m = map(bytes + kHeader);
  if (!m.base) return nullptr;
  *static_cast<Mapping*>(m.base) = m;
  return static_cast<char*>(m.base) + kHeader;
}

void unmap_with_header(void* p) {
  const Mapping m = *reinterpret_cast<Mapping*>(static_cast<char*>(p) - kHeader);
  munmap(m.base, m.len);
}

void unmap_chunk(rte_mempool_memhdr*, void* opaque) { unmap_with_header(opaque); }

/* Gives an empty pool its objects from one anonymous mapping. */
bool populate_anonymous(rte_mempool* mp) {
  // Objects back to back (the pool is RTE_MEMPOOL_F_NO_IOVA_CONTIG: else,
  // without hugepages, no object may cross a 4 KiB page and a 2.3 KiB mbuf
  // takes a page of its own), one spare for alignment.
  // rte_mempool_ops_calc_mem_size() would say this but is not exported.
  // The mapping carries its own size, so nothing on the heap has to live
  // as long as the pool (which the process may never free).
  const size_t per = size_t(mp->header_size) + mp->elt_size + mp->trailer_size;
  const size_t len = per * (size_t(mp->size) + 1);
  void* p = map_with_header(len);
  if (!p) return false;
  // IOVA as VA (anonymous() requires it): one chunk, its IOVA its address,
  // so every object header and mbuf carries the IOVA a VA-mode device
  // would use. On failure the pool may already own the mapping
  // (rte_mempool_free() then unmaps it) or not (then it stays mapped until
  // exit, which follows).
  if (rte_mempool_populate_iova(mp, static_cast<char*>(p), rte_iova_t(uintptr_t(p)), len, unmap_chunk,
                                p) < 0)
    return false;
  return mp->populated_size == mp->size;
}

}  // namespace

bool anonymous() { return !rte_eal_has_hugepages() && rte_eal_iova_mode() == RTE_IOVA_VA; }

void* zalloc(const char* name, size_t bytes, int socket) {
  if (!anonymous()) return rte_zmalloc_socket(name, bytes, 64, socket);
  return map_with_header(bytes);
}

void free(void* p) {
  if (!p) return;
  if (!anonymous()) return rte_free(p);
  unmap_with_header(p);
}

rte_mempool* pool_create(const char* name, unsigned n, unsigned elt_size, unsigned cache, int socket) {
  if (!anonymous()) return rte_mempool_create(name, n, elt_size, cache, 0, nullptr, nullptr, nullptr, nullptr, socket, 0);
  rte_mempool* mp = rte_mempool_create_empty(name, n, elt_size, cache, 0, socket, RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (!mp) return nullptr;
  if (int rc = rte_mempool_set_ops_byname(mp, "ring_mp_mc", nullptr); rc != 0) {
    rte_mempool_free(mp);
    rte_errno = -rc;
    return nullptr;
  }
  if (!populate_anonymous(mp)) {
    rte_mempool_free(mp);
    rte_errno = ENOMEM;
    return nullptr;
  }
  return mp;
}

rte_mempool* pktmbuf_pool_create(const char* name, unsigned n, unsigned cache, uint16_t data_room,
                                 int socket, bool dma) {
  if (dma || !anonymous()) return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
  // rte_pktmbuf_pool_create(), but for where the objects come from.
  rte_mempool* mp = rte_mempool_create_empty(name, n, sizeof(rte_mbuf) + data_room, cache,
                                             sizeof(rte_pktmbuf_pool_private), socket,
                                             RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (!mp) return nullptr;
  rte_pktmbuf_pool_private priv{};
  priv.mbuf_data_room_size = data_room;
  if (int rc = rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr); rc != 0) {
    rte_mempool_free(mp);
    rte_errno = -rc;
    return nullptr;
  }
  rte_pktmbuf_pool_init(mp, &priv);
  if (!populate_anonymous(mp)) {
    rte_mempool_free(mp);
    rte_errno = ENOMEM;
    return nullptr;
  }
  rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
  return mp;
}

}  // namespace core::mem
