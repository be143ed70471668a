/* ctl/telemetry: Loom's commands on DPDK's telemetry socket.
 *
 *   /loom/info      version, startup file, mode, uptime
 *   /loom/ports     per port: packets, bytes, imissed, rx_nombuf, errors,
 *                   RSS state; ",<port>" adds per-queue counters
 *   /loom/workers   per worker: rx, tx, drops by reason, busy/idle polls,
 *                   parse counters; ",<id>" for one worker
 *   /loom/drops     every drop reason with its help text (how to read it)
 *
 * Handlers run on DPDK's telemetry thread and only read counters (no
 * locks, core::Counter). Every reply fits the 16 KB socket limit: lists
 * that could grow are split by the ",<id>" parameter.
 */
#pragma once

#include "ctl/runtime.h"

namespace ctl {

/* Registers the commands; `rt` must outlive the process's telemetry. */
void register_telemetry(const Runtime* rt);

}  // namespace ctl
