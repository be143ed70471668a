/* core: the pieces every other Loom library stands on.
 *
 * Logging goes through DPDK's rte_log under the type "loom" so operators
 * filter it with --log-level like any DPDK component. The fast path never
 * logs (a per-packet log line is a drop waiting to happen); only start-up,
 * control and shutdown code calls LOOM_LOG. Nothing here allocates after
 * start-up.
 */
#pragma once

#include <rte_log.h>

namespace core {

/* The registered rte_log type; safe to call before rte_eal_init. */
int log_type() noexcept;

}  // namespace core

#define LOOM_LOG(level, fmt, ...) \
  rte_log(RTE_LOG_##level, core::log_type(), "loom: " fmt "\n", ##__VA_ARGS__)
