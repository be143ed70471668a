#!/usr/bin/env bash
# The fuzz targets in CI: each one first replays its checked-in seeds
# (tests/fuzz/corpus/TARGET) and every input that once crashed it
# (tests/fuzz/regressions/TARGET: a crash, once fixed, is added there and
# stays a regression test), then fuzzes for a bounded time from a scratch
# copy of the seeds. Any crash, sanitizer report (ASan, UBSan), leak,
# timeout (an input taking over 10 s: a hang) or out-of-memory fails the
# target; its input is kept under $FUZZ_ARTIFACTS for the regression set.
# Usage: tests/fuzz/fuzz_ci.sh [BUILD_DIR] [SECONDS_PER_TARGET]
#   BUILD_DIR: a -Dfuzz=true build with clang (default build-fuzz)
# Ends with "N passed, M failed" (one check per target and phase).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-fuzz}
secs=${2:-25}
artifacts=${FUZZ_ARTIFACTS:-/tmp/loom-fuzz-artifacts}
mkdir -p "$artifacts"
work=$(mktemp -d /tmp/loom-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
pass=0 fail=0
for t in pkt_parse reasm http_framer config pcap; do
  bin=$build/tests/fuzz/${t}_fuzz
  if [ ! -x "$bin" ]; then
    echo "FAIL: $t: $bin not built (CC=clang CXX=clang++ meson setup $build -Dfuzz=true)"
    fail=$((fail + 1))
    continue
  fi
  inputs=$(find "$here/corpus/$t" "$here/regressions/$t" -type f 2>/dev/null)
  # Given files, libFuzzer runs each once and stops at the first failure.
  if [ -z "$inputs" ] || "$bin" -timeout=10 $inputs >"$work/$t.replay.log" 2>&1; then
    pass=$((pass + 1)); echo "ok: $t: $(echo "$inputs" | grep -c .) seed and regression input(s)"
  else
    fail=$((fail + 1)); echo "FAIL: $t: a checked-in input fails"; tail -30 "$work/$t.replay.log"
  fi
  mkdir -p "$work/$t.corpus"
  cp "$here/corpus/$t"/* "$work/$t.corpus/" 2>/dev/null
  if "$bin" "$work/$t.corpus" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$artifacts/$t-" -print_final_stats=1 >"$work/$t.fuzz.log" 2>&1; then
    pass=$((pass + 1))
    echo "ok: $t: $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/$t.fuzz.log" | grep -Eo '[0-9]+$') runs in ${secs} s, $(grep -Eo 'cov: [0-9]+' "$work/$t.fuzz.log" | tail -1)"
  else
    fail=$((fail + 1))
    echo "FAIL: $t: fuzzing found a failure; input kept in $artifacts/ (add it to tests/fuzz/regressions/$t/ with the fix)"
    grep -E -m1 -A25 'ERROR|runtime error|_fuzz:' "$work/$t.fuzz.log"
  fi
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
