#!/usr/bin/env bash
# Loom under a real Prometheus (issue 15 "Done when"): a live Loom relays
# between two net_null ports with [metrics] on; Debian's prometheus, run
# here with its own config and a temporary storage directory on localhost
# ports, scrapes it; the test waits for a scrape and asks Prometheus's HTTP
# API for loom_ series, including a per-worker counter that moved. The same
# Loom's scrape is checked for form (names, _total, help, labels), against
# the Grafana dashboard (every metric it queries exists) and against
# docs/operations.md (metric table, telemetry command table from the live
# /help replies, counter tables from the counters.def lists). Its log lines
# must carry a time and a level, and show the telemetry socket, the
# periodic summary and the metrics address.
#
# Needs: prometheus, curl, dpdk-telemetry.py. No root, NIC or hugepages
# (net_null, no-huge); the EAL file prefix is loom-metrics-<pid>.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOOM=${LOOM:-$ROOT/build/app/loom}
PY=/usr/bin/python3
CHECK="$PY $ROOT/tests/e2e/metrics_check.py"
PASS=0 FAIL=0
summary() { echo "metrics: $PASS passed, $FAIL failed"; }
ok() { PASS=$((PASS + 1)); echo "PASS: $*"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL: $*"; }
# run_check CMD...: a metrics_check.py run; its PASS/FAIL lines count.
run_check() {
  local out
  out=$("$@")
  echo "$out"
  PASS=$((PASS + $(grep -c '^PASS' <<<"$out")))
  FAIL=$((FAIL + $(grep -c '^FAIL' <<<"$out")))
}
for t in prometheus curl dpdk-telemetry.py; do
  command -v $t >/dev/null || { echo "SKIP: metrics: $t missing"; echo "metrics: 0 passed, 0 failed"; exit 77; }
done
[[ -x $LOOM ]] || { bad "no binary $LOOM"; summary; exit 1; }

TMP=$(mktemp -d /tmp/loom-metrics.XXXXXX)
PREFIX=loom-metrics-$$
LOOM_PID= PROM_PID=
cleanup() {
  [[ -n $PROM_PID ]] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  [[ -n $LOOM_PID ]] && kill -9 "$LOOM_PID" 2>/dev/null
  [[ ${LOOM_E2E_KEEP:-0} == 1 ]] && echo "kept $TMP" || rm -rf "$TMP"
}
trap cleanup EXIT

# Two free localhost ports, chosen by the kernel.
read -r MPORT PPORT < <($PY -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

cat >"$TMP/loom.toml" <<TOML
mode = "inline"
[eal]
lcores = "0@0,1@1"
main_lcore = 0
memory = "no-huge"
file_prefix = "$PREFIX"
[worker]
latency = true
[[ports]]
name = "n0"
device = "net_null0,size=64"
link_wait_ms = 0
[[ports]]
name = "n1"
device = "net_null1,size=64"
link_wait_ms = 0
[[pairs]]
a = "n0"
b = "n1"
[[rule]]
name = "admin"
uri = "^/admin"
action = "record"
[metrics]
listen = "127.0.0.1:$MPORT"
[log]
summary_seconds = 1
TOML
"$LOOM" --check-config "$TMP/loom.toml" >/dev/null || { bad "startup file refused"; "$LOOM" --check-config "$TMP/loom.toml"; summary; exit 1; }

"$LOOM" --config "$TMP/loom.toml" --out "$TMP/out" 2>"$TMP/loom.log" &
LOOM_PID=$!
for _ in $(seq 100); do
  grep -q "worker 0 on lcore" "$TMP/loom.log" && break
  kill -0 $LOOM_PID 2>/dev/null || break
  sleep 0.1
done
grep -q "worker 0 on lcore" "$TMP/loom.log" && ok "Loom running" || { bad "Loom did not start"; cat "$TMP/loom.log"; summary; exit 1; }

curl -sf "http://127.0.0.1:$MPORT/metrics" >"$TMP/scrape.txt" && ok "scrape of /metrics answered" || bad "scrape failed"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/nothing" | grep -q 404 && ok "other paths: 404" || bad "other path not 404"
run_check $CHECK format "$TMP/scrape.txt"
run_check $CHECK dashboard "$TMP/scrape.txt" "$ROOT/contrib/grafana/loom.json"
run_check $CHECK docs-metrics "$TMP/scrape.txt" "$ROOT/docs/operations.md"

# The live /help of every /loom/ command, one JSON line each.
cmds=$(echo / | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    if l.startswith("{"):
        print("\n".join(c for c in json.loads(l)["/"] if c.startswith("/loom/")))')
for c in $cmds; do echo "/help,$c"; done | dpdk-telemetry.py -f "$PREFIX" >"$TMP/help.jsonl" 2>/dev/null
run_check $CHECK docs-telemetry "$TMP/help.jsonl" "$ROOT/docs/operations.md"
run_check $CHECK docs-counters "$ROOT" "$ROOT/docs/operations.md"

# Prometheus itself: scrape every second, its API on another port.
cat >"$TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: loom
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
YML
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
  --web.listen-address="127.0.0.1:$PPORT" --log.level=warn >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
api() { curl -sf --get "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1"; }
# number of result series of a query ("" when Prometheus does not answer)
nres() { api "$1" | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null; }
up=""
for _ in $(seq 60); do
  up=$(api 'up{job="loom"}' | $PY -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
  [[ $up == 1 ]] && break
  sleep 0.5
done
[[ $up == 1 ]] && ok "Prometheus scraped Loom (up = 1)" || { bad "Prometheus did not scrape Loom (up = '$up')"; tail -20 "$TMP/prometheus.log"; }
n=$(nres 'count by (__name__) ({__name__=~"loom_.+", job="loom"})')
[[ ${n:-0} -gt 100 ]] && ok "Prometheus holds $n loom_ metric names" || bad "Prometheus holds ${n:-no} loom_ metric names"
# A per-worker counter that moved: two scrapes at least, so wait for them.
moved=0
for _ in $(seq 40); do
  moved=$(nres 'increase(loom_core_rx_packets_total{job="loom",worker="0"}[30s]) > 0')
  [[ ${moved:-0} -ge 1 ]] && break
  sleep 0.5
done
[[ ${moved:-0} -ge 1 ]] && ok "loom_core_rx_packets_total{worker=\"0\"} moved between scrapes" || bad "no per-worker counter moved in Prometheus"
n=$(nres 'loom_core_drops_total{job="loom",reason="tx_full"}')
[[ ${n:-0} -ge 1 ]] && ok "drop reasons are series (reason label)" || bad "no loom_core_drops_total{reason=\"tx_full\"}"
n=$(nres 'loom_core_relay_latency_seconds{job="loom",quantile="0.99"} > 0')
[[ ${n:-0} -ge 1 ]] && ok "relay latency p99 is in Prometheus and above 0" || bad "no relay latency p99"

# Logs: time and level on every line; what the operator looks for.
badlines=$(grep -cvE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}Z (EMERG|ALERT|CRIT|ERROR|WARNING|NOTICE|INFO|DEBUG) ' "$TMP/loom.log")
[[ $badlines == 0 ]] && ok "every log line has a timestamp and a level" || { bad "$badlines log lines without timestamp/level"; grep -vE '^[0-9]{4}-' "$TMP/loom.log" | head -3; }
grep -q "INFO loom: telemetry socket .*/$PREFIX/dpdk_telemetry.v2" "$TMP/loom.log" && ok "telemetry socket path logged" || bad "no telemetry socket line"
grep -q "INFO loom: metrics on http://127.0.0.1:$MPORT/metrics" "$TMP/loom.log" && ok "metrics address logged" || bad "no metrics line"
s=$(grep -c "loom: summary: rx [0-9]* packets" "$TMP/loom.log")
[[ $s -ge 2 ]] && ok "periodic summary logged ($s lines)" || bad "periodic summary: $s lines"

kill -TERM $LOOM_PID
wait $LOOM_PID; rc=$?
LOOM_PID=
[[ $rc == 0 ]] && ok "Loom stopped cleanly under scraping" || bad "Loom exit status $rc"
[[ ! -e /var/run/dpdk/$PREFIX ]] && ok "runtime directory removed" || bad "runtime directory left"

# A second Loom on the same metrics port is refused with the address named.
sed "s/file_prefix = \"$PREFIX\"/file_prefix = \"$PREFIX-b\"/" "$TMP/loom.toml" >"$TMP/loom2.toml"
$PY -c "
import socket, subprocess, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $MPORT)); s.listen()
r = subprocess.run(['$LOOM', '--config', '$TMP/loom2.toml', '--duration', '5'], capture_output=True, text=True, timeout=60)
ok = r.returncode == 1 and 'metrics.listen 127.0.0.1:$MPORT: cannot listen' in r.stderr
print('PASS: a busy metrics port stops start-up, exit 1, naming it' if ok else 'FAIL: busy metrics port: rc %d: %s' % (r.returncode, r.stderr[-300:]))
" >"$TMP/busy.txt"
cat "$TMP/busy.txt"
grep -q '^PASS' "$TMP/busy.txt" && PASS=$((PASS + 1)) || FAIL=$((FAIL + 1))
[[ ! -e /var/run/dpdk/$PREFIX-b ]] && ok "runtime directory of the refused run removed" || bad "runtime directory of the refused run left"

# Link changes, polled: a net_tap port whose kernel interface is set down
# and up again (root only: it creates interface tapmetrics<pid>).
if [[ $(id -u) -eq 0 ]]; then
  TAPIF=tapmetrics$(( $$ % 100000 ))
  read -r TPORT < <($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$TMP/tap.toml" <<TOML
mode = "passive"
[eal]
lcores = "0@0,1@1"
main_lcore = 0
memory = "no-huge"
file_prefix = "$PREFIX-tap"
[[ports]]
name = "t0"
device = "net_tap0,iface=$TAPIF"
link_wait_ms = 0
[metrics]
listen = "127.0.0.1:$TPORT"
[log]
link_poll_ms = 100
TOML
  "$LOOM" --config "$TMP/tap.toml" 2>"$TMP/tap.log" &
  LOOM_PID=$!
  for _ in $(seq 100); do grep -q "worker 0 on lcore" "$TMP/tap.log" && break; sleep 0.1; done
  # waitfor PATTERN: up to 3 s for a log line
  waitfor() { for _ in $(seq 30); do grep -q "$1" "$TMP/tap.log" && return 0; sleep 0.1; done; return 1; }
  ip link set "$TAPIF" down
  waitfor "WARNING loom: port t0: link down" && ok "link down logged (polled)" || bad "no link down line"
  curl -sf "http://127.0.0.1:$TPORT/metrics" | grep -q '^loom_port_link_up{port="t0"} 0' &&
    ok "loom_port_link_up 0 while down" || bad "loom_port_link_up not 0 while down"
  ip link set "$TAPIF" up
  waitfor "INFO loom: port t0: link up again" && ok "link up logged (polled)" || bad "no link up line"
  curl -sf "http://127.0.0.1:$TPORT/metrics" | grep -q '^loom_port_link_up{port="t0"} 1' &&
    ok "loom_port_link_up 1 again" || bad "loom_port_link_up not 1 after up"
  kill -TERM $LOOM_PID; wait $LOOM_PID; rc=$?; LOOM_PID=
  [[ $rc == 0 ]] && ok "tap Loom stopped cleanly" || bad "tap Loom exit status $rc"
else
  echo "SKIP: link change checks need root (net_tap)"
fi

summary
[[ $FAIL == 0 ]]
