/* port: bringing one ethdev port up the way Loom needs it.
 *
 * setup_port() configures RX/TX queues, RSS (symmetric key, hash types the
 * PMD supports), MTU and promiscuous mode, starts the port and waits for
 * link. Whatever the PMD cannot do is logged as one "degraded" line and
 * Loom carries on without it (af_packet and pcap have no RSS, for
 * instance); what makes the port unusable throws SetupError, naming the
 * setting at fault so the caller can point at the startup file.
 *
 * Control path only; runs on the main lcore before workers launch.
 */
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "port/rss.h"

namespace port {

struct PortSpec {
  std::string name;     // the operator's name for the port
  std::string device;   // vdev spec ("net_pcap0,rx_pcap=x") or PCI address
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  uint16_t rx_descriptors = 1024;
  uint16_t tx_descriptors = 1024;
  bool rss = true;
  std::vector<uint8_t> rss_key;    // empty: symmetric key of the NIC's size
  uint64_t rss_hf = 0;             // RTE_ETH_RSS_* wanted
  bool require_symmetric = true;
  uint16_t mtu = 0;                // 0: leave the PMD's default
  bool promiscuous = true;
  uint32_t link_wait_ms = 3000;
  bool rx_timestamp = false;       // ask for RX timestamps (net_pcap: capture time)
};

/* A setting the port cannot accept. `setting` is the startup-file key. */
struct SetupError : std::runtime_error {
  SetupError(std::string setting_, const std::string& msg)
      : std::runtime_error(msg), setting(std::move(setting_)) {}
  std::string setting;
};

struct PortState {
  PortSpec spec;
  uint16_t port_id = 0;
  std::string driver;
  bool rss_active = false;
  uint64_t rss_hf = 0;
  std::vector<uint8_t> rss_key;
  std::vector<uint16_t> reta;
  SymmetryReport symmetry;
  bool rx_timestamp = false;
  uint32_t rx_timestamp_ns = 1;       // nanoseconds per timestamp unit
  bool link_up = false;
  uint32_t link_speed_mbps = 0;
  std::vector<std::string> degraded;  // what the PMD could not do, in words
};

/* The ethdev name a device string creates: the vdev name before the first
 * comma, or the PCI address itself. */
std::string device_name(const std::string& device);
bool is_vdev(const std::string& device);

/* True for the PMDs that never hand mbuf memory to a device or to another
 * process: net_pcap, net_af_packet, net_tap, net_ring, net_null, and
 * net_memif unless zero-copy=yes (then the peer reads mbufs in the shared
 * region). Only their mbuf pools may live outside EAL memory (core/mem.h);
 * a PCI NIC, virtio_user's vhost backend or a zero-copy memif peer can
 * only reach memory EAL registered. */
bool mbufs_stay_in_process(const std::string& device);

/* Resolves the port a device string created during rte_eal_init. */
uint16_t find_port(const PortSpec& spec);

/* Configures, starts and checks one port. Throws SetupError. */
PortState setup_port(const PortSpec& spec, rte_mempool* pool);

/* Mbufs the ports, their descriptors and the workers' bursts can hold at
 * once, with room for per-lcore caches; rounded to 2^k - 1 (the mempool's
 * best size). */
uint32_t auto_pool_size(const std::vector<PortSpec>& ports, unsigned n_workers,
                        unsigned cache_size, uint64_t held_by_reference = 0);

/* Stops and closes every port that setup_port started. */
void close_port(uint16_t port_id) noexcept;

}  // namespace port
