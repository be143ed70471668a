#include "core/channel.h"

#include <stdexcept>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_pause.h>

#include "core/mem.h"
#include "core/worker.h"

namespace core {

namespace {

uint32_t pow2_at_least(uint32_t n) {
  uint32_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

Channel::~Channel() {
  rte_ring_free(ring_);
  rte_mempool_free(pool_);
  for (uint32_t i = 0; i < n_extra_; i++) rte_mempool_free(extra_[i]);
}

void Channel::open(const std::string& name, size_t size, int socket, uint32_t records,
                   const Waiting* w, core::Counter* dropped) {
  const uint32_t n = pow2_at_least(records);
  ring_ = rte_ring_create(name.c_str(), n, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (!ring_)
    throw std::runtime_error("cannot allocate the " + name + " ring: " + rte_strerror(rte_errno) +
                             "; raise eal.memory_mb");
  open_pool(name + "_pool", size, socket, n + 1023, w, dropped);
}

void Channel::open_pool(const std::string& name, size_t size, int socket, uint32_t n,
                        const Waiting* w, core::Counter* dropped) {
  pool_ = core::mem::pool_create(name.c_str(), n, unsigned(size), 0, socket);
  if (!pool_)
    throw std::runtime_error("cannot allocate " + std::to_string(n) + " records of " +
                             std::to_string(size) + " bytes for " + name + ": " +
                             rte_strerror(rte_errno) + "; raise eal.memory_mb");
  capacity_ = n;
  elt_size_ = uint32_t(size);
  socket_ = socket;
  w_ = w;
  dropped_ = dropped;
}

bool Channel::give_up(uint64_t& since) const noexcept {
  if (!core::stop_requested()) return false;
  const uint64_t now = rte_get_tsc_cycles();
  if (!since) since = now;
  return now - since > 5 * rte_get_tsc_hz();
}

void* Channel::take() noexcept {
  void* r = nullptr;
  uint64_t since = 0;
  while (rte_mempool_get(pool_, &r) != 0) {
    if ((r = take_extra())) break;
    if (held_ >= capacity_) {
      // All of them are ours: waiting would never end.
      if (w_->lossless && grow() && (r = take_extra())) break;
      if (!caller_counts_) drop();
      return nullptr;
    }
    if (w_->drain) {
      w_->drain(w_->drain_ctx);
    } else if (!w_->lossless || give_up(since)) {
      if (!caller_counts_) drop();
      return nullptr;
    } else {
      rte_pause();
    }
  }
  held_++;
  return r;
}

void* Channel::take_extra() noexcept {
  void* r = nullptr;
  for (uint32_t i = n_extra_; i-- > 0;)
    if (rte_mempool_get(extra_[i], &r) == 0) return r;
  return nullptr;
}

bool Channel::grow() noexcept {
  if (n_extra_ == kMaxExtra) return false;
  const std::string name = std::string(pool_->name) + "_x" + std::to_string(n_extra_);
  // Each addition doubles the channel, so a few cover any capture; memory
  // is the only bound.
  const uint32_t n = capacity_;
  rte_mempool* mp = core::mem::pool_create(name.c_str(), n, elt_size_, 0, socket_);
  if (!mp) return false;  // out of memory: the element is dropped and counted
  extra_[n_extra_++] = mp;
  capacity_ += n;
  if (w_->grown) w_->grown->add(1);
  return true;
}

bool Channel::push(void* rec) noexcept {
  uint64_t since = 0;
  held_--;
  while (rte_ring_sp_enqueue(ring_, rec) != 0) {
    if (w_->drain) {
      w_->drain(w_->drain_ctx);
    } else if (!w_->lossless || give_up(since)) {
      put(rec);
      drop();
      return false;
    } else {
      rte_pause();
    }
  }
  return true;
}

}  // namespace core
