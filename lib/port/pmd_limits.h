/* port/pmd_limits: queue limits of the virtual PMDs, known before EAL
 * starts, so `loom --check-config` can reject "more queues than the PMD
 * allows" without creating the device. Real NICs report theirs only once
 * probed; setup_port() checks those against rte_eth_dev_info. Control path.
 */
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace port {

struct QueueLimit {
  uint16_t max_rx = 0;
  uint16_t max_tx = 0;
  std::string why;  // where the limit comes from, for the error message
};

/* The limit a vdev spec implies, or nullopt when it is not known up front
 * (PCI devices, PMDs not listed). */
std::optional<QueueLimit> vdev_queue_limit(const std::string& device);

}  // namespace port
