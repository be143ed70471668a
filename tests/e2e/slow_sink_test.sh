#!/usr/bin/env bash
# A stalled sink never slows the workers. Loom runs live (passive) on a
# capture that net_pcap replays in a loop (infinite_rx), with messages.jsonl
# made a FIFO that nobody reads: the sink thread blocks on its first full
# pipe, the record rings fill, and the worker must keep receiving at full
# speed while dropping records and counting them. Then the FIFO is drained,
# Loom is stopped, and it must exit 0 with everything it did write intact.
# No root needed. Usage: tests/e2e/slow_sink_test.sh [BUILD_DIR]
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
loom=${1:-$root/build}/app/loom
tmp=$(mktemp -d /tmp/loom-slowsink.XXXXXX)
prefix=loom-ss$$
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  exec 3>&- 2>/dev/null
  rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
pass=0 fail=0
check() {  # check NAME OK(0/1) DETAIL
  if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "PASS: $1 ($3)"; else
    fail=$((fail + 1)); echo "FAIL: $1 ($3)"; fi
}
tel() { echo "$1" | dpdk-telemetry.py -f "$prefix" 2>/dev/null | tail -1; }
jq_tel() { tel "$1" | jq -r "$2"; }

cat >"$tmp/ss.toml" <<TOML
mode = "passive"
[eal]
lcores = "0@0,1@1"
memory = "no-huge"
file_prefix = "$prefix"
[outputs]
record_ring = 256
existing = "append"   # messages.jsonl is the FIFO made below: continue it
[[ports]]
name = "cap"
device = "net_pcap0,rx_pcap=$root/tests/data/sample.pcap,infinite_rx=1"
link_wait_ms = 0
promiscuous = false
TOML
mkdir -p "$tmp/out"
mkfifo "$tmp/out/messages.jsonl"
exec 3<>"$tmp/out/messages.jsonl"   # a reader that never reads: writes block once the pipe is full
"$loom" --config "$tmp/ss.toml" --out "$tmp/out" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(jq_tel /loom/info .\"/loom/info\".status 2>/dev/null)" = running ] && break; sleep 0.1; done
sleep 1
rx1=$(jq_tel /loom/workers '."/loom/workers".rx_packets')
w1=$(jq_tel /loom/outputs '."/loom/outputs".messages.written')
sleep 2
rx2=$(jq_tel /loom/workers '."/loom/workers".rx_packets')
w2=$(jq_tel /loom/outputs '."/loom/outputs".messages.written')
dropped=$(jq_tel /loom/outputs '."/loom/outputs".messages.dropped')
echo "worker rx: $rx1 -> $rx2 packets in 2 s; messages written: $w1 -> $w2; dropped: $dropped"
check "the sink is stalled (no message written while the FIFO is full)" "$([ "$w1" = "$w2" ]; echo $?)" "$w1 -> $w2"
check "the worker keeps receiving" "$([ "${rx2:-0}" -gt $((${rx1:-0} + 100000)) ]; echo $?)" "+$((${rx2:-0} - ${rx1:-0}))"
check "records the sink could not take are counted as dropped" "$([ "${dropped:-0}" -gt 0 ]; echo $?)" "$dropped"
# The reader opens the FIFO while writers still hold it (a reader opened
# after the last writer closed would wait forever), then Loom is stopped;
# closing our own write end lets the reader see the end.
cat "$tmp/out/messages.jsonl" >"$tmp/drained.jsonl" 3>&- &  # let the sink finish (not holding fd 3)
cat_pid=$!
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
exec 3>&-
wait "$cat_pid"
check "clean exit once the sink can write again" "$rc" "exit $rc"
check "stats.json counts the dropped records" \
  "$([ "$(jq '.totals.http.records_dropped' "$tmp/out/stats.json")" -gt 0 ]; echo $?)" \
  "$(jq '.totals.http.records_dropped' "$tmp/out/stats.json")"
check "what was written is whole JSON lines" "$(jq -e . "$tmp/drained.jsonl" >/dev/null 2>&1; echo $?)" \
  "$(wc -l <"$tmp/drained.jsonl") lines"
echo "slow-sink: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
