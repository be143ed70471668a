#!/usr/bin/env bash
# Records per second through the Kafka output (to librdkafka's mock cluster,
# build/tests/loom_kafka_mock, on this host) beside the file output, offline
# on one generated capture: one worker, one sink thread, every record
# delivered (an offline run waits for the last acknowledgement before it
# ends, so wall time includes delivery). Prints a table and writes JSON.
#
#   perf/kafka_bench.sh [--flows N] [--pairs K] [--runs R] [--sink-records M] [--out perf/results/kafka.json]
#
# Rows: files (messages.jsonl only), kafka (the topic only), kafka-lz4
# (compression.type = lz4), both (messages.jsonl and the topic). records/s
# = message records / wall seconds of the run (run.json), the median of R
# runs; bytes/record = mean JSON value size (what a consumer receives,
# before Kafka's own batch overhead and compression).
#
# A second table measures the sink alone (build/perf/kafka/sink_bench:
# a thread keeps a message ring full, one sink thread formats and writes),
# which is where the Kafka output's own cost shows: in the end-to-end runs
# the worker (reassembly, framing) sets the pace.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
FLOWS=10000 PAIRS=10 RUNS=3 SINK_RECORDS=300000 OUT=$ROOT/perf/results/kafka.json
while [ $# -gt 0 ]; do
  case $1 in
    --flows) FLOWS=$2; shift 2 ;;
    --pairs) PAIRS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --sink-records) SINK_RECORDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: $0 [--flows N] [--pairs K] [--runs R] [--sink-records M] [--out FILE]" >&2; exit 2 ;;
  esac
done
LOOM=$BUILD/app/loom GEN=$BUILD/perf/gen/loom_gen MOCK=$BUILD/tests/loom_kafka_mock
SINKB=$BUILD/perf/kafka/sink_bench
for b in "$LOOM" "$GEN" "$MOCK" "$SINKB"; do [ -x "$b" ] || { echo "missing $b (build it first)" >&2; exit 1; }; done
T=$(mktemp -d /tmp/loom-kafka-bench.XXXXXX)
MOCK_PID=
trap '[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$T"' EXIT

"$GEN" --flows "$FLOWS" --pairs "$PAIRS" --body-mean 400 --seed 5 --out "$T/c.pcap" >"$T/truth" 2>/dev/null || exit 1
"$MOCK" --topic loom.http:4 --bootstrap-file "$T/boot" >/dev/null 2>"$T/mock.err" &
MOCK_PID=$!
for _ in $(seq 50); do [ -s "$T/boot" ] && break; sleep 0.1; done
BOOT=$(cat "$T/boot")

base='mode = "offline"
[offline]
quiet_ms = 30000
[outputs]
streams = false
gor = false'
kafka="[outputs.kafka]
brokers = \"$BOOT\"
topic = \"loom.http\"
delivery_timeout_ms = 60000"
printf '%s\nmessages = true\n' "$base" >"$T/files.toml"
printf '%s\nmessages = false\n%s\n' "$base" "$kafka" >"$T/kafka.toml"
printf '%s\nmessages = false\n%s\nproperties = { "compression.type" = "lz4" }\n' "$base" "$kafka" >"$T/kafka-lz4.toml"
printf '%s\nmessages = true\n%s\n' "$base" "$kafka" >"$T/both.toml"

echo "capture: $(wc -c <"$T/c.pcap") bytes, $FLOWS connections x $PAIRS exchanges; mock cluster $BOOT"
rows=()
for cfg in files kafka kafka-lz4 both; do
  for r in $(seq "$RUNS"); do
    rm -rf "$T/o"
    "$LOOM" --pcap "$T/c.pcap" --out "$T/o" --config "$T/$cfg.toml" >/dev/null 2>"$T/err" ||
      { echo "$cfg: loom failed: $(tail -2 "$T/err")" >&2; exit 1; }
    /usr/bin/python3 - "$T/o" "$cfg" >>"$T/$cfg.runs" <<'PY'
import json, sys
d, cfg = sys.argv[1], sys.argv[2]
st, run = json.load(open(d + "/stats.json")), json.load(open(d + "/run.json"))
o = st["outputs"]
recs = o["kafka"]["delivered"] if "kafka" in o else o["messages"]["written"]
if "kafka" in o and "messages" in o: assert o["kafka"]["delivered"] == o["messages"]["written"]
vbytes = o["kafka"]["delivered_bytes"] if "kafka" in o else o["messages"]["bytes"] - o["messages"]["written"]
print(json.dumps({"records": recs, "wall": run["wall_seconds"], "bytes_per_record": vbytes / max(recs, 1)}))
PY
  done
  rows+=("$(/usr/bin/python3 - "$T/$cfg.runs" "$cfg" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
rate = statistics.median(r["records"] / r["wall"] for r in runs)
print(json.dumps({"output": sys.argv[2], "records": runs[0]["records"], "records_per_second": round(rate),
                  "wall_seconds": [round(r["wall"], 3) for r in runs],
                  "bytes_per_record": round(runs[0]["bytes_per_record"], 1)}))
PY
)")
done
printf '%-10s %10s %14s %16s\n' output records records/s bytes/record
for row in "${rows[@]}"; do
  echo "$row" | jq -r '"\(.output) \(.records) \(.records_per_second) \(.bytes_per_record)"' |
    awk '{ printf "%-10s %10s %14s %16s\n", $1, $2, $3, $4 }'
done

echo
echo "the sink alone (one sink thread, $SINK_RECORDS message records):"
srows=()
for o in files kafka kafka-lz4 both; do
  : >"$T/s.runs"
  for r in $(seq "$RUNS"); do
    args=(--records "$SINK_RECORDS" --dir "$T" --brokers "$BOOT")
    case $o in
      kafka-lz4) args+=(--output kafka --property compression.type=lz4) ;;
      *) args+=(--output "$o") ;;
    esac
    "$SINKB" "${args[@]}" 2>/dev/null | grep '^{' >>"$T/s.runs" || { echo "sink_bench $o failed" >&2; exit 1; }
  done
  srows+=("$(jq -s --arg o "$o" '{output: $o, records: .[0].records,
    records_per_second: ([.[].records_per_second] | sort | .[length / 2 | floor]),
    bytes_per_record: .[0].bytes_per_record}' -c "$T/s.runs")")
done
printf '%-10s %10s %14s %16s\n' output records records/s bytes/record
for row in "${srows[@]}"; do
  echo "$row" | jq -r '"\(.output) \(.records) \(.records_per_second) \(.bytes_per_record)"' |
    awk '{ printf "%-10s %10s %14s %16s\n", $1, $2, $3, $4 }'
done
mkdir -p "$(dirname "$OUT")"
jq -n --arg cpu "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" \
  --argjson flows "$FLOWS" --argjson pairs "$PAIRS" \
  --argjson e2e "$(printf '%s\n' "${rows[@]}" | jq -s -c .)" \
  --argjson sink "$(printf '%s\n' "${srows[@]}" | jq -s -c .)" \
  '{cpu: $cpu, capture: {flows: $flows, pairs: $pairs}, workers: 1,
    offline_end_to_end: $e2e, sink_alone: $sink}' >"$OUT"
echo "written: $OUT"
