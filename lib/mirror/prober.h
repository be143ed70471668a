/* mirror/prober: finding and choosing the mirror collector, from Loom's
 * own mirror port (no kernel).
 *
 * A thread of its own (not an lcore, not the main lcore's 5 ms loop: RTTs
 * must be read to a fraction of a millisecond) owns the mirror port's RX
 * queues (the workers only send there) and its last TX queue (one past
 * the workers'). Every 200 µs it polls once:
 *   - reads what came back: ARP replies give collectors' MACs, echo
 *     replies (ICMP, or UDP from the collector's echo port) their RTT,
 *     measured with the TSC the probe carried; ARP requests for Loom's
 *     own mirror address (the tunnel's source) are answered, or a
 *     collector's kernel would stop sending replies once it forgets
 *     Loom's MAC (a request from a collector gives its MAC too);
 *   - times out probes unanswered after `timeout_ns`; a reply that comes
 *     later, or answers no probe in flight, is ignored;
 *   - asks by ARP for MACs it lacks (once a second) or that are a minute
 *     old;
 *   - sends the probes Chooser (collectors.h) plans, full and incremental
 *     rounds; one towards a collector without a MAC cannot leave, and
 *     times out like a lost one;
 *   - lets the Chooser decide, and when the choice or its MAC changes,
 *     builds the outer headers towards it and offers them (Offer: the
 *     wiring, lib/ctl, hands them to every worker, which switches between
 *     bursts).
 * Offered targets live until the prober is destroyed, after the workers
 * stopped: a worker never holds a freed one. A collector without a MAC
 * yet cannot be offered; copies made meanwhile are counted by the
 * workers (mirror_no_collector), never silently lost.
 *
 * The loop's one round is poll(tsc), public so that tests drive it
 * without the thread, on a real port, at the TSC values they choose.
 *
 * Thread: start()/stop() and construction from the control path; poll()
 * on the prober's thread only (or a test's, with no thread started);
 * view() from any thread (a mutex: the telemetry, stats.json and metrics
 * readers, a few times a second).
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "mirror/collectors.h"
#include "mirror/encap.h"
#include "mirror/target.h"

namespace mirror {

/* The collectors and how they are probed and chosen. The defaults are
 * the startup file's ([probe], lib/ctl/config.h reads them from here). */
struct ProberConfig {
  std::vector<Collector> collectors;    // at most kMaxCollectors
  ChooserConfig choice;                 // windows, margins, rounds; fallback_key: this Loom's name
  bool udp = false;                     // UDP echo to udp_port (RFC 862); else ICMP echo
  uint16_t udp_port = 7;
  uint64_t timeout_ns = 1'000'000'000;  // a probe unanswered this long is lost
};

/* Where collectors are reached: the port, the one TX queue the prober
 * owns, the RX queues it reads (all of the port's), the pool of the
 * frames it sends, and the tunnel (kind, source MAC and IP, MTU, VNI...;
 * its source address is also the probes' and the one ARP is answered
 * for; the destination is each collector's). */
struct ProberPort {
  uint16_t port = 0;
  uint16_t txq = 0;
  uint16_t rx_queues = 1;
  rte_mempool* pool = nullptr;
  EncapConfig base;
};

class Prober {
 public:
  /* Called on the prober's thread with each target chosen, outside the
   * prober's lock (it may call view()); the target outlives the prober's
   * use of it (until destruction). */
  using Offer = std::function<void(const CollectorTarget*)>;

  /* Throws std::invalid_argument on bad settings (more than
   * kMaxCollectors, a zero timeout, no pool, what Chooser refuses). */
  Prober(ProberConfig cfg, ProberPort port, Offer offer);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void start();
  void stop();

  /* One round of the loop at TSC value `tsc` (see above). */
  void poll(uint64_t tsc);

  struct CollectorView {
    std::string name;
    uint32_t ip;
    bool mac_known;
    std::optional<uint64_t> last_rtt_ns, best_rtt_ns;
    ProbeStats probes;
  };
  struct View {
    std::string current;
    uint64_t switches = 0;
    std::string last_reason;
    std::vector<CollectorView> collectors;
  };
  View view() const;

 private:
  struct Peer {
    rte_ether_addr mac{};
    bool mac_known = false;
    uint64_t mac_at = 0, arp_sent_at = 0;  // TSC
    std::optional<uint64_t> last_rtt_ns;
  };
  struct InFlight {
    size_t collector;
    uint16_t seq;
    uint64_t deadline;  // TSC
  };
  void run();
  void receive(uint16_t queue, uint64_t tsc, uint64_t now);
  void send(rte_mbuf* m);
  void ask_macs(uint64_t tsc);
  void send_probes(uint64_t tsc, uint64_t now);
  /* poll()'s work under the lock; the new target to offer, if any. */
  const CollectorTarget* step(uint64_t tsc);
  const CollectorTarget* publish();
  uint64_t now_ns(uint64_t tsc) const;

  ProberConfig cfg_;
  ProberPort port_;
  Offer offer_;
  rte_ether_addr our_mac_{};
  uint16_t id_;
  uint16_t seq_ = 0;
  uint64_t hz_, t0_, timeout_tsc_;
  mutable std::mutex mu_;  // chooser_ and peers_ (view() reads them)
  std::unique_ptr<Chooser> chooser_;
  std::vector<Peer> peers_;
  std::vector<InFlight> inflight_;
  std::deque<CollectorTarget> targets_;  // every one offered, kept until the end
  const CollectorTarget* offered_ = nullptr;
  SwitchReason last_reason_{};  // why offered_ was chosen (for the log, outside the lock)
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

}  // namespace mirror
