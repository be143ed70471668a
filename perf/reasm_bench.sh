#!/usr/bin/env bash
# perf/reasm_bench.sh: Loom offline throughput with and without inspection
# (parse + flow table + TCP reassembly + per-stream SHA-256), on synthetic
# HTTP/1.x-over-TCP captures whose exact ground truth is known.
#
# Builds nothing. Takes the generator from ${GEN:-build/perf/gen/loom_gen}
# and Loom from ${LOOM:-build/app/loom} (relative paths: from the current
# directory if they exist there, else from the source tree).
#
# What it does:
#   1. Calibrates the number of connections so that a capture holds about
#      PACKETS packets (one small generator run), then generates two captures
#      with the same seed: 0% and OFO_PCT% (default 5%) of the data segments
#      swapped with the next one of the same direction. Same seed, so both
#      carry the same connections and the same stream bytes.
#   2. For each capture: one untimed warm-up run with inspection on (it also
#      reads bytes_per_flow from Loom's telemetry, /loom/flows, while the run
#      is in progress), then RUNS rounds of
#        a) inspect = false: RX baseline (net_pcap read, mbuf handling, no parsing)
#        b) inspect = true:  parse + flow table + reassembly + stream SHA-256
#      each `loom --pcap CAP --out DIR --config CFG`, CFG being a copy of
#      drivers_cfg/pcap-offline.toml with worker.inspect set and [http]
#      enabled = false (HTTP is priced by perf/peers_bench.sh).
#   3. Prints a markdown table: median of run.json wall_seconds (min..max),
#      Mpps = packets / wall, Gbit/s = frame bytes * 8 / wall, connections/s
#      = connections / wall (the flow set-up rate; inspect runs only), and
#      whether every run's counts equal the generator's ground truth:
#      stats.json totals.rx_packets and rx_bytes (both modes), and with
#      inspection totals.flows.inserts = connections, the sums of
#      streams.jsonl bytes for c2s and s2c = stream_bytes_c2s/_s2c, no gaps,
#      and every stream's bytes and SHA-256 equal the generator's (--streams).
#
# Usage: perf/reasm_bench.sh [--md FILE] [--keep]
#   PACKETS=20000 perf/reasm_bench.sh          # CI smoke run (well under a minute)
# Environment: PACKETS (300000), RUNS (3), SEED (1), PAIRS (5), OFO_PCT (5),
#   DUP_PCT (0), GEN, LOOM, PYTHON.
# Exit status: 0 every count equals the truth; 1 a count differs or a run
# failed; 2 usage.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: perf/reasm_bench.sh [options]
      --md FILE   also write the table and context as markdown to FILE
      --keep      keep the work directory (captures, truths, Loom outputs)
  -h, --help      this text
Environment: PACKETS (300000) packets per capture, RUNS (3) timed runs per
capture and mode, SEED (1), PAIRS (5) exchanges per connection, OFO_PCT (5),
DUP_PCT (0), GEN (build/perf/gen/loom_gen), LOOM (build/app/loom).
EOF
}

MD=""
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --md) MD=${2:?--md needs a file}; shift 2 ;;
    --md=*) MD=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "reasm_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

