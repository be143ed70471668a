#!/usr/bin/env bash
# The README's test command, and what CI runs: install dependencies, build
# (release; unit tests and loom under ASan+UBSan, meson's b_sanitize; the
# fuzz targets with clang), then run every suite:
#   unit        GoogleTest, release build
#   unit-asan   the same tests under AddressSanitizer + UBSan
#   offline     loom --pcap on every corpus capture vs oracle and census
#   offline-asan  the same with the ASan+UBSan build of loom
#   golden      messages.jsonl, streams.jsonl, http.gor and the stats.json
#               counters on every corpus capture equal the recorded golden
#               (tests/offline/golden.json): refactors change no output
#   decap       captures crafted with scapy, one per link type and
#               encapsulation (and two tenants in two VNIs): messages and
#               stream SHA-256s come out; an unknown link type is refused
#   cli         --version, --help, offline progress under a pseudo-terminal
#               (absent piped or --quiet), log lines stamped (text, json),
#               [log]/[metrics] errors with file:line:column
#   metrics     a real Prometheus scrapes a live Loom (net_null relay) and
#               sees a per-worker counter move; the scrape's form, the
#               Grafana dashboard's metrics and docs/operations.md's metric,
#               telemetry and counter tables checked against the live Loom
#   fuzz        libFuzzer targets (ASan+UBSan) for the packet parser, the
#               reassembler, the HTTP framer, the startup file and the
#               capture readers: seeds and past crashes replayed, then a
#               bounded run each; any crash, leak or hang fails
#   bounded     a SYN flood's streams.jsonl stays a summary and a sample;
#               a damaged capture, --out "" and a closed stdout
#   e2e         nginx <-> curl through Loom's af_packet relay (root only)
#   e2e-rules   drop/reject rules, steering, rule reload (SIGHUP) and the
#               VXLAN mirror through the same relay (root only)
#   e2e-collectors  mirror collector choice by probed latency (UDP echo
#               with live delays in a third netns), hysteresis, lost and
#               fallback, VXLAN copies counted per collector (root only)
#   slow-sink   a stalled output never slows the worker: drops are counted
#   soak        40 s of wrk/ab/curl load through Loom to nginx, a share lossy
#               and reordered by an impairing step on both sides; frames,
#               requests, losses, memory and in-flight records reconciled
#               (root only; the long form: SOAK_SECONDS=600, docs/reliability.md)
#   faults      output disk fills and frees, a link goes down and up, a small
#               mbuf pool, a burst of malformed frames: what survived and what
#               was counted (root only)
#   e2e-appliance  24/7 operation in the namespace lab, hugepages mode:
#               dpdk-dumpcap on the running Loom, a second Loom on the same
#               prefix refused, live files whole for jq, logrotate + SIGUSR1
#               losing no record, nothing left under /var/run/dpdk or in
#               hugetlbfs, an earlier run's directory refused/appended/
#               rotated (root only)
#   deb         the Debian package built from the tree, installed; its
#               loom --version, --check-config on the examples,
#               systemd-analyze verify on loom@.service, loom-setup's
#               refusals and plans on fake hosts (root only)
#   kafka       the Kafka output against librdkafka's mock cluster: kcat
#               reads messages.jsonl line for line (offline); no broker
#               exits non-zero with the count; brokers down and back in a
#               live relay: no stall, every loss counted once (root part)
#   perf-relay-smoke  the relay benchmark, one second per engine (no timing
#                     assertions; it only has to run)
#   perf-reasm-smoke  the reassembly benchmark on small generated captures;
#                     its counts must equal the generator's truth
#   perf-peers-smoke  Loom vs libnids, tcpflow and tshark on a small capture;
#                     Loom's counts must equal the truth, every engine must run
#   perf-pipeline-smoke  the in-memory pipeline benchmark, 2 workers, on a
#                     small capture; every stage's counts equal the truth
#   perf-match-smoke  the rules benchmark, briefly (it only has to run)
#   perf-flow-smoke   the flow-table scale benchmark, one round; every key
#                     inserted is found again
#   perf-kafka-smoke  the Kafka output benchmark (offline and sink alone,
#                     mock cluster) and the hash benchmark, briefly
#   perf-latency-smoke  sockperf ping-pong through Loom (latency histogram
#                     on) and through a Linux bridge, 1 s each at light
#                     load; every run must give numbers (root, sockperf)
# Ends with "N passed, M failed" over all test cases and checks.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
.ci/install-deps.sh || { echo "dependency install failed"; exit 1; }
[ -f build/build.ninja ] || meson setup build || exit 1
ninja -C build || exit 1
[ -f build-asan/build.ninja ] ||
  meson setup build-asan -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
    -Dperf=false || exit 1
ninja -C build-asan tests/loom_unit_tests app/loom || exit 1
# The libFuzzer targets need clang (Debian's); tests/fuzz/meson.build.
[ -f build-fuzz/build.ninja ] ||
  CC=clang CXX=clang++ meson setup build-fuzz -Dfuzz=true -Dtests=false -Dperf=false || exit 1
ninja -C build-fuzz || exit 1

