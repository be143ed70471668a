/* Counters declared once, in a library's `counters.def`, as
 *   LOOM_COUNTER(name, kind, help)   kind: counter | gauge
 * and expanded here into everything that names them: the struct's fields
 * (LOOM_COUNTER_FIELDS), and a visitor (LOOM_COUNTER_VISIT) that hands
 * each one's name, kind, help and value to stats.json, telemetry and any
 * exporter. Nothing lists a counter twice, so a new one shows up in every
 * output by being added to its .def (Envoy's ALL_*_STATS idea, done with
 * an include instead of a macro argument).
 *
 * Usage, in a header:
 *   struct Stats {
 *   #define LOOM_COUNTERS_DEF "tcp/counters.def"
 *   #include "core/counters_body.inc"
 *   };
 */
#pragma once

#include "core/counter.h"

namespace core {

enum class CounterKind : uint8_t { counter, gauge };

}  // namespace core

#define LOOM_COUNTER_FIELD(name, kind, help) ::core::Counter name;
#define LOOM_COUNTER_VISIT(name, kind, help) f(#name, ::core::CounterKind::kind, help, name);
