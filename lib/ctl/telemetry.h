/* ctl/telemetry: Loom's commands on DPDK's telemetry socket, wired up.
 *
 * Each library registers its own commands over a typed source
 * (core/telemetry.h says how and why by an explicit call):
 *   core     /loom/workers, /loom/latency, /loom/drops
 *   port     /loom/ports
 *   inspect  /loom/flows, /loom/decap, /loom/reasm, /loom/http,
 *            /loom/top_flows, /loom/flow
 *   sink     /loom/outputs
 *   mirror   /loom/collectors
 * register_telemetry() builds those sources from the Runtime (and the
 * parts of a lower library's reply that a higher one counts) and adds
 * ctl's own, which read the Runtime:
 *   /loom/info          version, startup file, mode, status, uptime
 *   /loom/rules         the rule set, reloads, hits per rule; ",<page>"
 *   /loom/rules_reload  re-read the startup file's rules
 *
 * Handlers run on DPDK's telemetry thread and only read counters (no
 * locks, core::Counter). Every reply fits the 16 KB socket limit: lists
 * that could grow are split by the ",<id>" parameter.
 */
#pragma once

#include "ctl/runtime.h"

namespace ctl {

/* Registers every library's commands and ctl's; `rt` must outlive the
 * process's telemetry. Call once, before rte_eal_init (the socket then
 * answers "starting" until rt->ready). */
void register_telemetry(const Runtime* rt);

}  // namespace ctl
