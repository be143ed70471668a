/* A 64-bit event counter with one writer (its worker lcore) and any
 * number of lock-free readers (telemetry thread, stats writer).
 *
 * add() is a relaxed load plus a relaxed store: no lock prefix, so it costs
 * what a plain `+=` costs, yet readers on other threads see whole values
 * and the program has no data race. Never call add() for one counter from
 * two threads.
 */
#pragma once

#include <atomic>
#include <cstdint>

namespace core {

class Counter {
 public:
  void add(uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void set(uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace core
