#!/usr/bin/env bash
# perf/latency_bench.sh: the latency Loom's inline relay adds, two ways, in
# one run on the same two network namespaces (the e2e test's topology,
# tests/e2e/lib.sh):
#
#   netns loomA<pid>: vA 10.99.0.1/24 ==veth== vA-d<pid> \
#                                                          Loom (af_packet) | Linux bridge
#   netns loomB<pid>: vB 10.99.0.2/24 ==veth== vB-d<pid> /
#
#   A) Loom: inline relay between vA-d and vB-d (root ns, net_af_packet,
#      drivers_cfg/af-packet-lab.toml adapted per run) with
#      `[worker] latency = true`, inspect on (the default), tx_drain_us = 1
#      and 100 (the default). Loom's own figure: each worker's histogram of
#      the time a relayed frame spent in Loom, TSC at the RX burst to TSC at
#      the TX burst (stats.json totals.latency, written at SIGTERM).
#   B) Bridge: vA-d and vB-d moved into a third namespace (loomC<pid>) and
#      enslaved to a Linux bridge (STP off), after the Loom runs.
#
# Traffic: `sockperf ping-pong --full-rtt` (one message in flight, 14-byte
# payload, sockperf's default) from ns A to a sockperf server in ns B, UDP
# and TCP, each for SECONDS (sockperf's own 400 ms warm-up excluded from its
# percentiles). Both sockperf processes are pinned to CPU 0: Loom's worker
# busy-polls CPU 1 (lcore 1), and a sockperf thread woken there would wait
# for the worker's time slice. The bridge runs use the same pinning.
#
# Load levels (ping-pong keeps one message in flight, so load = round
# trips per second):
#   light  --mps 1000
#   half   --mps = half of the rate `sockperf ping-pong --mps max` reaches
#          through Loom (tx_drain_us = 1) in 2-second calibration runs
#          (one Loom process) at the start of this run, per protocol. The same rate is asked of every
#          topology; where a topology cannot reach it (tx_drain_us = 100
#          adds ~2 x 100 us per round trip), the table shows what it did.
# One Loom process per (drain, protocol, load), so each histogram belongs
# to one load; the calibration has its own.
#
# What the two figures contain. sockperf's RTT through Loom includes, per
# direction, the af_packet RX copy into Loom's ring, the wait until the
# worker polls it, Loom's hold, and the af_packet TX. Loom's hold is
# stamped after rte_eth_tx_burst returns, and net_af_packet's TX burst
# ends in a sendto() that on a veth runs the receiving namespace's stack
# (veth backlog, IP, UDP/TCP, the wake-up of sockperf on CPU 0) inside the
# call: on a veth lab the hold is mostly kernel time, not Loom's code (see
# docs/performance.md). A PMD whose TX burst only writes descriptors would
# not have that cost in the hold.
#
# Output: a markdown table (topology, protocol, load, messages/s, sockperf
# RTT p50/p99/p99.9, Loom hold p50/p99/p99.9) and JSON to --out FILE.
# Figures, not assertions: the checks are that every run produced numbers
# and that Loom's histogram has samples; "latency: N passed, M failed".
#
# Usage: perf/latency_bench.sh [--smoke] [--seconds S] [--out FILE] [--no-tcp]
#   --smoke      1-second runs, light load only, tx_drain_us = 1 and the
#                bridge; no JSON file unless --out is given
#                (tests/run_all.sh: perf-latency-smoke)
#   --seconds S  sockperf -t per run (default 4; smoke 1)
#   --out FILE   JSON results (default perf/results/latency.json)
#   --no-tcp     UDP only
# Env: LOOM (default build/app/loom), SOCKPERF (default sockperf),
# LOOM_E2E_KEEP=1 keeps the work directory.
# Exit: 0 every run produced numbers; 1 one did not (or set-up failed);
# 2 usage; 77 skipped (not root, no sockperf). Namespaces and processes are
# removed on exit, INT and TERM. Runtime: about 100 s full, 16 s smoke.
set -u
set -o pipefail

