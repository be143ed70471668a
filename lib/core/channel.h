/* core/channel: how records leave a worker for the sink thread.
 *
 * A Channel is a pool of fixed-size records and the single-producer ring
 * that carries them to the writer (a capture-buffer channel has a pool
 * only: its buffers travel inside message records). take() gets a record,
 * push() hands it on; the element goes back to its pool when the writer is
 * done with it (put(), by rte_mempool_from_obj, so the writer need not know
 * which pool).
 *
 * Full pools and rings mean the writer is behind. What happens then is the
 * Waiting policy, one per stage:
 *  - live: the record is dropped and counted; a worker never waits;
 *  - offline (lossless): the worker waits for the writer (nothing may be
 *    lost, and there is no line rate), but not past a stop plus a few
 *    seconds (a sink that died must not keep the process from ending);
 *  - during finish() the main lcore is the producer and drains itself.
 * Elements the stage holds itself (messages waiting for their answers) can
 * not come back by waiting: when it holds them all, a live channel drops,
 * and an offline one adds a pool as large as all it has (pool_grown):
 * the capture and memory bound how many, and nothing is lost.
 *
 * Thread: the owning worker (the main lcore during finish()); the writer
 * only dequeues and puts back.
 */
#pragma once

#include <cstdint>
#include <string>

#include <rte_mempool.h>
#include <rte_ring.h>

#include "core/counter.h"

namespace core {

struct Waiting {
  bool lossless = false;
  void (*drain)(void*) = nullptr;  // set during finish(): the caller is the writer too
  void* drain_ctx = nullptr;
  core::Counter* grown = nullptr;  // pools added (lossless only)
};

class Channel {
 public:
  Channel() = default;
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  /* A ring of `records` (rounded up to a power of two) and a pool of that
   * plus 1023 (what the stage may hold while the ring is full). Throws
   * with the way out on failure. */
  void open(const std::string& name, size_t size, int socket, uint32_t records, const Waiting* w,
            core::Counter* dropped);
  /* A pool of n elements, no ring. */
  void open_pool(const std::string& name, size_t size, int socket, uint32_t n, const Waiting* w,
                 core::Counter* dropped);
  /* take() leaves counting a failure to the caller (the framer counts
   * what it could not get). */
  void caller_counts() noexcept { caller_counts_ = true; }

  void* take() noexcept;              // nullptr: none free (dropped)
  bool push(void* rec) noexcept;      // false: ring full, dropped and counted
  /* An element taken and then given back (not pushed), or passed on inside
   * another record. */
  void put_back(void* obj) noexcept {
    held_--;
    put(obj);
  }
  void handed_on() noexcept { held_--; }

  static void put(void* obj) noexcept { rte_mempool_put(rte_mempool_from_obj(obj), obj); }

  rte_ring* ring() const noexcept { return ring_; }
  rte_mempool* pool() const noexcept { return pool_; }
  bool open() const noexcept { return pool_ != nullptr; }

 private:
  bool grow() noexcept;
  void* take_extra() noexcept;
  bool give_up(uint64_t& since) const noexcept;
  void drop() noexcept { if (dropped_) dropped_->add(1); }

  rte_ring* ring_ = nullptr;
  rte_mempool* pool_ = nullptr;
  const Waiting* w_ = nullptr;
  core::Counter* dropped_ = nullptr;
  // Elements the stage holds and has not passed on (messages waiting for
  // their end or their response).
  uint32_t held_ = 0;
  uint32_t capacity_ = 0;
  bool caller_counts_ = false;
  static constexpr uint32_t kMaxExtra = 64;
  rte_mempool* extra_[kMaxExtra] = {};
  uint32_t n_extra_ = 0;
  uint32_t elt_size_ = 0;
  int socket_ = 0;
};

}  // namespace core
