// The cost of operator rules per message (lib/match), with 10 and 1,000
// rules: Google Benchmark over messages built like the corpus's requests.
//
//   build/perf/match/match_bench [--benchmark_filter=...]
//
// The rule sets are what an operator writes: path prefixes, Host names,
// a User-Agent pattern, a query parameter and a body literal per ten
// rules, all different, none matching most messages (the common case: a
// message is scanned against everything and falls through to the
// default). One Scratch, as one worker has.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "match/match.h"

namespace {

match::Condition cond(match::Field f, std::string pattern, std::string header = {}) {
  match::Condition c;
  c.field = f;
  c.pattern = std::move(pattern);
  c.header = std::move(header);
  return c;
}

match::RuleSet rules(int n) {
  match::RuleSet set;
  set.default_action = match::Action::kRecord;
  for (int i = 0; i < n; i++) {
    match::Rule r;
    r.name = "r" + std::to_string(i);
    r.action = i % 2 ? match::Action::kTag : match::Action::kSkip;
    if (r.action == match::Action::kTag) r.tag = "t" + std::to_string(i);
    const std::string k = std::to_string(i);
    switch (i % 5) {
      case 0: r.conds.push_back(cond(match::Field::kPath, "^/svc" + k + "/v[0-9]+/")); break;
      case 1: r.conds.push_back(cond(match::Field::kHost, "^api" + k + "\\.example\\.com$")); break;
      case 2: r.conds.push_back(cond(match::Field::kHeader, "^bot-" + k + "/", "user-agent")); break;
      case 3: r.conds.push_back(cond(match::Field::kQuery, "(^|&)trace" + k + "=1")); break;
      case 4:
        r.conds.push_back(cond(match::Field::kBody, "\"tenant\":\"t" + k + "\""));
        r.conds.back().literal = true;
        break;
    }
    set.rules.push_back(std::move(r));
  }
  return set;
}

const std::string kRaw =
    "POST /api/orders?id=42&page=3 HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0\r\n"
    "Accept: application/json\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 120\r\n"
    "\r\n"
    "{\"tenant\":\"acme\",\"items\":[{\"sku\":\"A-1\",\"qty\":2},{\"sku\":\"B-7\",\"qty\":1}],"
    "\"note\":\"leave at the door\"}";

void BM_Match(benchmark::State& state) {
  std::vector<match::CompileError> errs;
  auto db = match::Database::compile(rules(int(state.range(0))), &errs);
  if (!db) {
    state.SkipWithError("compile failed");
    return;
  }
  match::Scratch scratch(*db);
  match::Counters counters(db->rules().rules.size());
  match::FlowView fv;
  fv.client_port = 40000;
  fv.server_port = 80;
  match::MessageView mv{"POST", "/api/orders?id=42&page=3", "shop.example.com", kRaw};
  for (auto _ : state) {
    match::Result r = db->match(scratch, fv, mv, &counters);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["ns_per_message"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_Match)->Arg(0)->Arg(10)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