E2E_SUITE=latency
SMOKE=0
SECONDS_RUN=
OUT_JSON=
TCP=1
usage() { sed -n '/^# Usage:/,/^# Exit:/p' "$0" | sed 's/^# \{0,1\}//' | sed '$d'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1; shift ;;
    --seconds) SECONDS_RUN=${2:?--seconds needs a value}; shift 2 ;;
    --seconds=*) SECONDS_RUN=${1#*=}; shift ;;
    --out) OUT_JSON=${2:?--out needs a file}; shift 2 ;;
    --out=*) OUT_JSON=${1#*=}; shift ;;
    --no-tcp) TCP=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "latency_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -z $SECONDS_RUN ]] && { [[ $SMOKE == 1 ]] && SECONDS_RUN=1 || SECONDS_RUN=4; }
[[ $SECONDS_RUN =~ ^[1-9][0-9]*$ ]] ||
  { echo "latency_bench: --seconds must be a positive integer, got '$SECONDS_RUN'" >&2; exit 2; }

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/../tests/e2e/lib.sh"
SELF=latency_bench
SOCKPERF=${SOCKPERF:-sockperf}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

# ---------------------------------------------------------------- preflight
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, veth, af_packet)"
command -v "$SOCKPERF" >/dev/null 2>&1 || skip "sockperf not found (apt-get install sockperf)"
e2e_preflight "$LOOM" jq ethtool sysctl taskset bridge dpdk-telemetry.py "$PY"
[[ $(nproc) -ge 2 ]] || skip "needs 2 CPUs (Loom's worker busy-polls CPU 1, sockperf runs on CPU 0)"
# This script and everything it starts (jq, python, sleep, the telemetry
# client) stay on CPU 0 with sockperf (SP_CPU), so that only the kernel competes
# with Loom's worker on CPU 1; Loom itself gets the original CPU set back.
ORIG_CPUS=$(taskset -pc $$ 2>/dev/null | sed 's/.*: *//') || ORIG_CPUS=""
if [[ -n $ORIG_CPUS ]] && taskset -pc 0 $$ >/dev/null 2>&1; then
  export E2E_LOOM_CPUS=$ORIG_CPUS
fi

# ---------------------------------------------------------------- names
e2e_names
NSC=loomC$S
BR=brlat$S
NSC_CREATED=0
UDP_PORT=11111
TCP_PORT=11112
SP_CPU=0
LIGHT_MPS=1000
RUNS_JSONL=$TMP/runs.jsonl
[[ -n $OUT_JSON || $SMOKE == 1 ]] || OUT_JSON=$ROOT/perf/results/latency.json
PROTOS=(udp)
[[ $TCP == 1 ]] && PROTOS+=(tcp)

lat_cleanup() {
  local rc=$?
  if [[ $NSC_CREATED -eq 1 ]]; then ip netns del "$NSC" 2>/dev/null; fi
  (exit "$rc")
  cleanup  # lib.sh: processes (BG_PIDS, Loom), namespaces A/B, EAL dirs, $TMP
}
trap lat_cleanup EXIT
trap 'bad "interrupted (SIGINT)"; summary; exit 130' INT
trap 'bad "terminated (SIGTERM)"; summary; exit 143' TERM