PACKETS=${PACKETS:-300000}
RUNS=${RUNS:-3}
SEED=${SEED:-1}
PAIRS=${PAIRS:-5}
OFO_PCT=${OFO_PCT:-5}
DUP_PCT=${DUP_PCT:-0}
[[ "$PACKETS" =~ ^[1-9][0-9]*$ ]] || { echo "reasm_bench: PACKETS must be a positive integer, got '$PACKETS'" >&2; exit 2; }
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "reasm_bench: RUNS must be a positive integer, got '$RUNS'" >&2; exit 2; }
[[ "$SEED" =~ ^[0-9]+$ ]] || { echo "reasm_bench: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; }
[[ "$PAIRS" =~ ^[1-9][0-9]*$ ]] || { echo "reasm_bench: PAIRS must be a positive integer, got '$PAIRS'" >&2; exit 2; }
for v in OFO_PCT DUP_PCT; do
  [[ "${!v}" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "reasm_bench: $v must be a percentage, got '${!v}'" >&2; exit 2; }
done

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=perf/common.sh
. "$HERE/common.sh"
GEN=$(resolve "${GEN:-build/perf/gen/loom_gen}")
LOOM=$(resolve "${LOOM:-build/app/loom}")
BASE_CFG=$ROOT/drivers_cfg/pcap-offline.toml
pick_python
[ -x "$GEN" ] || { echo "reasm_bench: generator $GEN not found or not executable (build first, or set GEN)" >&2; exit 1; }
[ -x "$LOOM" ] || { echo "reasm_bench: $LOOM not found or not executable (build first, or set LOOM)" >&2; exit 1; }
[ -r "$BASE_CFG" ] || { echo "reasm_bench: $BASE_CFG not readable" >&2; exit 1; }
# EAL's runtime directory (telemetry sockets): /var/run/dpdk for root.
if [ "$(id -u)" = 0 ]; then RUNDIR=/var/run/dpdk; else RUNDIR=${XDG_RUNTIME_DIR:-/tmp}/dpdk; fi

WORK=$(mktemp -d /tmp/reasm_bench.XXXXXX)
LOOM_PID=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$LOOM_PID" ] && kill -0 "$LOOM_PID" 2>/dev/null; then
    kill -INT "$LOOM_PID" 2>/dev/null || true
    wait "$LOOM_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "reasm_bench: work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "reasm_bench: $*" >&2; }
now() { date +%s.%N; }

# key value from a truth file

# ---- configs: the stock offline file with worker.inspect forced, and HTTP
# off: this bench prices reassembly and its fingerprints (HTTP framing and
# its outputs are perf/peers_bench.sh's and perf/pipeline's, which check
# the message counts).
mkcfg() {
  local val=$1 out=$2
  sed -E "s/^([[:space:]]*inspect[[:space:]]*=[[:space:]]*)(true|false)/\\1$val/" "$BASE_CFG" > "$out"
  grep -Eq "^[[:space:]]*inspect[[:space:]]*=[[:space:]]*$val" "$out" ||
    { log "could not set inspect = $val in a copy of $BASE_CFG"; exit 1; }
  printf '\n[http]\nenabled = false\n' >> "$out"
}
mkcfg false "$WORK/rx.toml"
mkcfg true "$WORK/inspect.toml"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---- captures
gen_opts() {  # FLOWS OFO
  echo "--flows $1 --pairs $PAIRS --ofo-pct $2 --dup-pct $DUP_PCT --seed $SEED"
}
# shellcheck disable=SC2046
read -r FLOWS CAL_FLOWS CAL_PKTS < <(calibrate_flows "$GEN" "$PACKETS" "$WORK" \
  --pairs "$PAIRS" --ofo-pct 0 --dup-pct "$DUP_PCT" --seed "$SEED") ||
  { log "generator failed: $GEN"; exit 1; }
[ -n "${FLOWS:-}" ] || { log "generator failed: $GEN"; exit 1; }
log "$CAL_PKTS packets for $CAL_FLOWS connections: $FLOWS connections for ~$PACKETS packets"

CAPS=(cap0 cap1)
declare -A CAP_OFO=([cap0]=0 [cap1]=$OFO_PCT)
declare -A GEN_S
for cap in "${CAPS[@]}"; do
  t0=$(now)
  # shellcheck disable=SC2046
  "$GEN" $(gen_opts "$FLOWS" "${CAP_OFO[$cap]}") --out "$WORK/$cap.pcap" --streams "$WORK/$cap.streams" \
    > "$WORK/$cap.truth" 2> "$WORK/$cap.genlog" ||
    { log "generator failed: $(cat "$WORK/$cap.genlog")"; exit 1; }
  GEN_S[$cap]=$(awk -v a="$(now)" -v b="$t0" 'BEGIN { printf "%.3f", a - b }')
  log "generated $cap: $(truth "$WORK/$cap.truth" packets) packets in $(printf '%.2f' "${GEN_S[$cap]}") s"
done

# ---- runs
# run_loom CAP MODE TAG: one offline run, output in $WORK/out/CAP-MODE-TAG.
run_loom() {
  local cap=$1 mode=$2 dir="$WORK/out/$1-$2-$3"
  mkdir -p "$WORK/out"
  "$LOOM" --pcap "$WORK/$cap.pcap" --out "$dir" --config "$WORK/$mode.toml" > "$dir.log" 2>&1 &
  LOOM_PID=$!
  local rc=0
  wait "$LOOM_PID" || rc=$?
  LOOM_PID=""
  if [ "$rc" != 0 ] || [ ! -r "$dir/run.json" ] || [ ! -r "$dir/stats.json" ]; then
    log "loom failed (exit $rc) on $cap, $mode; last lines of its log:"
    tail -n 20 "$dir.log" >&2 || true
    exit 1
  fi
}

# Warm-up run with inspection on that also asks the running Loom for
# /loom/flows (bytes_per_flow, capacity). Offline runs use the EAL file
# prefix loom-offline-<pid>; a short run may end before the telemetry
# socket answers, in which case the probe gives up quietly.
probe_run() {
  local cap=$1 dir="$WORK/out/$1-inspect-warmup"
  mkdir -p "$WORK/out"
  "$PYTHON" - "$LOOM" "$WORK/$cap.pcap" "$dir" "$WORK/inspect.toml" "$RUNDIR" "$WORK/telemetry.json" \
    > "$dir.log" 2>&1 <<'PY' &
import json, os, socket, subprocess, sys, time
loom, pcap, out, cfg, rundir, res_file = sys.argv[1:7]
p = subprocess.Popen([loom, "--pcap", pcap, "--out", out, "--config", cfg])
path = f"{rundir}/loom-offline-{p.pid}/dpdk_telemetry.v2"
res = None
while p.poll() is None and res is None:
    if os.path.exists(path):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            s.settimeout(1.0)
            s.connect(path)
            info = json.loads(s.recv(4096))
            s.send(b"/loom/flows")
            v = json.loads(s.recv(int(info.get("max_output_len", 16384)))).get("/loom/flows")
            s.close()
            if isinstance(v, dict) and "bytes_per_flow" in v:
                res = v
        except (OSError, ValueError):
            pass
    time.sleep(0.005)
rc = p.wait()
if res is not None and not os.path.exists(res_file):
    json.dump(res, open(res_file, "w"))
sys.exit(rc)
PY
  LOOM_PID=$!
  local rc=0
  wait "$LOOM_PID" || rc=$?
  LOOM_PID=""
  if [ "$rc" != 0 ]; then
    log "loom warm-up run failed (exit $rc) on $cap; last lines of its log:"
    tail -n 20 "$dir.log" >&2 || true
    exit 1
  fi
}

for cap in "${CAPS[@]}"; do
  log "$cap: warm-up run (inspect, untimed, telemetry probe)"
  probe_run "$cap"
  for r in $(seq "$RUNS"); do
    log "$cap: round $r/$RUNS: inspect = false, inspect = true"
    run_loom "$cap" rx "$r"
    run_loom "$cap" inspect "$r"
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
NCPU=$(nproc 2>/dev/null || echo '?')
GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
LOOM_SHA=$(sha256sum "$LOOM" | cut -c1-16)
GEN_SHA=$(sha256sum "$GEN" | cut -c1-16)
rel() { case "$1" in "$ROOT"/*) echo "${1#"$ROOT"/}" ;; *) echo "$1" ;; esac; }
GEN_REL=$(rel "$GEN")
LOOM_REL=$(rel "$LOOM")

export RB_WORK="$WORK" RB_RUNS="$RUNS" RB_CAPS="${CAPS[*]}" RB_FLOWS="$FLOWS" RB_PAIRS="$PAIRS" \
  RB_SEED="$SEED" RB_DUP="$DUP_PCT" RB_GEN="$GEN_REL" RB_LOOM="$LOOM_REL" \
  RB_CPU="$CPU_MODEL" RB_NCPU="$NCPU" RB_LOAD_START="$LOAD_START" RB_LOAD_END="$LOAD_END" \
  RB_DATE="$DATE" RB_GIT="$GIT_REV" RB_LOOM_SHA="$LOOM_SHA" RB_GEN_SHA="$GEN_SHA" \
  RB_PACKETS="$PACKETS" RB_OFO="$OFO_PCT"
for cap in "${CAPS[@]}"; do export "RB_GEN_S_$cap=${GEN_S[$cap]}" "RB_OFO_$cap=${CAP_OFO[$cap]}"; done

"$PYTHON" - "$MD" <<'PY'
import json, os, statistics, sys
E = os.environ
W = E["RB_WORK"]
md_file = sys.argv[1]
runs = int(E["RB_RUNS"])
caps = E["RB_CAPS"].split()

def truth(cap):
    t = {}
    for line in open(f"{W}/{cap}.truth"):
        k, _, v = line.strip().partition(" ")
        if v.isdigit():
            t[k] = int(v)
    return t

def load(cap, mode, tag):
    d = f"{W}/out/{cap}-{mode}-{tag}"
    r = {"run": json.load(open(f"{d}/run.json")), "stats": json.load(open(f"{d}/stats.json"))}
    c2s = s2c = gaps = n = 0
    seen = {}
    if os.path.exists(f"{d}/streams.jsonl"):
        for line in open(f"{d}/streams.jsonl"):
            s = json.loads(line)
            n += 1
            seen[(s["src"], s["dst"], s["dir"])] = (s["bytes"], s["sha256"])
            gaps += s.get("gaps", 0)
            if s["dir"] == "c2s":
                c2s += s["bytes"]
            else:
                s2c += s["bytes"]
    r.update(c2s=c2s, s2c=s2c, stream_gaps=gaps, records=n, seen=seen)
    return r

def truth_streams(cap):
    """The generator's 'src dst dir bytes sha256' lines."""
    m = {}
    for line in open(f"{W}/{cap}.streams"):
        a, b, d, n, h = line.split()
        m[(a, b, d)] = (int(n), h)
    return m

def check(t, r, inspect, ts=None):
    """List of mismatches between one run and the truth."""
    st = r["stats"]["totals"]
    bad = []
    def eq(name, got, want):
        if got != want:
            bad.append(f"{name} {got} != {want}")
    eq("rx_packets", st["rx_packets"], t["packets"])
    eq("rx_bytes", st["rx_bytes"], t["frame_bytes"])
    if r["run"].get("end") != "capture-end":
        bad.append(f"end {r['run'].get('end')}")
    if inspect:
        eq("connections", st["flows"]["inserts"], t["connections"])
        eq("c2s bytes", r["c2s"], t["stream_bytes_c2s"])
        eq("s2c bytes", r["s2c"], t["stream_bytes_s2c"])
        eq("stream records", r["records"], 2 * t["connections"])
        eq("gaps", r["stream_gaps"] + st["reasm"]["gaps"], 0)
        differ = sum(1 for k, v in ts.items() if r["seen"].get(k) != v)
        eq("streams differing in bytes or sha256", differ, 0)
    return bad

rows, notes, passed, failed = [], [], 0, 0
hdr = ("| capture | mode | packets | median wall s (min..max) | Mpps | Gbit/s | connections/s "
       "| counts = truth |")
rows += [hdr, "|---|---|---:|---:|---:|---:|---:|---|"]
detail = {}
shortest = float("inf")
for cap in caps:
    t = truth(cap)
    ts = truth_streams(cap)
    ofo = E[f"RB_OFO_{cap}"]
    label = f"{ofo}% OFO"
    for mode, mlabel in (("rx", "RX baseline (inspect = false)"),
                         ("inspect", "inspect (parse + flows + reasm + SHA-256)")):
        rs = [load(cap, mode, i) for i in range(1, runs + 1)]
        walls = [r["run"]["wall_seconds"] for r in rs]
        w = statistics.median(walls)
        bad = sorted({b for r in rs for b in check(t, r, mode == "inspect", ts)})
        if bad:
            failed += 1
            verdict = "**NO**: " + "; ".join(bad)
        else:
            passed += 1
            verdict = ("yes (packets, frame bytes)" if mode == "rx" else
                       "yes (packets, bytes, connections, c2s/s2c bytes, 0 gaps, every stream's SHA-256)")
        rng = f" ({min(walls):.3f}..{max(walls):.3f})" if runs > 1 else ""
        cps = f"{t['connections'] / w:,.0f}" if mode == "inspect" else "n/a"
        shortest = min(shortest, w)
        rows.append(f"| {label} | {mlabel} | {t['packets']:,} | {w:.3f}{rng} "
                    f"| {t['packets'] / w / 1e6:.2f} | {t['frame_bytes'] * 8 / w / 1e9:.2f} "
                    f"| {cps} | {verdict} |")
        if mode == "inspect":
            detail[cap] = rs[0]["stats"]["totals"]["reasm"]

lines = []
for cap in caps:
    t = truth(cap)
    ofo = E[f"RB_OFO_{cap}"]
    gs = float(E[f"RB_GEN_S_{cap}"])
    ra = detail[cap]
    lines.append(
        f"- {ofo}% OFO capture: {t['packets']:,} packets, {t['bytes']:,} file bytes "
        f"({t['frame_bytes'] / t['packets']:.0f} B/frame), {t['connections']:,} connections, "
        f"{t['requests']:,} requests / {t['responses']:,} responses, stream bytes c2s "
        f"{t['stream_bytes_c2s']:,} / s2c {t['stream_bytes_s2c']:,}, {t['ofo_swaps']:,} swaps, "
        f"{t['duplicates']:,} duplicates; generated in {gs:.2f} s "
        f"({t['packets'] / gs / 1e6:.2f} Mpps, incl. writing and per-stream SHA-256). "
        f"Loom reasm: ofo_queued "
        f"{ra['ofo_queued']:,}, retransmits {ra['retransmits']:,}, bytes_delivered "
        f"{ra['bytes_delivered']:,}, ofo_dropped {ra['ofo_dropped']}, overlap_conflicts "
        f"{ra['overlap_conflicts']}. OFO memory at its peak (one worker): "
        f"{ra.get('ofo_mbufs_peak', 0):,} mbufs held, {ra.get('ofo_bytes_peak', 0):,} payload bytes, "
        f"{ra.get('ofo_mem_peak', 0):,} mbuf buffer bytes (what reassembly.memcap_mb limits).")

tel = None
try:
    tel = json.load(open(f"{W}/telemetry.json"))
except (OSError, ValueError):
    pass
if tel:
    state = (f"- State per flow: {tel['bytes_per_flow']} B per tracked connection: flow record, "
             f"index and connection record, with stream fingerprints when streams.jsonl is "
             f"written (bytes_per_flow from "
             f"telemetry /loom/flows, read during the warm-up run; table capacity "
             f"{tel.get('capacity', '?'):,} per worker)"
             + (f"; {tel['bytes_per_http_conn']} B more per framed HTTP connection."
                if 'bytes_per_http_conn' in tel else "; no HTTP state: [http] enabled = false."))
else:
    state = ("- State per flow: 268 B per tracked connection (flow record, index, connection "
             "record), 540 with stream fingerprints, 316 more per HTTP state (telemetry not "
             "reachable during the run; fixed text: docs/architecture.md, Bytes per flow).")

gen, loom = E["RB_GEN"], E["RB_LOOM"]
base = f"--flows {E['RB_FLOWS']} --pairs {E['RB_PAIRS']} --dup-pct {E['RB_DUP']} --seed {E['RB_SEED']}"
repro = [f"`PACKETS={E['RB_PACKETS']} RUNS={runs} perf/reasm_bench.sh` (from the source tree), i.e.:"]
for cap in caps:
    repro.append(f"  - `{gen} {base} --ofo-pct {E[f'RB_OFO_{cap}']} --out ofo{E[f'RB_OFO_{cap}']}.pcap`")
repro.append(f"  - `{loom} --pcap CAP.pcap --out DIR --config CFG`, CFG = drivers_cfg/pcap-offline.toml "
             "with `inspect = false` (RX baseline) or `inspect = true`, and `[http] enabled = false`; wall = DIR/run.json "
             "wall_seconds; counts from DIR/stats.json and DIR/streams.jsonl.")
ctx = [
    state,
    *lines,
    f"- Each cell: median of {runs} runs (RX and inspect alternate), after one untimed warm-up run "
    "per capture; capture files in the page cache. Mpps = packets / wall; Gbit/s = frame bytes "
    "x 8 / wall; connections/s = connections / wall (flow set-up rate; inspect only).",
    f"- CPU: {E['RB_CPU']} ({E['RB_NCPU']} CPUs, shared); load average at start "
    f"{E['RB_LOAD_START']}, at end {E['RB_LOAD_END']}. Date: {E['RB_DATE']}.",
    f"- Loom git {E['RB_GIT']}, binary sha256 {E['RB_LOOM_SHA']}...; generator sha256 "
    f"{E['RB_GEN_SHA']}....",
    "- Reproduce: " + "\n".join(repro),
]
if shortest < 0.2:
    ctx.insert(len(lines) + 2,
               "- **Coarse timing**: run.json wall_seconds runs from worker launch to the end of the "
               "run, and Loom's control loop checks for the capture's end every 5 ms, so each wall "
               "includes 0-5 ms of detection latency (plus the final streams.jsonl flush); walls "
               f"this short (shortest median {shortest:.3f} s) carry that error. For RX-baseline "
               "figures within ~1%, use a wall of 0.5 s or more (PACKETS=2000000).")
text = "\n".join(rows) + "\n\n" + "\n".join(ctx) + "\n"
print(text, end="")
if md_file:
    with open(md_file, "w") as f:
        f.write("### Reassembly benchmark: Loom offline, RX baseline vs inspection\n\n" + text)
print(f"reasm_bench: {passed} passed, {failed} failed", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
