#include "port/pmd_limits.h"

#include <cstdlib>
#include <vector>

#include "port/port.h"

namespace port {

namespace {

std::vector<std::pair<std::string, std::string>> kvargs(const std::string& dev) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t p = dev.find(',');
  while (p != std::string::npos) {
    size_t e = dev.find(',', p + 1);
    std::string kv = dev.substr(p + 1, e == std::string::npos ? e : e - p - 1);
    size_t eq = kv.find('=');
    out.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    p = e;
  }
  return out;
}

bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

}  // namespace

std::optional<QueueLimit> vdev_queue_limit(const std::string& device) {
  const std::string name = device_name(device);
  const auto args = kvargs(device);
  if (starts_with(name, "net_af_packet") || starts_with(name, "eth_af_packet")) {
    // rte_eth_af_packet.c: one socket per queue pair, `qpairs` of them
    // (default 1), and max_rx_queues == max_tx_queues == qpairs.
    uint16_t q = 1;
    for (auto& [k, v] : args)
      if (k == "qpairs") q = uint16_t(std::atoi(v.c_str()));
    return QueueLimit{q, q, "net_af_packet has qpairs=" + std::to_string(q) +
                                " (add qpairs=N to the device string for more)"};
  }
  if (starts_with(name, "net_pcap") || starts_with(name, "eth_pcap")) {
    // rte_eth_pcap.c: one RX queue per rx_pcap/rx_iface/iface argument and
    // one TX queue per tx_pcap/tx_iface/iface argument.
    uint16_t rx = 0, tx = 0;
    for (auto& [k, v] : args) {
      if (k == "rx_pcap" || k == "rx_iface" || k == "rx_iface_in" || k == "iface") rx++;
      if (k == "tx_pcap" || k == "tx_iface" || k == "iface") tx++;
    }
    // With no tx_* argument the PMD drops TX into a dummy queue per RX queue.
    if (tx == 0) tx = rx;
    return QueueLimit{rx, tx, "net_pcap has one RX queue per rx_pcap/rx_iface argument (" +
                                  std::to_string(rx) + " given)"};
  }
  if (starts_with(name, "net_tap")) {
    // rte_eth_tap.c: RTE_PMD_TAP_MAX_QUEUES.
    return QueueLimit{16, 16, "net_tap supports at most 16 queues"};
  }
  return std::nullopt;
}

}  // namespace port
