#include "inspect/counters_walk.h"

#include <type_traits>

namespace inspect {

void for_each_counter(const std::vector<const Stage*>& st,
                      void (*fn)(void*, const char*, const char*, uint64_t), void* ctx) {
  auto sum = [&](auto get) {
    uint64_t v = 0;
    for (const Stage* s : st) v += get(*s).get();
    return v;
  };
  // lib/pkt's blocks, in pkt/counters.def's order.
  for (size_t i = 0; i < pkt::kNumPktCounters; i++) {
    uint64_t v = 0;
    for (const Stage* s : st) v += pkt::pkt_counter(s->pkt_stats, i).get();
    fn(ctx, "pkt", pkt::kPktNames[i], v);
  }
  for (size_t m = 0; m < pkt::kNumMalformed; m++) {
    uint64_t v = 0;
    for (const Stage* s : st) v += s->pkt_stats.malformed[m].get();
    fn(ctx, "malformed", pkt::kMalformedNames[m], v);
  }
  for (size_t e = 1; e <= pkt::kNumEncap; e++) {
    uint64_t v = 0;
    for (const Stage* s : st) v += s->pkt_stats.encap[e].get();
    fn(ctx, "encap", pkt::kEncapNames[e], v);
  }
  // Libraries whose counters come from a counters.def list: walk it.
  auto walk = [&](const char* block, auto get) {
    using S = std::remove_cvref_t<decltype(get(*static_cast<const Stage*>(nullptr)))>;
    static const S zero{};  // names even with no worker
    std::vector<const char*> names;
    zero.visit([&](const char* n, core::CounterKind, const char*, const core::Counter&) {
      names.push_back(n);
    });
    std::vector<uint64_t> v(names.size());
    for (const Stage* s : st) {
      size_t i = 0;
      get(*s).visit([&](const char*, core::CounterKind, const char*, const core::Counter& c) {
        v[i++] += c.get();
      });
    }
    for (size_t i = 0; i < v.size(); i++) fn(ctx, block, names[i], v[i]);
  };
  walk("flows", [](const Stage& s) -> const flow::TableStats& { return s.flow_stats; });
  walk("tcp", [](const Stage& s) -> const tcp::Stats& { return s.tcp_stats; });
  walk("reasm", [](const Stage& s) -> const reasm::Stats& { return s.reasm_stats; });
  // http's counters come from lib/http/counters.def, in its order.
  for (size_t i = 0; i < http::kNumCounters; i++) {
    const auto field = http::kCounters[i].field;
    uint64_t v = 0;
    for (const Stage* s : st) v += (s->http_stats.*field).get();
    fn(ctx, "http", http::kCounters[i].name, v);
  }
  for (size_t v = 0; v < http::kNumVerdicts; v++) {
    uint64_t n = 0;
    for (const Stage* s : st) n += s->http_stats.verdicts[v].get();
    fn(ctx, "http_verdicts", http::verdict_name(http::Verdict(v)), n);
  }
  // Framing errors by reason, llhttp's names (lib/http/errors.def).
  for (size_t e = 1; e < http::kNumErrors; e++) {
    if (!*http::error_name(e)) continue;
    uint64_t v = 0;
    for (const Stage* s : st) v += s->http_stats.errors[e].get();
    fn(ctx, "http_errors", http::error_name(e), v);
  }
  walk("streams", [](const Stage& s) -> const Stats& { return s.stats; });
  // Connections that never carried payload, by how they ended (flow::End).
  for (size_t e = 0; e < kNumEnds; e++)
    fn(ctx, "streams_empty", empty_end_name(e),
       sum([e](const Stage& s) -> auto& { return s.stats.empty_by_end[e]; }));
#define MIRROR(f) fn(ctx, "mirror", #f, sum([](const Stage& s) -> auto& { return s.mirror_stats.f; }))
  MIRROR(copies); MIRROR(truncated); MIRROR(no_mbuf);
#undef MIRROR
  fn(ctx, "mirror", "tx_full", sum([](const Stage& s) -> auto& { return s.stats.mirror_tx_full; }));
}

}  // namespace inspect
