#include "inspect/conn.h"

#include <stdexcept>
#include <string>

#include "core/mem.h"

namespace inspect {

static_assert(sizeof(Conn) == 160, "per-connection state: docs/performance.md, State per flow");
static_assert(alignof(StreamSide) <= 8 && sizeof(Conn) % 8 == 0, "the sides follow the record aligned");

Conns::Conns(uint32_t slots, bool sides, unsigned worker, int socket) : stride_(stride(sides)) {
  // All-zero is an empty record (reasm::kNil is 0); reset() is for reuse.
  base_ = static_cast<uint8_t*>(core::mem::zalloc("loom_conns", stride_ * size_t(slots), socket));
  if (!base_)
    throw std::runtime_error("cannot allocate " + std::to_string((stride_ * size_t(slots)) >> 20) +
                             " MB for the connection records of worker " + std::to_string(worker) +
                             "; raise eal.memory_mb or lower flow.max_flows_per_worker");
}

Conns::~Conns() { core::mem::free(base_); }

}  // namespace inspect