total_pass=0 total_fail=0 failed_suites=()
log_dir=$(mktemp -d /tmp/loom-tests.XXXXXX)
# run_suite NAME CMD...: runs, then adds the counts of its closing line
# ("N passed, M failed", or GoogleTest's summary).
run_suite() {
  local name=$1; shift
  echo "=== $name"
  "$@" >"$log_dir/$name.log" 2>&1
  local rc=$?
  local p f
  p=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log_dir/$name.log" | tail -1 | awk '{print $1}')
  f=$(grep -Eo '[0-9]+ passed, [0-9]+ failed' "$log_dir/$name.log" | tail -1 | awk '{print $3}')
  if [ -z "$p" ]; then  # GoogleTest
    p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$log_dir/$name.log" | awk '{print $4}')
    f=$(grep -Eo '^\[  FAILED  \] [0-9]+ test' "$log_dir/$name.log" | awk '{print $4}')
  fi
  p=${p:-0} f=${f:-0}
  if [ $rc -eq 77 ]; then
    echo "    skipped: $(grep -m1 -i skip "$log_dir/$name.log")"
  elif [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
    f=1  # crashed or failed without a count
  fi
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    failed_suites+=("$name")
    tail -40 "$log_dir/$name.log"
  fi
  echo "    $name: $p passed, $f failed (log: $log_dir/$name.log)"
  total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
}

run_suite unit build/tests/loom_unit_tests
run_suite telemetry build/tests/loom_telemetry_tests
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite unit-asan build-asan/tests/loom_unit_tests
run_suite offline tests/offline/offline_test.sh build
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite offline-asan tests/offline/offline_test.sh build-asan
run_suite golden /usr/bin/python3 tests/offline/golden.py check build/app/loom tests/offline/golden.json \
  "$root"/../shared/corpus/captures/*.pcap tests/data/*.pcap
run_suite decap /usr/bin/python3 tests/offline/decap_test.py build
run_suite cli /usr/bin/python3 tests/offline/cli_test.py build tests/data/sample.pcap
run_suite metrics tests/e2e/metrics_test.sh
run_suite bounded tests/offline/bounded_test.sh build
# Each fuzz target: its seeds and regressions, then 20 s of fuzzing.
run_suite fuzz tests/fuzz/fuzz_ci.sh build-fuzz 20
run_suite e2e tests/e2e/relay_ns_test.sh
run_suite e2e-rules tests/e2e/rules_ns_test.sh
run_suite e2e-collectors tests/e2e/collectors_ns_test.sh
run_suite slow-sink tests/e2e/slow_sink_test.sh
run_suite soak tests/e2e/soak_ns_test.sh
run_suite faults tests/e2e/faults_ns_test.sh
run_suite e2e-appliance tests/e2e/appliance_ns_test.sh
run_suite deb tests/pkg/deb_test.sh
run_suite kafka tests/kafka/kafka_test.sh build
DURATION=1 run_suite perf-relay-smoke perf/relay_bench.sh
# Generated captures Loom has never seen, checked stream by stream against
# the generator's truth (and a one-second taste of the reassembly benchmark).
PACKETS=20000 RUNS=1 run_suite perf-reasm-smoke perf/reasm_bench.sh
run_suite perf-peers-smoke perf/peers_bench.sh --smoke
smoke_dir=$(mktemp -d /tmp/loom-smoke.XXXXXX)
build/perf/gen/loom_gen --flows 500 --pairs 5 --seed 3 --ofo-pct 5 --out "$smoke_dir/p.pcap" \
  >"$smoke_dir/p.truth" 2>/dev/null
run_suite perf-pipeline-smoke build/perf/pipeline/pipeline_bench --pcap "$smoke_dir/p.pcap" \
  --workers 2 --rounds 1 --truth "$smoke_dir/p.truth" --out-dir "$smoke_dir"
match_smoke() {
  local rows
  rows=$(build/perf/match/match_bench --benchmark_min_time=0.01 | grep -c '^BM_Match/')
  echo "match_bench rows: $rows"
  [ "$rows" -eq 3 ] && echo "perf-match-smoke: 1 passed, 0 failed" || echo "perf-match-smoke: 0 passed, 1 failed"
}
run_suite perf-match-smoke match_smoke
run_suite perf-flow-smoke build/perf/flow/flow_bench --rounds 1
kafka_smoke() {  # the Kafka benchmark, small: every row must come out
  local out
  out=$(mktemp /tmp/loom-kafka-smoke.XXXXXX)
  if perf/kafka_bench.sh --flows 300 --pairs 4 --runs 1 --sink-records 20000 --out "$out" &&
    [ "$(jq '[.offline_end_to_end[], .sink_alone[]] | map(select(.records > 0)) | length' "$out")" -eq 8 ] &&
    build/perf/hash/hash_bench --benchmark_min_time=0.01 | grep -q '^BM_CommunityId/6'; then
    echo "perf-kafka-smoke: 1 passed, 0 failed"
  else
    echo "perf-kafka-smoke: 0 passed, 1 failed"
  fi
  rm -f "$out"
}
run_suite perf-kafka-smoke kafka_smoke
run_suite perf-latency-smoke perf/latency_bench.sh --smoke
rm -rf "$smoke_dir"

echo
[ ${#failed_suites[@]} -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ] && [ ${#failed_suites[@]} -eq 0 ]
