/* port/link: link state of every port while Loom runs — each change
 * logged, counted and timed.
 *
 * The PMD's view (rte_eth_link_get_nowait, no wait) is combined with the
 * kernel's when the port sits on a kernel interface (dev_info.if_index set:
 * af_packet, af_xdp, tap): DPDK 22.11's af_packet reports the link up from
 * dev_start on and never looks again (its link_update is a stub; later
 * releases read IFF_RUNNING, which is what this does), so a veth whose peer
 * went down would otherwise look up for ever. A down link is not a reason
 * to stop polling: frames that arrive are still relayed, and what the peer
 * refuses is counted by the TX path (tx_full, the port's oerrors).
 *
 * Thread: add() and poll() on the main lcore (control loop, every
 * ~100 ms); view() from any thread (telemetry, stats.json), lock-free.
 * Allocates in add() only.
 */
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace port {

/* The link as the PMD and, where there is one, the kernel interface see
 * it. Control path (an ioctl for kernel-backed ports). */
bool link_up_now(uint16_t port_id);

class LinkWatch {
 public:
  /* Starts watching a port whose link was `up` at set-up. */
  void add(uint16_t port_id, std::string name, bool up);

  /* Reads every port's link; logs and counts each change. Returns how
   * many ports changed state. */
  unsigned poll();

  struct View {
    bool up = true;
    uint64_t downs = 0;    // up -> down transitions since start
    uint64_t ups = 0;      // down -> up transitions since start
    uint64_t down_ms = 0;  // time spent down, the current outage included
  };
  /* By port id; a port not watched reads as up and never changed. */
  View view(uint16_t port_id) const;

 private:
  struct Port {
    uint16_t id = 0;
    std::string name;
    std::atomic<bool> up{true};
    std::atomic<uint64_t> downs{0}, ups{0}, down_ns{0}, since_ns{0};  // since_ns: when it went down
  };
  std::vector<std::unique_ptr<Port>> ports_;
};

}  // namespace port