# others: busy-polling DPDK processes that are not ours (another Loom or
# testpmd pinned to the same CPUs turns every figure here into noise).
others() {
  local p found=()
  for p in $(pgrep -x loom; pgrep -x dpdk-testpmd); do
    [[ $p == "${LOOM_PID:-}" ]] || found+=("$p:$(tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | cut -c1-80)")
  done
  [[ ${#found[@]} -eq 0 ]] || printf "%s; " "${found[@]}"
}
T0=$(date +%s.%N)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
OTHERS_START=$(others)
[[ -z $OTHERS_START ]] || echo "WARNING: other DPDK pollers are running, figures will be noisy: $OTHERS_START"

# ------------------------------------------------------------ links, servers
e2e_setup_links
: >"$RUNS_JSONL"

# start_server PROTO PORT: a sockperf server in ns B on CPU 0 (BG_PIDS, so
# lib.sh's cleanup stops it).
start_server() {
  local proto=$1 port=$2 flag=()
  [[ $proto == tcp ]] && flag=(--tcp)
  ip netns exec "$NSB" taskset -c "$SP_CPU" "$SOCKPERF" server "${flag[@]}" -i "$IPB" -p "$port" \
    >"$TMP/server-$proto.log" 2>&1 &
  BG_PIDS+=($!)
  local ss_opt=-Hlun
  [[ $proto == tcp ]] && ss_opt=-Hltn
  for _ in $(seq 50); do
    ns_exec "$NSB" ss "$ss_opt" "sport = :$port" | grep -q "$IPB:$port" && return 0
    sleep 0.1
  done
  die "sockperf $proto server not listening on $IPB:$port after 5 s: $(tail -3 "$TMP/server-$proto.log")"
}
start_server udp $UDP_PORT
[[ $TCP == 1 ]] && start_server tcp $TCP_PORT

# ping_pong TAG PROTO MPS SECONDS: the client in ns A; output in $TMP/TAG.sp.
# Returns 1 when sockperf failed or printed no percentiles.
ping_pong() {
  local tag=$1 proto=$2 mps=$3 secs=$4 flag=() port=$UDP_PORT
  [[ $proto == tcp ]] && { flag=(--tcp); port=$TCP_PORT; }
  echo "   sockperf ping-pong $proto --mps $mps -t $secs ($tag)"
  # As lib.sh's fg_run (the INT/TERM traps run at once, not after the
  # client), but redirecting the client only: a redirection of the
  # function would also catch the traps' closing lines.
  timeout $((secs + 20)) ip netns exec "$NSA" taskset -c "$SP_CPU" \
    "$SOCKPERF" ping-pong "${flag[@]}" -i "$IPB" -p "$port" --mps "$mps" -t "$secs" --full-rtt \
    >"$TMP/$tag.sp" 2>&1 &
  FG_PID=$!
  wait "$FG_PID"
  local rc=$?
  FG_PID=
  if [[ $rc -ne 0 ]] || ! grep -q -- '---> percentile 99.900' "$TMP/$tag.sp"; then
    echo "   sockperf exit $rc; last lines:"
    tail -5 "$TMP/$tag.sp" | sed 's/^/     /'
    return 1
  fi
}

# sp_json FILE: sockperf's figures as JSON (RTT in us; messages per second
# over its valid window).
sp_json() {
  sed 's/\x1b\[[0-9;]*m//g' "$1" | awk '
    function v(x) { return x == "" ? "null" : x }
    /\[Valid Duration\]/ { for (i = 1; i <= NF; i++) { if ($i ~ /^RunTime=/) { sub(/RunTime=/, "", $i); rt = $i }
                                                       if ($i ~ /^ReceivedMessages=/) { sub(/ReceivedMessages=/, "", $i); rx = $i } } }
    /Total [0-9]+ observations/ { for (i = 1; i <= NF; i++) if (obs == "" && $(i+1) ~ /^observations/) obs = $i }
    /---> <MAX> observation/ { max = $NF }
    /---> <MIN> observation/ { min = $NF }
    /---> percentile 50.000/ { p50 = $NF }
    /---> percentile 99.000/ { p99 = $NF }
    /---> percentile 99.900/ { p999 = $NF }
    /---> percentile 99.990/ { p9999 = $NF }
    END {
      if (rt == "" || rt + 0 == 0 || p999 == "") exit 1
      printf "{\"observations\":%d,\"valid_s\":%s,\"mps\":%.0f,\"rtt_us\":{\"min\":%s,\"p50\":%s,\"p99\":%s,\"p999\":%s,\"p9999\":%s,\"max\":%s}}\n",
        obs, rt, rx / rt, v(min), v(p50), v(p99), p999, v(p9999), v(max)
    }'
}

# steal_ticks: hypervisor steal over all CPUs so far (USER_HZ ticks).
steal_ticks() { awk '/^cpu / { print $9; exit }' /proc/stat; }

# worker_sched: "run-queue wait ns, involuntary switches" of Loom's worker
# thread (rte-worker-1): how long it was runnable but not running.
worker_sched() {
  local t
  for t in /proc/"$LOOM_PID"/task/*; do
    [[ $(cat "$t/comm" 2>/dev/null) == rte-worker-1 ]] || continue
    echo "$(awk '{ print $2 }' "$t/schedstat") $(awk '/^nonvoluntary_ctxt_switches/ { print $2 }' "$t/status")"
    return
  done
  echo "0 0"
}

# loom_toml DEST PREFIX DRAIN: the lab file with this run's names, the
# drain timer and the latency histogram on.
loom_toml() {
  local dest=$1 prefix=$2 drain=$3
  e2e_lab_toml "$dest" "$prefix"
  sed -i -e "s/^tx_drain_us *=.*/tx_drain_us = $drain/" -e 's/^\[worker\]$/[worker]\nlatency = true/' "$dest"
  if ! grep -q "^tx_drain_us = $drain$" "$dest" || ! grep -q '^latency = true$' "$dest"; then
    die "could not set tx_drain_us/latency in $dest"
  fi
  e2e_check_config "$dest"
}

# loom_run TAG DRAIN PROTO LOAD MPS: one Loom process, one sockperf run;
# records a JSON line.
RUN_NO=0
loom_run() {
  local tag=$1 drain=$2 proto=$3 load=$4 mps=$5 secs=$SECONDS_RUN
  RUN_NO=$((RUN_NO + 1))
  local prefix=$PREFIX-$RUN_NO out=$TMP/out-$tag toml=$TMP/$tag.toml
  echo "== Loom, tx_drain_us = $drain, $proto, $load"
  mkdir -p "$out"
  loom_toml "$toml" "$prefix" "$drain"
  LOOM_LOG=$TMP/$tag.loom.log
  E2E_SOFT_START=1 E2E_CONTEXT=$tag e2e_start_loom "$toml" "$out" "$prefix" || return 1
  local sp_ok=1
  local st0 ws0 st1 ws1 oth
  oth=$(others)
  [[ -z $oth ]] || echo "   WARNING: other DPDK pollers running: $oth"
  st0=$(steal_ticks)
  ws0=$(worker_sched)
  ping_pong "$tag" "$proto" "$mps" "$secs" || sp_ok=0
  ws1=$(worker_sched)
  st1=$(steal_ticks)
  [[ -n $oth ]] || oth=$(others)
  local wait_ms preempt steal_ms
  wait_ms=$(awk -v a="${ws0% *}" -v b="${ws1% *}" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
  preempt=$(( ${ws1#* } - ${ws0#* } ))
  steal_ms=$(( (st1 - st0) * 1000 / $(getconf CLK_TCK) ))
  echo "   Loom worker: ${wait_ms} ms runnable but not running, $preempt preemptions; steal ${steal_ms} ms"
  if ! e2e_stop_loom; then
    show_logs
    [[ -n $LOOM_PID ]] && stop_pid "$LOOM_PID" 10
    LOOM_PID=
  fi
  rm -rf "/var/run/dpdk/$prefix"
  local sp hold tx
  if [[ $sp_ok == 1 ]] && sp=$(sp_json "$TMP/$tag.sp"); then
    ok "$tag: sockperf RTT p50/p99/p99.9 $(jq -r '.rtt_us | "\(.p50)/\(.p99)/\(.p999)"' <<<"$sp") us"
  else
    bad "$tag: sockperf produced no percentiles"
    sp=null
  fi
  hold=$(jq -c '.totals.latency // empty' "$out/stats.json" 2>/dev/null)
  tx=$(jq -r '.totals.tx_packets // empty' "$out/stats.json" 2>/dev/null)
  if [[ -n $hold ]] && [[ $(jq -r '.samples' <<<"$hold") -gt 0 ]]; then
    ok "$tag: Loom hold samples $(jq -r .samples <<<"$hold") (tx_packets $tx), p50/p99/p99.9 $(jq -r '"\(.p50_ns)/\(.p99_ns)/\(.p999_ns)"' <<<"$hold") ns"
    # Every frame the PMD took was offered to it first, and stamped then.
    if [[ $(jq -r '(.pre_tx_samples >= .samples) and (.pre_tx_p50_ns <= .p50_ns)' <<<"$hold") == true ]]; then
      ok "$tag: Loom before TX samples $(jq -r .pre_tx_samples <<<"$hold"), p50/p99/p99.9 $(jq -r '"\(.pre_tx_p50_ns)/\(.pre_tx_p99_ns)/\(.pre_tx_p999_ns)"' <<<"$hold") ns (<= the hold)"
    else
      bad "$tag: before-TX histogram disagrees with the hold: $hold"
    fi
  else
    bad "$tag: no totals.latency samples in $out/stats.json"
    show_logs
    hold=null
  fi
  jq -nc --arg tag "$tag" --argjson drain "$drain" --arg proto "$proto" --arg load "$load" \
    --argjson wait "$wait_ms" --argjson preempt "$preempt" --argjson steal "$steal_ms" --arg oth "$oth" \
    --arg mps "$mps" --argjson sp "$sp" --argjson hold "$hold" --arg tx "${tx:-}" \
    '{topology: "loom", tx_drain_us: $drain, proto: $proto, load: $load,
      mps_asked: (if $mps == "max" then $mps else ($mps | tonumber) end),
      sockperf: $sp, loom_hold_ns: $hold, loom_tx_packets: (if $tx == "" then null else ($tx | tonumber) end),
      worker_runq_wait_ms: $wait, worker_preemptions: $preempt, steal_ms: $steal,
      other_dpdk_pollers: $oth, tag: $tag}' \
    >>"$RUNS_JSONL"
}

# bridge_run TAG PROTO LOAD MPS
bridge_run() {
  local tag=$1 proto=$2 load=$3 mps=$4 sp st0 steal_ms oth
  echo "== bridge, $proto, $load"
  oth=$(others)
  [[ -z $oth ]] || echo "   WARNING: other DPDK pollers running: $oth"
  st0=$(steal_ticks)
  if ping_pong "$tag" "$proto" "$mps" "$SECONDS_RUN" && sp=$(sp_json "$TMP/$tag.sp"); then
    ok "$tag: sockperf RTT p50/p99/p99.9 $(jq -r '.rtt_us | "\(.p50)/\(.p99)/\(.p999)"' <<<"$sp") us"
  else
    bad "$tag: sockperf produced no percentiles"
    sp=null
  fi
  steal_ms=$(( ($(steal_ticks) - st0) * 1000 / $(getconf CLK_TCK) ))
  [[ -n $oth ]] || oth=$(others)
  jq -nc --arg tag "$tag" --arg proto "$proto" --arg load "$load" --argjson mps "$mps" --argjson sp "$sp" \
    --argjson steal "$steal_ms" --arg oth "$oth" \
    '{topology: "bridge", tx_drain_us: null, proto: $proto, load: $load, mps_asked: $mps,
      sockperf: $sp, loom_hold_ns: null, loom_tx_packets: null, steal_ms: $steal,
      other_dpdk_pollers: $oth, tag: $tag}' >>"$RUNS_JSONL"
}

# calibrate: the most round trips per second through Loom (tx_drain_us =
# 1), 2 s per protocol, in one Loom process of its own; HALF[proto] = half.
calibrate() {
  local prefix=$PREFIX-calib out=$TMP/out-calib toml=$TMP/calib.toml proto sp mps
  echo "== calibration: Loom, tx_drain_us = 1, sockperf --mps max"
  mkdir -p "$out"
  loom_toml "$toml" "$prefix" 1
  LOOM_LOG=$TMP/calib.loom.log
  local started=0
  E2E_SOFT_START=1 E2E_CONTEXT=calibration e2e_start_loom "$toml" "$out" "$prefix" && started=1
  for proto in "${PROTOS[@]}"; do
    mps=
    if [[ $started == 1 ]] && ping_pong "calib-$proto" "$proto" max 2 && sp=$(sp_json "$TMP/calib-$proto.sp"); then
      mps=$(jq -r '.mps' <<<"$sp")
      jq -nc --arg tag "calib-$proto" --arg proto "$proto" --argjson sp "$sp" \
        '{topology: "loom", tx_drain_us: 1, proto: $proto, load: "max", mps_asked: "max",
          sockperf: $sp, loom_hold_ns: null, loom_tx_packets: null, tag: $tag}' >>"$RUNS_JSONL"
    fi
    if [[ -n $mps ]] && ((mps > 2 * LIGHT_MPS)); then
      ok "calibration ($proto): max $mps msg/s through Loom"
      HALF[$proto]=$((mps / 2))
    else
      bad "calibration ($proto): max rate '${mps:-none}' not above $((2 * LIGHT_MPS)) msg/s; half load = $((2 * LIGHT_MPS))"
      HALF[$proto]=$((2 * LIGHT_MPS))
    fi
    echo "   half load ($proto): --mps ${HALF[$proto]}"
  done
  if [[ $started == 1 ]] && ! e2e_stop_loom; then
    [[ -n $LOOM_PID ]] && stop_pid "$LOOM_PID" 10
    LOOM_PID=
  fi
  rm -rf "/var/run/dpdk/$prefix"
}

# ------------------------------------------------------------ A) Loom
declare -A HALF
if [[ $SMOKE == 1 ]]; then
  DRAINS=(1)
  LOADS=(light)
else
  DRAINS=(1 100)
  LOADS=(light half)
  calibrate
fi
mps_of() { [[ $1 == light ]] && echo "$LIGHT_MPS" || echo "${HALF[$2]}"; }

for drain in "${DRAINS[@]}"; do
  for proto in "${PROTOS[@]}"; do
    for load in "${LOADS[@]}"; do
      loom_run "loom-d$drain-$proto-$load" "$drain" "$proto" "$load" "$(mps_of "$load" "$proto")"
    done
  done
done

# ------------------------------------------------------------ B) bridge
echo "== set-up: bridge $BR in netns $NSC joining $IFAD and $IFBD"
ip netns add "$NSC" || die "cannot create netns $NSC"
NSC_CREATED=1
ns_exec "$NSC" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip link set "$IFAD" netns "$NSC" || die "cannot move $IFAD to $NSC"
ip link set "$IFBD" netns "$NSC" || die "cannot move $IFBD to $NSC"
ip -n "$NSC" link add "$BR" type bridge stp_state 0 forward_delay 0 || die "cannot create bridge $BR"
ip -n "$NSC" link set "$IFAD" master "$BR" || die "cannot enslave $IFAD"
ip -n "$NSC" link set "$IFBD" master "$BR" || die "cannot enslave $IFBD"
for l in "$BR" "$IFAD" "$IFBD" lo; do ip -n "$NSC" link set "$l" up || die "cannot bring $l up"; done
fwd=0
for _ in $(seq 50); do
  [[ $(bridge -n "$NSC" link show | grep -c 'state forwarding') -eq 2 ]] && { fwd=1; break; }
  sleep 0.1
done
[[ $fwd == 1 ]] || die "bridge ports not forwarding after 5 s: $(bridge -n "$NSC" link show)"
for proto in "${PROTOS[@]}"; do
  for load in "${LOADS[@]}"; do
    bridge_run "bridge-$proto-$load" "$proto" "$load" "$(mps_of "$load" "$proto")"
  done
done

# ------------------------------------------------------------ report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
OTHERS_END=$(others)
[[ -z $OTHERS_END ]] || echo "WARNING: other DPDK pollers were running at the end: $OTHERS_END"
WALL=$(elapsed "$T0")
[[ -z $OUT_JSON ]] || mkdir -p "$(dirname "$OUT_JSON")"
GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$ROOT" diff --quiet HEAD -- lib app 2>/dev/null || GIT_REV="$GIT_REV+dirty(lib/app)"
REPRO="perf/latency_bench.sh"
[[ $SMOKE == 1 ]] && REPRO+=" --smoke"
[[ $SMOKE == 0 && $SECONDS_RUN != 4 ]] && REPRO+=" --seconds $SECONDS_RUN"
[[ $TCP == 0 ]] && REPRO+=" --no-tcp"
LB_MODE=full
[[ $SMOKE == 1 ]] && LB_MODE=smoke
LB_LOOM_SHA=$(sha256sum "$LOOM" | cut -c1-12)
LB_CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
LB_SOCKPERF=$("$SOCKPERF" --version 2>&1 | sed -n 's/^sockperf, version //p' | head -1)
LB_NCPU=$(nproc --all)  # the script itself is pinned to one
LB_KERNEL=$(uname -r)
export LB_OTHERS="$OTHERS_START$OTHERS_END" LB_MODE LB_SECONDS=$SECONDS_RUN LB_LOAD_START="$LOAD_START" LB_LOAD_END="$LOAD_END" \
  LB_WALL="$WALL" LB_GIT="$GIT_REV" LB_LOOM_SHA LB_CPU LB_NCPU LB_SOCKPERF LB_KERNEL \
  LB_LIGHT=$LIGHT_MPS LB_REPRO="$REPRO"
"$PY" - "$RUNS_JSONL" "$OUT_JSON" <<'PY' || bad "report failed"
import datetime, json, os, sys
E = os.environ
runs = [json.loads(l) for l in open(sys.argv[1])]
calib = {r["proto"]: (r["sockperf"] or {}).get("mps") for r in runs if r["tag"].startswith("calib-")}
doc = {
    "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "mode": E["LB_MODE"], "seconds_per_run": int(E["LB_SECONDS"]),
    "machine": {"cpu": E["LB_CPU"], "cpus": int(E["LB_NCPU"]), "kernel": E["LB_KERNEL"],
                "loadavg_start": E["LB_LOAD_START"], "loadavg_end": E["LB_LOAD_END"],
                "other_dpdk_pollers": E["LB_OTHERS"]},
    "loom": {"git": E["LB_GIT"], "binary_sha256_12": E["LB_LOOM_SHA"]},
    "sockperf": {"version": E["LB_SOCKPERF"], "mode": "ping-pong --full-rtt", "msg_size": 14,
                 "cpu": 0},
    "loads": {"light_mps": int(E["LB_LIGHT"]),
              "half_mps": {r["proto"]: r["mps_asked"] for r in runs if r["load"] == "half"},
              "max_mps_through_loom": calib},
    "wall_s": float(E["LB_WALL"]),
    "runs": runs,
}
if sys.argv[2]:
    json.dump(doc, open(sys.argv[2], "w"), indent=1)

def us(ns): return f"{ns / 1000:.1f}"
out = ["| topology | proto | load | msg/s asked / done | RTT p50 µs | RTT p99 µs | RTT p99.9 µs "
       "| Loom hold p50 µs | hold p99 µs | hold p99.9 µs | hold samples "
       "| before TX p50 µs | before TX p99 µs | before TX p99.9 µs | worker runnable, not running | steal |",
       "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in runs:
    if r["tag"].startswith("calib-"): continue
    topo = f"Loom, tx_drain_us = {r['tx_drain_us']}" if r["topology"] == "loom" else "Linux bridge"
    sp, h = r["sockperf"], r["loom_hold_ns"]
    rtt = [("n/a" if sp["rtt_us"][k] is None else f"{sp['rtt_us'][k]:.1f}") for k in ("p50", "p99", "p999")] \
        if sp else ["n/a"] * 3
    done = f"{sp['mps']:,}" if sp else "n/a"
    hold = [us(h[k]) for k in ("p50_ns", "p99_ns", "p999_ns")] + [f"{h['samples']:,}"] \
        + [us(h[k]) if k in h else "n/a" for k in ("pre_tx_p50_ns", "pre_tx_p99_ns", "pre_tx_p999_ns")] if h else \
        (["n/a"] * 7 if r["topology"] == "loom" else ["–"] * 7)
    if r["topology"] == "loom":
        wait = f"{r['worker_runq_wait_ms']:.1f} ms ({r['worker_preemptions']}x)"
    else:
        wait = "–"
    if r.get("other_dpdk_pollers"): topo += " (other DPDK poller running!)"
    out.append(f"| {topo} | {r['proto'].upper()} | {r['load']} | {r['mps_asked']:,} / {done} | "
               + " | ".join(rtt + hold + [wait, f"{r['steal_ms']} ms"]) + " |")
print("\n" + "\n".join(out) + "\n")
# The issue's target: added relay latency p99.9 < 10 us at half load. Judged
# on Loom's own share (RX to the tx_burst call) and on the whole hold.
for r in runs:
    h = r["loom_hold_ns"]
    if r["topology"] != "loom" or r["load"] != "half" or not h or "pre_tx_p999_ns" not in h:
        continue
    own, whole = h["pre_tx_p999_ns"], h["p999_ns"]
    print(f"Target, {r['proto'].upper()} half load: relay latency p99.9 < 10 µs: RX to the tx_burst call "
          f"{us(own)} µs: **{'MET' if own < 10000 else 'MISSED'}**; RX to tx_burst's return (with "
          f"af_packet's sendto) {us(whole)} µs: **{'MET' if whole < 10000 else 'MISSED'}**.")
print()
if calib:
    print("Half load = half of the max ping-pong rate through Loom (tx_drain_us = 1) in this run: "
          + ", ".join(f"{p.upper()} {m:,} msg/s" for p, m in calib.items() if m) + ".")
print(f"Machine: {E['LB_CPU']} ({E['LB_NCPU']} CPUs), kernel {E['LB_KERNEL']}; load average "
      f"{E['LB_LOAD_START']} at start, {E['LB_LOAD_END']} at end; {float(E['LB_WALL']):.0f} s in all. "
      f"Loom git {E['LB_GIT']}, binary sha256 {E['LB_LOOM_SHA']}; sockperf {E['LB_SOCKPERF']}.")
if E["LB_OTHERS"]:
    print(f"**Other DPDK pollers ran during this run** ({E['LB_OTHERS'].strip()}): the figures are noise.")
print(f"Reproduce: `{E['LB_REPRO']}`; JSON: {sys.argv[2] or 'not written (--smoke without --out)'}")
PY
[[ $FAIL -gt 0 ]] && echo "work directory: $TMP (LOOM_E2E_KEEP=1 keeps it)"
summary
[[ $FAIL -eq 0 ]]
