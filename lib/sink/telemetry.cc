#include "sink/telemetry.h"

#include <utility>

#include "core/telemetry.h"

namespace sink {

namespace {

using core::tel::add_u64;

TelemetrySource g_src;

int cmd_outputs(const char*, const char*, rte_tel_data* d) {
  if (!core::tel::is_ready(g_src.ready)) return core::tel::starting(d);
  rte_tel_data_start_dict(d);
  for (const auto& o : g_src.sinks->outputs()) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return -ENOMEM;
    rte_tel_data_start_dict(c);
    rte_tel_data_add_dict_string(c, "path", o.path.c_str());
    add_u64(c, "written", o.stats->lines.load(std::memory_order_relaxed));
    add_u64(c, "bytes", o.stats->bytes.load(std::memory_order_relaxed));
    add_u64(c, "write_errors", o.stats->write_errors.load(std::memory_order_relaxed));
    add_u64(c, "lost", o.stats->lost.load(std::memory_order_relaxed));
    add_u64(c, "ring_depth", o.depth);
    add_u64(c, "parts", o.stats->parts.load(std::memory_order_relaxed));
    add_u64(c, "reopens", o.stats->reopens.load(std::memory_order_relaxed));
    if (o.writer)
      o.writer->visit([&](const char* name, core::CounterKind, const char*, uint64_t v) { add_u64(c, name, v); });
    add_u64(c, "dropped", g_src.dropped ? g_src.dropped(o.name) : 0);
    rte_tel_data_add_dict_container(d, o.name.c_str(), c, 0);
  }
  if (g_src.extra) g_src.extra(d);
  return 0;
}

}  // namespace

void register_telemetry(TelemetrySource src) {
  g_src = std::move(src);
  static constexpr core::tel::Cmd cmds[] = {
      {"/loom/outputs", cmd_outputs, "Per output: written, bytes, dropped; mirror copies."},
  };
  core::tel::add_cmds(cmds);
}

}  // namespace sink
