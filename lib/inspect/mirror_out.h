/* inspect/mirror_out: mirror copies of the frames of flows a mirror rule
 * chose, from a pool of their own (never the relay's mbufs, so a slow
 * mirror cannot hold RX buffers), raw or tunnelled (mirror/encap.h), on a
 * TX queue per worker of the mirror port. Copies leave with the burst
 * that made them; a mirror port that does not take them loses them,
 * counted in total and per collector; the relay never waits.
 *
 * With [[collectors]], the prober (mirror/prober.h) chooses where copies
 * go and offers the target through an atomic pointer; the worker takes it
 * between bursts and copies its template (the template counts IPv4 IDs
 * and GRE sequence numbers).
 *
 * Thread: the owning worker; offer() from the control path.
 */
#pragma once

#include <atomic>
#include <cstdint>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "core/worker.h"
#include "inspect/stats.h"
#include "mirror/encap.h"
#include "mirror/target.h"

namespace inspect {

/* Where mirror rules send frames: a TX queue per worker on the mirror
 * port, copies from a pool of their own (never the relay's mbufs, so a
 * slow mirror cannot hold RX buffers), raw or tunnelled. */
struct MirrorOut {
  bool enabled = false;
  bool raw = false;
  bool chosen = false;            // collectors: the target comes from offer_collector()
  uint16_t port = 0;              // TX queue: the worker's id
  uint16_t rx_queues = 0;         // the port's (only the collectors' prober reads them)
  rte_mempool* pool = nullptr;
  uint32_t max_len = 0;           // raw: bytes of each frame kept (the MTU's frame)
  mirror::EncapTemplate tmpl{};   // tunnel: copied per worker (it counts IDs)
};

/* The collector mirror copies go to, as the prober chose it. */
using CollectorTarget = mirror::CollectorTarget;

class MirrorSend {
 public:
  MirrorSend(const MirrorOut& cfg, unsigned worker, Stats* stats, mirror::Stats* mstats)
      : cfg_(cfg), queue_(uint16_t(worker)), tmpl_(cfg.tmpl), stats_(stats), mstats_(mstats) {}

  bool enabled() const noexcept { return cfg_.enabled; }
  /* Control path: where copies go from the next burst on (nullptr:
   * nowhere yet). The target must outlive the worker's use of it. */
  void offer(const CollectorTarget* t) noexcept { offered_.store(t, std::memory_order_release); }
  /* Worker, at a burst's start: the target offered last. */
  void take_offer() noexcept {
    if (!cfg_.chosen) return;
    const CollectorTarget* t = offered_.load(std::memory_order_acquire);
    if (t != collector_) {
      collector_ = t;
      if (t) tmpl_ = t->tmpl;
    }
  }
  /* A copy of m, sent at flush(). */
  void copy(const rte_mbuf* m) noexcept;
  /* Sends the burst's copies. */
  void flush() noexcept {
    if (n_) send();
  }

 private:
  void send() noexcept;

  MirrorOut cfg_;
  uint16_t queue_;
  mirror::EncapTemplate tmpl_;  // this worker's (its IDs and sequence numbers)
  std::atomic<const CollectorTarget*> offered_{nullptr};
  const CollectorTarget* collector_ = nullptr;  // the worker's: where copies go now
  rte_mbuf* q_[core::kBurst];
  uint16_t n_ = 0;
  mirror::Tally tally_;
  Stats* stats_;
  mirror::Stats* mstats_;
};

}  // namespace inspect
