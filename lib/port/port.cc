#include "port/port.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "core/log.h"
#include "core/worker.h"

namespace port {

namespace {

std::string err(int rc) { return rte_strerror(rc < 0 ? -rc : rc); }

/* Reads back the RETA the PMD actually programmed; a PMD that cannot say
 * (many virtual ones) gets the default round-robin table, which is what
 * ethdev asks every PMD to start with. */
std::vector<uint16_t> read_reta(uint16_t pid, uint16_t reta_size, uint16_t nq) {
  if (reta_size == 0) return default_reta(128, nq);
  std::vector<rte_eth_rss_reta_entry64> conf(
      (reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
  for (auto& c : conf) c.mask = ~0ull;
  if (rte_eth_dev_rss_reta_query(pid, conf.data(), reta_size) != 0)
    return default_reta(reta_size, nq);
  std::vector<uint16_t> reta(reta_size);
  for (uint16_t i = 0; i < reta_size; i++)
    reta[i] = conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE];
  return reta;
}

}  // namespace

std::string device_name(const std::string& device) {
  return device.substr(0, device.find(','));
}

bool mbufs_stay_in_process(const std::string& device) {
  static const char* const kInProcess[] = {"net_pcap", "eth_pcap", "net_af_packet", "eth_af_packet",
                                           "net_tap",  "net_ring", "eth_ring",      "net_null",
                                           "eth_null", "net_memif"};
  const std::string d = device_name(device);
  for (const char* p : kInProcess)
    if (d.rfind(p, 0) == 0)
      return std::string(p) != "net_memif" || device.find("zero-copy=yes") == std::string::npos;
  return false;
}

bool is_vdev(const std::string& device) {
  // A PCI address is "DDDD:BB:DD.F" or "BB:DD.F" (hex); anything else is
  // handed to EAL as a --vdev.
  const std::string d = device_name(device);
  auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  auto bdf = [&](size_t o) {
    return d.size() == o + 7 && hex(d[o]) && hex(d[o + 1]) && d[o + 2] == ':' &&
           hex(d[o + 3]) && hex(d[o + 4]) && d[o + 5] == '.' && d[o + 6] >= '0' &&
           d[o + 6] <= '7';
  };
  const bool pci = bdf(0) || (d.size() == 12 && hex(d[0]) && hex(d[1]) && hex(d[2]) &&
                              hex(d[3]) && d[4] == ':' && bdf(5));
  return !pci;
}

uint16_t find_port(const PortSpec& spec) {
  uint16_t pid;
  const std::string name = device_name(spec.device);
  if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) != 0)
    throw SetupError("device", "no ethdev named '" + name +
                                   "' after EAL start-up (is the device string right, "
                                   "and for a PCI NIC is it bound to vfio-pci?)");
  return pid;
}

uint32_t auto_pool_size(const std::vector<PortSpec>& ports, unsigned n_workers,
                        unsigned cache_size, uint64_t held_by_reference) {
  uint64_t n = 0;
  for (const PortSpec& p : ports)
    n += uint64_t(p.rx_queues) * p.rx_descriptors + uint64_t(p.tx_queues) * p.tx_descriptors;
  // Each worker: one RX burst in hand, a TX buffer of two bursts per port,
  // and a per-lcore cache that can hold up to 1.5x its nominal size.
  n += uint64_t(n_workers) * (3u * core::kBurst * (ports.size() + 1) + cache_size * 3 / 2);
  // What reassembly may hold by reference (every worker's memcap), plus
  // headroom. Not rounded up to 2^k - 1: that saves ring slots, a few
  // bytes each, and costs up to twice the mbufs, every one of which is
  // touched when the pool is populated.
  n += held_by_reference + 4096;
  return uint32_t(std::min<uint64_t>(n, UINT32_MAX));
}

