/* ctl/collectors: finding and choosing the mirror collector, from Loom's
 * own mirror port (no kernel).
 *
 * A thread of its own (not an lcore, not the main lcore's 5 ms loop: RTTs
 * must be read to a fraction of a millisecond) owns the mirror port's RX
 * queues (the workers only send there) and its last TX queue (one past
 * the workers'). Every 200 µs it
 *   - reads what came back: ARP replies give collectors' MACs, echo
 *     replies (ICMP, or UDP from the collector's echo port) their RTT,
 *     measured with the TSC the probe carried; ARP requests for Loom's
 *     own mirror address (src_ip) are answered, or a collector's kernel
 *     would stop sending replies once it forgets Loom's MAC;
 *   - times out probes unanswered after probe.timeout_ms;
 *   - asks by ARP for MACs it lacks (once a second) or that are a minute
 *     old;
 *   - sends the probes mirror::Chooser plans (full and incremental rounds);
 *   - lets the Chooser decide, and when the choice or its MAC changes,
 *     builds the outer headers towards it and offers them to every worker
 *     (inspect::Stage::offer_collector), which switches between bursts.
 * Offered targets live until the prober is destroyed, after the workers
 * stopped: a worker never holds a freed one. A collector without a MAC
 * yet cannot be offered; copies made meanwhile are counted
 * (mirror_no_collector), never silently lost.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <rte_ether.h>
#include <rte_mempool.h>

#include "ctl/config.h"
#include "inspect/stage.h"
#include "mirror/collectors.h"
#include "mirror/encap.h"

namespace ctl {

class Prober {
 public:
  /* `base`: the tunnel settings (kind, source MAC/IP, MTU, VNI...);
   * dst_ip and dst_mac are each collector's. Throws on bad settings. */
  Prober(const MirrorConfig& m, const std::string& fallback_key, uint16_t port, uint16_t txq,
         uint16_t rx_queues, rte_mempool* pool, std::vector<inspect::Stage*> stages,
         const mirror::EncapConfig& base);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void start();
  void stop();

  struct CollectorView {
    std::string name;
    uint32_t ip;
    bool mac_known;
    std::optional<uint64_t> last_rtt_ns, best_rtt_ns;
    mirror::ProbeStats probes;
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
  void poll(uint64_t tsc);
  void receive(uint16_t queue, uint64_t tsc, uint64_t now);
  void send(rte_mbuf* m);
  void publish();
  uint64_t now_ns(uint64_t tsc) const;

  MirrorConfig cfg_;
  uint16_t port_, txq_, rx_queues_;
  rte_mempool* pool_;
  std::vector<inspect::Stage*> stages_;
  mirror::EncapConfig base_;
  rte_ether_addr our_mac_{};
  uint16_t id_;
  uint16_t seq_ = 0;
  uint64_t hz_, t0_;
  mutable std::mutex mu_;  // chooser_ and peers_ (telemetry reads them)
  std::unique_ptr<mirror::Chooser> chooser_;
  std::vector<Peer> peers_;
  std::vector<InFlight> inflight_;
  std::deque<inspect::CollectorTarget> targets_;  // every one offered, kept until the end
  const inspect::CollectorTarget* offered_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

struct Runtime;

/* [mirror]: its own port (a TX queue per worker, one more for the prober,
 * as many RX queues: af_packet fans frames out over its queue pairs and
 * the prober reads them all), its mbuf pool, and the tunnel's outer
 * headers (rt.mirror_base; a collector's address replaces the
 * destination per choice). Fills `out` for the stages. Empty, or what is
 * wrong (the caller logs it and stops). */
std::string setup_mirror(Runtime& rt, rte_mempool* rx_pool, inspect::MirrorOut& out);

}  // namespace ctl
