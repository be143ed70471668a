/* ctl/outputs: which record sinks a run writes (streams.jsonl,
 * messages.jsonl, http.gor, packets.pcap, Kafka topics), wired to every
 * stage's rings, from [outputs], [http] and [sensor]. The records' lines
 * carry the join fields (rt.meta), fixed here for the run.
 *
 * Thread: the main lcore, after the stages exist and before the sink
 * threads start (rt.sinks.start).
 */
#pragma once

#include <string>
#include <vector>

#include "ctl/runtime.h"

namespace ctl {

/* Adds the sinks `rt.cfg` asks for to rt.sinks (and rt.kafka's producer);
 * `dir`: where the files go ("": no files, Kafka only). Nothing without
 * inspection. Empty, or what could not be opened (the caller logs it and
 * stops). */
std::string open_outputs(Runtime& rt, const std::vector<inspect::Stage*>& stages,
                         const std::string& dir);

}  // namespace ctl