PortState setup_port(const PortSpec& spec, rte_mempool* pool) {
  PortState st;
  st.spec = spec;
  st.port_id = find_port(spec);
  const uint16_t pid = st.port_id;

  rte_eth_dev_info info;
  if (int rc = rte_eth_dev_info_get(pid, &info); rc != 0)
    throw SetupError("device", "cannot read device info: " + err(rc));
  st.driver = info.driver_name ? info.driver_name : "?";

  if (spec.rx_queues > info.max_rx_queues)
    throw SetupError("rx_queues", std::to_string(spec.rx_queues) + " RX queues asked, but " +
                                      st.driver + " allows at most " +
                                      std::to_string(info.max_rx_queues));
  if (spec.tx_queues > info.max_tx_queues)
    throw SetupError("tx_queues", std::to_string(spec.tx_queues) +
                                      " TX queues needed (one per worker that transmits "
                                      "here), but " + st.driver + " allows at most " +
                                      std::to_string(info.max_tx_queues));

  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof conf);
  if (spec.rss && spec.rx_queues > 1) {
    if (info.flow_type_rss_offloads == 0) {
      st.degraded.push_back("no RSS in " + st.driver +
                            ": the driver chooses each packet's queue (af_packet: its fanout "
                            "hash), so Loom cannot check which worker owns a flow");
    } else {
      st.rss_key = spec.rss_key.empty()
                       ? symmetric_key(info.hash_key_size ? info.hash_key_size : 40)
                       : spec.rss_key;
      if (info.hash_key_size && st.rss_key.size() != info.hash_key_size)
        throw SetupError("rss.key", "RSS key is " + std::to_string(st.rss_key.size()) +
                                        " bytes but " + st.driver + " takes " +
                                        std::to_string(info.hash_key_size));
      st.rss_hf = spec.rss_hf & info.flow_type_rss_offloads;
      if (st.rss_hf != spec.rss_hf)
        st.degraded.push_back("RSS hash types reduced to what " + st.driver +
                              " supports (0x" + [&] {
                                char b[32];
                                snprintf(b, sizeof b, "%llx", (unsigned long long)st.rss_hf);
                                return std::string(b);
                              }() + ")");
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_key = st.rss_key.data();
      conf.rx_adv_conf.rss_conf.rss_key_len = uint8_t(st.rss_key.size());
      conf.rx_adv_conf.rss_conf.rss_hf = st.rss_hf;
      st.rss_active = st.rss_hf != 0;
    }
  }

  if (spec.rx_timestamp) {
    if (st.driver == "net_pcap") {
      // DPDK 22.11's net_pcap stamps every mbuf with the record's capture
      // time in microseconds (tv_sec * 10^6 + tv_usec) without advertising
      // the offload; measured on the corpus captures.
      st.rx_timestamp = true;
      st.rx_timestamp_ns = 1000;
    } else if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TIMESTAMP) {
      conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TIMESTAMP;
      st.rx_timestamp = true;
    } else {
      st.degraded.push_back("no RX timestamps in " + st.driver + ": packets are stamped per burst");
    }
  }

  if (int rc = rte_eth_dev_configure(pid, spec.rx_queues, spec.tx_queues, &conf); rc != 0)
    throw SetupError("device", "rte_eth_dev_configure failed: " + err(rc));

  uint16_t nrx = spec.rx_descriptors, ntx = spec.tx_descriptors;
  if (rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx) == 0 &&
      (nrx != spec.rx_descriptors || ntx != spec.tx_descriptors))
    st.degraded.push_back("descriptors adjusted to the PMD's limits: rx " +
                          std::to_string(nrx) + ", tx " + std::to_string(ntx));

  if (spec.mtu) {
    if (int rc = rte_eth_dev_set_mtu(pid, spec.mtu); rc != 0)
      st.degraded.push_back("MTU " + std::to_string(spec.mtu) + " not accepted (" + err(rc) +
                            "); the PMD's default stays");
  }

  const int socket = rte_eth_dev_socket_id(pid) < 0 ? 0 : rte_eth_dev_socket_id(pid);
  for (uint16_t q = 0; q < spec.rx_queues; q++)
    if (int rc = rte_eth_rx_queue_setup(pid, q, nrx, socket, nullptr, pool); rc != 0)
      throw SetupError("rx_descriptors", "RX queue " + std::to_string(q) +
                                             " setup failed: " + err(rc));
  for (uint16_t q = 0; q < spec.tx_queues; q++)
    if (int rc = rte_eth_tx_queue_setup(pid, q, ntx, socket, nullptr); rc != 0)
      throw SetupError("tx_descriptors", "TX queue " + std::to_string(q) +
                                             " setup failed: " + err(rc));

  if (int rc = rte_eth_dev_start(pid); rc != 0)
    throw SetupError("device", "port failed to start: " + err(rc));

  if (spec.promiscuous) {
    if (int rc = rte_eth_promiscuous_enable(pid); rc != 0)
      st.degraded.push_back("promiscuous mode not available (" + err(rc) + ")");
  }

  if (st.rss_active) {
    // Program the round-robin RETA ourselves rather than trust the PMD's
    // default, then read back what the NIC really holds.
    if (info.reta_size) {
      std::vector<rte_eth_rss_reta_entry64> conf(
          (info.reta_size + RTE_ETH_RETA_GROUP_SIZE - 1) / RTE_ETH_RETA_GROUP_SIZE);
      for (uint16_t i = 0; i < info.reta_size; i++) {
        conf[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ull << (i % RTE_ETH_RETA_GROUP_SIZE);
        conf[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = i % spec.rx_queues;
      }
      if (rte_eth_dev_rss_reta_update(pid, conf.data(), info.reta_size) != 0)
        st.degraded.push_back("RETA update refused; checking the PMD's own table");
    }
    st.reta = read_reta(pid, info.reta_size, spec.rx_queues);
    std::vector<bool> used(spec.rx_queues, false);
    for (uint16_t q : st.reta)
      if (q < used.size()) used[q] = true;
    const auto n_used = std::count(used.begin(), used.end(), true);
    if (n_used < spec.rx_queues)
      st.degraded.push_back("the RETA sends traffic to " + std::to_string(n_used) + " of " +
                            std::to_string(spec.rx_queues) + " RX queues");
    st.symmetry = check_symmetry(st.rss_key, st.reta, 4096);
    if (!st.symmetry.symmetric && spec.require_symmetric) {
      rte_eth_dev_stop(pid);
      throw SetupError("rss.key", "RSS is " + st.symmetry.summary() +
                                      "; use key = \"symmetric\" or set "
                                      "rss.require_symmetric = false");
    }
  }

  // Link-up wait: poll without blocking, like testpmd's check_all_ports_link_status.
  const uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() * spec.link_wait_ms / 1000;
  rte_eth_link link;
  do {
    std::memset(&link, 0, sizeof link);
    if (rte_eth_link_get_nowait(pid, &link) == 0 && link.link_status) break;
    rte_delay_ms(50);
  } while (rte_get_timer_cycles() < deadline && !core::stop_requested());
  st.link_up = link.link_status;
  st.link_speed_mbps = link.link_speed;
  if (!st.link_up)
    st.degraded.push_back("link still down after " + std::to_string(spec.link_wait_ms) +
                          " ms; polling anyway");
  return st;
}

void close_port(uint16_t pid) noexcept {
  rte_eth_dev_stop(pid);
  rte_eth_dev_close(pid);
}

}  // namespace port
