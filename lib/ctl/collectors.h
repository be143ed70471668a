/* ctl/collectors: the mirror port and the collectors' prober, set up
 * from the startup file ([mirror], [[collectors]], [probe]).
 *
 * The prober itself (its thread, ARP, probes, the choice) is
 * lib/mirror's (mirror/prober.h); here its settings are converted from
 * the file's units, and its offers wired to every worker's stage.
 *
 * Control path only.
 */
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <rte_mempool.h>

#include "ctl/config.h"
#include "inspect/mirror_out.h"
#include "inspect/stage.h"
#include "mirror/prober.h"

namespace ctl {

struct Runtime;

/* [mirror]: its own port (a TX queue per worker, one more for the prober,
 * as many RX queues: af_packet fans frames out over its queue pairs and
 * the prober reads them all), its mbuf pool, and the tunnel's outer
 * headers (rt.mirror_base; a collector's address replaces the
 * destination per choice). Fills `out` for the stages. Empty, or what is
 * wrong (the caller logs it and stops). */
std::string setup_mirror(Runtime& rt, rte_mempool* rx_pool, inspect::MirrorOut& out);

/* [[collectors]] and [probe] as the prober takes them (milliseconds to
 * nanoseconds); `fallback_key`: this Loom's name (eal.file_prefix). */
mirror::ProberConfig prober_config(const MirrorConfig& m, const std::string& fallback_key);

/* The prober over the mirror port setup_mirror made (`out`), its TX
 * queue the one past the workers', offering each choice to every stage.
 * Not started. Throws std::invalid_argument on bad settings. */
std::unique_ptr<mirror::Prober> make_prober(const Runtime& rt, const inspect::MirrorOut& out,
                                            std::vector<inspect::Stage*> stages);

}  // namespace ctl
