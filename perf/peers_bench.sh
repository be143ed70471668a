#!/usr/bin/env bash
# perf/peers_bench.sh: Loom offline against its peers, in one run, on the
# same generated HTTP/1.x-over-TCP capture whose exact ground truth is known.
#
# Builds nothing of Loom's; compiles the libnids peer (perf/nids/nids_reasm.c)
# with cc into its work directory (not a meson target, so libnids is no
# build dependency of Loom). Takes the generator from
# ${GEN:-build/perf/gen/loom_gen} and Loom from ${LOOM:-build/app/loom}
# (relative paths: from the current directory if they exist there, else
# from the source tree).
#
# Engines, each a separate process reading the same pcap file (kept in the
# page cache), every output directory on tmpfs (${SHM:-/dev/shm}):
#   loom-full     loom --pcap CAP --out DIR  (every default: reassembly,
#                 streams.jsonl with SHA-256, HTTP framing, messages.jsonl,
#                 http.gor, stats.json)
#   loom-nogor    the same with [outputs] gor = false
#   loom-issue    the issue's "full pipeline": reassembly, HTTP framing,
#                 messages.jsonl ([outputs] gor = false, streams = false:
#                 no SHA-256 fingerprints)
#   loom-reasm    reassembly only: [http] enabled = false, [outputs] streams
#                 = false (what libnids does: no HTTP, no hashing, no files)
#   loom-rx       RX baseline: [worker] inspect = false (net_pcap read only)
#   libnids       perf/nids/nids_reasm (libnids 1.26 from Debian):
#                 reassembly of both directions, bytes counted, no HTTP;
#                 checksums not verified, scan detection off
#   tcpflow       tcpflow -r CAP -o DIR: one file per connection direction
#   tshark        tshark -r CAP -q -o tcp.desegment_tcp_streams:TRUE
#                 -o tcp.reassemble_out_of_order:TRUE -z http,tree
#                 (without the second option tshark 4.0 does not reassemble
#                 out-of-order segments and miscounts the messages)
# Each run is timed from outside (fork to exit, so Loom's EAL start-up is
# included), under /usr/bin/time for peak RSS and CPU seconds; RUNS rounds,
# the engines' order rotated per round, then TSHARK_RUNS tshark runs.
# perf/chart.py draws docs/img/peers.png from the JSON.
#
# What each engine counted is compared with the generator's truth:
#   Loom: rx packets, connections, HTTP requests / responses / 100 Continue,
#         messages.jsonl lines, streams.jsonl c2s / s2c bytes, reassembled
#         bytes, gaps; libnids: packets, connections, c2s / s2c bytes;
#   tcpflow: bytes written per direction, files; tshark: HTTP request and
#   response packets of its http,tree statistics (responses include 1xx).
#
# Usage: perf/peers_bench.sh [--smoke] [--out FILE.json] [--md FILE] [--keep]
#   --smoke      CI: PACKETS=20000, RUNS=1, no timing claims; fails when a
#                Loom count differs from the truth or any engine fails
#   --out FILE   results as JSON (default perf/results/peers.json; with
#                --smoke, only into the work directory unless given)
#   --md FILE    also write the markdown table and context to FILE
#   --keep       keep the work directory
# Environment: PACKETS (1000000), RUNS (3) timed runs per engine except
#   tshark, TSHARK_RUNS (1), SEED (1), PAIRS (5), OFO_PCT (5), GEN, LOOM,
#   SHM (/dev/shm), CC (cc), PYTHON.
# Exit status: 0 every engine ran and Loom's counts equal the truth; 1 an
# engine failed or a Loom count differs; 2 usage.
set -euo pipefail

usage() { sed -n '/^# Usage:/,/^# Exit status/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

SMOKE=0 OUT="" MD="" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1; shift ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --out=*) OUT=${1#*=}; shift ;;
    --md) MD=${2:?--md needs a file}; shift 2 ;;
    --md=*) MD=${1#*=}; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "peers_bench: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
if [ "$SMOKE" = 1 ]; then
  PACKETS=${PACKETS:-20000} RUNS=${RUNS:-1}
fi
PACKETS=${PACKETS:-1000000}
RUNS=${RUNS:-3}
TSHARK_RUNS=${TSHARK_RUNS:-1}
SEED=${SEED:-1}
PAIRS=${PAIRS:-5}
OFO_PCT=${OFO_PCT:-5}
SHM=${SHM:-/dev/shm}
CC=${CC:-cc}
for v in PACKETS RUNS TSHARK_RUNS PAIRS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "peers_bench: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
[[ "$SEED" =~ ^[0-9]+$ ]] || { echo "peers_bench: SEED must be a non-negative integer, got '$SEED'" >&2; exit 2; }
[[ "$OFO_PCT" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "peers_bench: OFO_PCT must be a percentage, got '$OFO_PCT'" >&2; exit 2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# shellcheck source=perf/common.sh
. "$HERE/common.sh"
GEN=$(resolve "${GEN:-build/perf/gen/loom_gen}")
LOOM=$(resolve "${LOOM:-build/app/loom}")
[ -n "$OUT" ] && OUT=$(resolve "$OUT")
[ -n "$MD" ] && MD=$(resolve "$MD")
if [ -z "$OUT" ] && [ "$SMOKE" = 0 ]; then OUT=$ROOT/perf/results/peers.json; fi
pick_python
TIME=/usr/bin/time
log() { echo "peers_bench: $*" >&2; }

missing=()
[ -x "$GEN" ] || missing+=("generator $GEN (build first, or set GEN)")
[ -x "$LOOM" ] || missing+=("loom $LOOM (build first, or set LOOM)")
[ -x "$TIME" ] || missing+=("$TIME (apt-get install time)")
command -v tcpflow >/dev/null || missing+=("tcpflow (apt-get install tcpflow)")
command -v tshark >/dev/null || missing+=("tshark (apt-get install tshark)")
command -v "$CC" >/dev/null || missing+=("C compiler $CC")
[ -r /usr/include/nids.h ] || missing+=("/usr/include/nids.h (apt-get install libnids-dev)")
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do log "missing: $m"; done
  log "0 passed, 1 failed"
  exit 1
fi
if [ ! -d "$SHM" ] || [ ! -w "$SHM" ]; then log "$SHM is not a writable directory (set SHM)"; exit 1; fi
SHM_FS=$(stat -f -c %T "$SHM" 2>/dev/null || echo unknown)
[ "$SHM_FS" = tmpfs ] || log "warning: $SHM is $SHM_FS, not tmpfs: output writes may hit a disk"

WORK=$(mktemp -d /tmp/peers_bench.XXXXXX)
SHMDIR=$(mktemp -d "$SHM/peers_bench.XXXXXX")
CHILD=""
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
    kill -INT "$CHILD" 2>/dev/null || true
    wait "$CHILD" 2>/dev/null || true
  fi
  rm -rf "$SHMDIR"
  if [ "$KEEP" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
now_ns() { date +%s%N; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---- the libnids peer
NIDS=$WORK/nids_reasm
NIDS_CMD=("$CC" -O2 -Wall -o "$NIDS" "$ROOT/perf/nids/nids_reasm.c" -lnids -lpcap)
"${NIDS_CMD[@]}" 2> "$WORK/nids_cc.log" || { log "building the libnids peer failed:"; cat "$WORK/nids_cc.log" >&2; exit 1; }

# ---- configs
printf 'mode = "offline"\n[outputs]\ngor = false\n' > "$WORK/nogor.toml"
printf 'mode = "offline"\n[outputs]\ngor = false\nstreams = false\n' > "$WORK/issue.toml"
printf 'mode = "offline"\n[http]\nenabled = false\n[outputs]\nstreams = false\n' > "$WORK/reasm.toml"
printf 'mode = "offline"\n[worker]\ninspect = false\n' > "$WORK/rx.toml"

# ---- capture: calibrate the number of connections, then generate
# The same calibration as perf/reasm_bench.sh, so the same PACKETS, SEED and
# PAIRS give the same capture (1,000,401 packets for the default 1000000).
read -r FLOWS _ _ < <(calibrate_flows "$GEN" "$PACKETS" "$WORK" --pairs "$PAIRS" --seed "$SEED" --ofo-pct 0) ||
  { log "generator failed"; exit 1; }
[ -n "${FLOWS:-}" ] || { log "generator failed"; exit 1; }
CAP=$WORK/cap.pcap
GEN_ARGS=(--flows "$FLOWS" --pairs "$PAIRS" --seed "$SEED" --ofo-pct "$OFO_PCT")
"$GEN" "${GEN_ARGS[@]}" --out "$CAP" > "$WORK/cap.truth" 2> "$WORK/gen.log" ||
  { log "generator failed: $(cat "$WORK/gen.log")"; exit 1; }
log "capture: $(truth "$WORK/cap.truth" packets) packets, $FLOWS connections, ${OFO_PCT}% out of order"
cat "$CAP" > /dev/null  # into the page cache

# ---- counting what each engine produced (run right after each run, before
# its output is removed): one JSON object per run.
cat > "$WORK/count.py" <<'PY'
import json, os, re, sys
kind, where, dest = sys.argv[1:4]
c = {}
if kind == "loom":
    st = json.load(open(f"{where}/stats.json"))["totals"]
    run = json.load(open(f"{where}/run.json"))
    h = st.get("http", {})
    c = {"packets": st["rx_packets"], "frame_bytes": st["rx_bytes"], "end": run.get("end"),
         "loom_wall_s": run.get("wall_seconds")}
    if "flows" in st:
        c.update(connections=st["flows"]["inserts"], reasm_bytes=st["reasm"]["bytes_delivered"],
                 gaps=st["reasm"]["gaps"], requests=h.get("requests", 0),
                 responses=h.get("responses", 0), interim=h.get("interim", 0),
                 parse_errors=h.get("parse_errors", 0), incomplete=h.get("incomplete", 0))
    if os.path.exists(f"{where}/messages.jsonl"):
        with open(f"{where}/messages.jsonl", "rb") as f:
            c["messages_jsonl"] = sum(1 for _ in f)
    if os.path.exists(f"{where}/streams.jsonl"):
        c2s = s2c = 0
        for line in open(f"{where}/streams.jsonl"):
            s = json.loads(line)
            if s["dir"] == "c2s":
                c2s += s["bytes"]
            else:
                s2c += s["bytes"]
        c.update(bytes_c2s=c2s, bytes_s2c=s2c)
    if os.path.exists(f"{where}/http.gor"):
        c["gor_bytes"] = os.path.getsize(f"{where}/http.gor")
elif kind == "nids":
    for line in open(where):
        k, _, v = line.strip().partition(" ")
        if v.isdigit():
            c[k] = int(v)
    c["bytes_c2s"] = c.pop("stream_bytes_c2s", None)
    c["bytes_s2c"] = c.pop("stream_bytes_s2c", None)
elif kind == "tcpflow":
    # Files are named SRC.PORT-DST.PORT (zero-padded); the servers listen
    # on port 80, so a file whose destination is port 80 holds c2s bytes.
    c2s = s2c = files = 0
    for e in os.scandir(where):
        if not e.is_file() or e.name.endswith(".xml"):
            continue
        files += 1
        n = e.stat().st_size
        if re.search(r"-[0-9.]+\.00080(c[0-9]+)?$", e.name):
            c2s += n
        else:
            s2c += n
    c.update(files=files, bytes_c2s=c2s, bytes_s2c=s2c)
elif kind == "tshark":
    text = open(where).read()
    def row(label):
        m = re.search(r"^\s*" + re.escape(label) + r"\s+(\d+)", text, re.M)
        return int(m.group(1)) if m else None
    c = {"http_packets": row("Total HTTP Packets"), "requests": row("HTTP Request Packets"),
         "responses_incl_1xx": row("HTTP Response Packets"), "interim": row("100 Continue"),
         "other_http_packets": row("Other HTTP Packets"), "broken": row("???: broken")}
    if c["requests"] is None or c["responses_incl_1xx"] is None:
        sys.exit("no http,tree rows in tshark's output")
json.dump(c, open(dest, "w"))
PY

# run_one ENGINE ROUND: one timed run; outputs in $SHMDIR, then counted and
# removed. Records WORK/runs/ENGINE-ROUND.{time,wall,rc,counts.json,log}.
mkdir -p "$WORK/runs"
FAILED_RUNS=0
run_one() {
  local eng=$1 r=$2 base="$WORK/runs/$1-$2" out="$SHMDIR/$1-$2"
  local -a cmd
  # shellcheck disable=SC2054  # "http,tree" is one argument
  case "$eng" in
    loom-full)  cmd=("$LOOM" --pcap "$CAP" --out "$out") ;;
    loom-nogor) cmd=("$LOOM" --pcap "$CAP" --out "$out" --config "$WORK/nogor.toml") ;;
    loom-issue) cmd=("$LOOM" --pcap "$CAP" --out "$out" --config "$WORK/issue.toml") ;;
    loom-reasm) cmd=("$LOOM" --pcap "$CAP" --out "$out" --config "$WORK/reasm.toml") ;;
    loom-rx)    cmd=("$LOOM" --pcap "$CAP" --out "$out" --config "$WORK/rx.toml") ;;
    libnids)    cmd=("$NIDS" "$CAP") ;;
    tcpflow)    mkdir -p "$out"; cmd=(tcpflow -r "$CAP" -o "$out") ;;
    tshark)     cmd=(tshark -r "$CAP" -q -o tcp.desegment_tcp_streams:TRUE
                     -o tcp.reassemble_out_of_order:TRUE -z http,tree) ;;
  esac
  local t0 t1 rc=0
  t0=$(now_ns)
  "$TIME" -f '%e %M %U %S' -o "$base.time" "${cmd[@]}" > "$base.out" 2> "$base.log" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  t1=$(now_ns)
  echo $(( t1 - t0 )) > "$base.wall"
  echo "$rc" > "$base.rc"
  if [ "$rc" != 0 ]; then
    log "$eng round $r failed (exit $rc); last lines of its output:"
    tail -n 15 "$base.log" >&2 || true
    FAILED_RUNS=$((FAILED_RUNS + 1))
    echo '{}' > "$base.counts.json"
  else
    local ok=1
    case "$eng" in
      loom-*) "$PYTHON" "$WORK/count.py" loom "$out" "$base.counts.json" || ok=0 ;;
      libnids) "$PYTHON" "$WORK/count.py" nids "$base.out" "$base.counts.json" || ok=0 ;;
      tcpflow) "$PYTHON" "$WORK/count.py" tcpflow "$out" "$base.counts.json" || ok=0 ;;
      tshark) "$PYTHON" "$WORK/count.py" tshark "$base.out" "$base.counts.json" || ok=0 ;;
    esac
    if [ "$ok" = 0 ]; then
      log "$eng round $r: could not read its output"
      FAILED_RUNS=$((FAILED_RUNS + 1))
      echo '{}' > "$base.counts.json"
    fi
  fi
  rm -rf "$out"
  # Printed as the commands are, with the work paths shortened.
  printf '%s\n' "${cmd[*]}" | sed -e "s|$WORK/|WORK/|g" -e "s|$SHMDIR/|SHM/|g" -e "s|$ROOT/||g" \
    > "$base.cmd"
}

ENGINES=(loom-full loom-nogor loom-issue loom-reasm loom-rx libnids tcpflow)
for r in $(seq "$RUNS"); do
  # Rotate the order per round so no engine always runs first or last.
  n=${#ENGINES[@]}
  for i in $(seq 0 $((n - 1))); do
    eng=${ENGINES[$(( (i + r - 1) % n ))]}
    log "round $r/$RUNS: $eng"
    run_one "$eng" "$r"
  done
done
for r in $(seq "$TSHARK_RUNS"); do
  log "tshark run $r/$TSHARK_RUNS"
  run_one tshark "$r"
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n1)
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo '?'; }
NCPU=$(nproc)
MEM_GIB=$(awk '/MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
LOOM_SHA=$(sha256sum "$LOOM" | cut -c1-16)
GEN_CMD="${GEN#"$ROOT"/} ${GEN_ARGS[*]} --out CAP"
NIDS_BUILD=$(echo "${NIDS_CMD[*]}" | sed -e "s|$WORK/|WORK/|g" -e "s|$ROOT/||g")
V_TSHARK=$(pkgver tshark) V_TCPFLOW=$(pkgver tcpflow) V_NIDS=$(pkgver libnids-dev)
V_DPDK=$(pkgver libdpdk-dev)
export PB_WORK="$WORK" PB_RUNS="$RUNS" PB_TSHARK_RUNS="$TSHARK_RUNS" PB_SMOKE="$SMOKE" \
  PB_ENGINES="${ENGINES[*]} tshark" PB_FLOWS="$FLOWS" PB_PAIRS="$PAIRS" PB_SEED="$SEED" \
  PB_OFO="$OFO_PCT" PB_PACKETS="$PACKETS" PB_CPU="$CPU_MODEL" PB_NCPU="$NCPU" \
  PB_MEM_GIB="$MEM_GIB" PB_LOAD_START="$LOAD_START" PB_LOAD_END="$LOAD_END" PB_DATE="$DATE" \
  PB_GIT="$GIT_REV" PB_LOOM_SHA="$LOOM_SHA" PB_SHM="$SHM ($SHM_FS)" PB_GEN="$GEN_CMD" \
  PB_NIDS_BUILD="$NIDS_BUILD" PB_V_TSHARK="$V_TSHARK" PB_V_TCPFLOW="$V_TCPFLOW" \
  PB_V_NIDS="$V_NIDS" PB_V_DPDK="$V_DPDK" PB_FAILED_RUNS="$FAILED_RUNS"

"$PYTHON" - "$OUT" "$MD" <<'PY'
import json, os, statistics, sys
E = os.environ
W = E["PB_WORK"]
out_file, md_file = sys.argv[1], sys.argv[2]
smoke = E["PB_SMOKE"] == "1"
engines = E["PB_ENGINES"].split()

t = {}
for line in open(f"{W}/cap.truth"):
    k, _, v = line.strip().partition(" ")
    if v.isdigit():
        t[k] = int(v)
msgs = t["requests"] + t["responses"] + t["interim_100_continue"]
truth = {"packets": t["packets"], "frame_bytes": t["frame_bytes"], "file_bytes": t["bytes"],
         "connections": t["connections"], "requests": t["requests"], "responses": t["responses"],
         "interim_100_continue": t["interim_100_continue"], "messages": msgs,
         "bytes_c2s": t["stream_bytes_c2s"], "bytes_s2c": t["stream_bytes_s2c"],
         "ofo_swaps": t["ofo_swaps"]}

LABEL = {
    "loom-full": "Loom, full pipeline (reasm + SHA-256 streams + HTTP + messages.jsonl + http.gor)",
    "loom-nogor": "Loom, full pipeline without http.gor",
    "loom-issue": "Loom, reassembly + HTTP framing + messages.jsonl (the issue's full pipeline: no SHA-256, no http.gor)",
    "loom-reasm": "Loom, reassembly only (no HTTP, no SHA-256, no files)",
    "loom-rx": "Loom, RX baseline (inspect = false)",
    "libnids": "libnids 1.26 (reassembly only)",
    "tcpflow": "tcpflow (a file per direction, on tmpfs)",
    "tshark": "tshark -z http,tree",
}

def checks(eng, c):
    """(what, got, want) tuples: what this engine counted against the truth."""
    T = truth
    if eng.startswith("loom"):
        l = [("packets", c.get("packets"), T["packets"])]
        if eng == "loom-rx":
            return l + [("frame bytes", c.get("frame_bytes"), T["frame_bytes"])]
        l += [("connections", c.get("connections"), T["connections"]),
              ("reassembled bytes", c.get("reasm_bytes"), T["bytes_c2s"] + T["bytes_s2c"]),
              ("gaps", c.get("gaps"), 0)]
        if eng in ("loom-full", "loom-nogor", "loom-issue"):
            l += [("requests", c.get("requests"), T["requests"]),
                  ("responses", c.get("responses"), T["responses"]),
                  ("100 Continue", c.get("interim"), T["interim_100_continue"]),
                  ("messages.jsonl lines", c.get("messages_jsonl"), T["messages"])]
        if eng in ("loom-full", "loom-nogor"):
            l += [("streams.jsonl c2s bytes", c.get("bytes_c2s"), T["bytes_c2s"]),
                  ("streams.jsonl s2c bytes", c.get("bytes_s2c"), T["bytes_s2c"])]
        return l
    if eng == "libnids":
        return [("packets", c.get("packets"), T["packets"]),
                ("connections", c.get("connections"), T["connections"]),
                ("c2s bytes", c.get("bytes_c2s"), T["bytes_c2s"]),
                ("s2c bytes", c.get("bytes_s2c"), T["bytes_s2c"])]
    if eng == "tcpflow":
        return [("files", c.get("files"), 2 * T["connections"]),
                ("c2s bytes", c.get("bytes_c2s"), T["bytes_c2s"]),
                ("s2c bytes", c.get("bytes_s2c"), T["bytes_s2c"])]
    if eng == "tshark":
        return [("requests", c.get("requests"), T["requests"]),
                ("responses incl. 1xx", c.get("responses_incl_1xx"),
                 T["responses"] + T["interim_100_continue"]),
                ("100 Continue", c.get("interim"), T["interim_100_continue"])]
    return []

def counted_text(eng, c):
    f = lambda k: f"{c[k]:,}" if isinstance(c.get(k), int) else "?"
    if eng == "loom-rx":
        return f"{f('packets')} packets"
    if eng == "loom-reasm":
        return f"{f('connections')} conns, {f('reasm_bytes')} B"
    if eng.startswith("loom"):
        return (f"{f('connections')} conns, {f('reasm_bytes')} B, {f('requests')} req / "
                f"{f('responses')} resp / {f('interim')} 100, {f('messages_jsonl')} messages")
    if eng == "libnids":
        return f"{f('connections')} conns, {f('bytes_c2s')} + {f('bytes_s2c')} B"
    if eng == "tcpflow":
        return f"{f('files')} files, {f('bytes_c2s')} + {f('bytes_s2c')} B"
    if eng == "tshark":
        return (f"{f('requests')} req / {f('responses_incl_1xx')} resp (incl. "
                f"{f('interim')} 100)")
    return ""

res, failed_engines, loom_bad = {}, [], []
for eng in engines:
    n = int(E["PB_TSHARK_RUNS"] if eng == "tshark" else E["PB_RUNS"])
    runs = []
    for r in range(1, n + 1):
        b = f"{W}/runs/{eng}-{r}"
        rc = int(open(f"{b}.rc").read())
        wall = int(open(f"{b}.wall").read()) / 1e9
        tm = open(f"{b}.time").read().split("\n")
        tm = [x for x in tm if x.strip()][-1].split() if rc == 0 else []
        c = json.load(open(f"{b}.counts.json"))
        runs.append({"rc": rc, "wall_s": round(wall, 4),
                     "max_rss_kb": int(tm[1]) if len(tm) == 4 else None,
                     "cpu_s": round(float(tm[2]) + float(tm[3]), 2) if len(tm) == 4 else None,
                     "counts": c})
    cmd = open(f"{W}/runs/{eng}-1.cmd").read().strip()
    ok_runs = [x for x in runs if x["rc"] == 0 and x["counts"]]
    e = {"engine": eng, "label": LABEL[eng], "command": cmd, "runs": runs}
    if len(ok_runs) != len(runs):
        failed_engines.append(eng)
    if ok_runs:
        walls = [x["wall_s"] for x in ok_runs]
        w = statistics.median(walls)
        c = ok_runs[0]["counts"]
        mism = []
        for x in ok_runs:
            for what, got, want in checks(eng, x["counts"]):
                if got != want:
                    mism.append(f"{what} {got if got is not None else '?'} != {want}")
            if eng.startswith("loom") and x["counts"].get("end") != "capture-end":
                mism.append(f"end {x['counts'].get('end')}")
        mism = sorted(set(mism))
        lw = [x["counts"].get("loom_wall_s") for x in ok_runs if x["counts"].get("loom_wall_s")]
        e.update(wall_s=w, wall_min_s=min(walls), wall_max_s=max(walls),
                 packets_per_s=t["packets"] / w,
                 max_rss_mb=statistics.median([x["max_rss_kb"] for x in ok_runs]) / 1024,
                 cpu_s=statistics.median([x["cpu_s"] for x in ok_runs]),
                 counts=c, counted=counted_text(eng, c),
                 checks=[{"what": a, "got": g, "want": w_} for a, g, w_ in checks(eng, c)],
                 counts_equal_truth=not mism, mismatches=mism)
        if lw:
            e["loom_internal_wall_s"] = statistics.median(lw)
            e["loom_internal_packets_per_s"] = t["packets"] / statistics.median(lw)
        if eng.startswith("loom") and mism:
            loom_bad.append(eng)
    res[eng] = e

def pps(eng):
    return res.get(eng, {}).get("packets_per_s")

ratios = {}
for a, b in (("loom-full", "libnids"), ("loom-full", "tcpflow"), ("loom-full", "tshark"),
             ("loom-nogor", "libnids"), ("loom-nogor", "tcpflow"), ("loom-nogor", "tshark"),
             ("loom-issue", "libnids"), ("loom-issue", "tcpflow"), ("loom-issue", "tshark"),
             ("loom-reasm", "libnids"), ("loom-reasm", "tcpflow")):
    if pps(a) and pps(b):
        ratios[f"{a}/{b}"] = pps(a) / pps(b)
# The issue's targets, for the default outputs (loom-full) and for the
# pipeline it names (reassembly + HTTP framing + JSON Lines export, i.e.
# no SHA-256 fingerprints and no http.gor: loom-issue).
targets = []
for loom, what in (("loom-full", "Loom full pipeline, default outputs"),
                   ("loom-issue", "Loom reassembly + HTTP + messages.jsonl")):
    for peer, want in (("libnids", 2), ("tcpflow", 10), ("tshark", 100)):
        r = ratios.get(f"{loom}/{peer}")
        targets.append({"target": f"{what}: packets/s >= {want}x {peer}", "ratio": r,
                        "met": r is not None and r >= want})
for loom in ("loom-full", "loom-issue"):
    targets.append({"target": f"{loom}: message counts equal the truth", "ratio": None,
                    "met": bool(res.get(loom, {}).get("counts_equal_truth"))})

# ---- markdown
rows = ["| engine | wall s, median (min..max) | packets/s | Loom full packets/s ÷ this | peak RSS MB "
        "| CPU s | what it counted | = truth |",
        "|---|---:|---:|---:|---:|---:|---|---|"]
for eng in engines:
    e = res[eng]
    if "wall_s" not in e:
        rows.append(f"| {e['label']} | failed | | | | | | |")
        continue
    rng = f" ({e['wall_min_s']:.3f}..{e['wall_max_s']:.3f})" if len(e["runs"]) > 1 else ""
    ratio = f"{pps('loom-full') / e['packets_per_s']:.2f}x" if pps("loom-full") else "n/a"
    verdict = "yes" if e["counts_equal_truth"] else "**no**: " + "; ".join(e["mismatches"])
    rows.append(f"| {e['label']} | {e['wall_s']:.3f}{rng} | {e['packets_per_s']:,.0f} | {ratio} "
                f"| {e['max_rss_mb']:.0f} | {e['cpu_s']:.2f} | {e['counted']} | {verdict} |")
T = truth
ctx = [f"Truth (generator): {T['packets']:,} packets, {T['frame_bytes']:,} frame bytes, "
       f"{T['connections']:,} connections, {T['requests']:,} requests, {T['responses']:,} "
       f"responses + {T['interim_100_continue']:,} 100 Continue = {T['messages']:,} messages, "
       f"stream bytes c2s {T['bytes_c2s']:,} + s2c {T['bytes_s2c']:,}, "
       f"{T['ofo_swaps']:,} out-of-order swaps ({E['PB_OFO']}%)."]
rl = [f"{k.replace('/', ' / ')} = {v:.2f}x" for k, v in ratios.items()]
if rl:
    ctx.append("Packets/s ratios: " + ", ".join(rl) + ".")
if smoke:
    ctx.append("Smoke run (--smoke): a capture this small measures start-up, not throughput; "
               "no timing or ratio here means anything, only the counts are checked.")
else:
    for tg in targets:
        r = f" ({tg['ratio']:.2f}x)" if tg["ratio"] is not None else ""
        ctx.append(f"Target: {tg['target']}: **{'MET' if tg['met'] else 'MISSED'}**{r}.")
li = [f"{eng} {res[eng]['loom_internal_wall_s']:.3f} s ({res[eng]['loom_internal_packets_per_s']:,.0f} packets/s)"
      for eng in engines if eng.startswith("loom") and "loom_internal_wall_s" in res[eng]]
if li:
    ctx.append("Loom's own wall (run.json wall_seconds: worker start to capture end, without EAL "
               "start-up, pool and table set-up, and exit): " + ", ".join(li) + ".")
ctx.append(f"Wall: fork to exit of each process, {E['PB_RUNS']} run(s) per engine in rotated "
           f"order (tshark: {E['PB_TSHARK_RUNS']}); packets/s = truth packets / median wall; peak "
           "RSS and CPU (user + system) from /usr/bin/time. Capture in the page cache; outputs on "
           f"{E['PB_SHM']}.")
ctx.append(f"Machine: {E['PB_CPU']} ({E['PB_NCPU']} CPUs, shared), {E['PB_MEM_GIB']} GiB; load "
           f"average at start {E['PB_LOAD_START']}, at end {E['PB_LOAD_END']}; {E['PB_DATE']}. "
           f"Loom git {E['PB_GIT']}, binary sha256 {E['PB_LOOM_SHA']}...; DPDK {E['PB_V_DPDK']}, "
           f"libnids {E['PB_V_NIDS']}, tcpflow {E['PB_V_TCPFLOW']}, tshark {E['PB_V_TSHARK']}.")
cmds = [f"`{E['PB_GEN']}`", f"libnids peer: `{E['PB_NIDS_BUILD']}`"]
cmds += [f"{eng}: `{res[eng]['command']}`" for eng in engines]
ctx.append("Commands (CAP = the capture, SHM = a directory on tmpfs, removed after each run):\n"
           + "\n".join(f"  - {c}" for c in cmds))
text = "\n".join(rows) + "\n\n" + "\n".join(f"- {c}" for c in ctx) + "\n"
print(text, end="")
if md_file:
    with open(md_file, "w") as f:
        f.write("### Against peers (offline)\n\n" + text)

doc = {"date": E["PB_DATE"], "smoke": smoke,
       "machine": {"cpu": E["PB_CPU"], "cpus": int(E["PB_NCPU"]), "mem_gib": int(E["PB_MEM_GIB"]),
                   "load_start": E["PB_LOAD_START"], "load_end": E["PB_LOAD_END"]},
       "versions": {"loom_git": E["PB_GIT"], "loom_sha256_16": E["PB_LOOM_SHA"],
                    "dpdk": E["PB_V_DPDK"], "libnids": E["PB_V_NIDS"],
                    "tcpflow": E["PB_V_TCPFLOW"], "tshark": E["PB_V_TSHARK"]},
       "capture": {"generator": E["PB_GEN"], "flows": int(E["PB_FLOWS"]),
                   "pairs": int(E["PB_PAIRS"]), "seed": int(E["PB_SEED"]),
                   "ofo_pct": float(E["PB_OFO"]), "truth": truth},
       "runs_per_engine": int(E["PB_RUNS"]), "tshark_runs": int(E["PB_TSHARK_RUNS"]),
       "engines": [res[e] for e in engines], "ratios": ratios, "targets": targets,
       "markdown": text}
dest = out_file or f"{W}/peers.json"
os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
with open(dest, "w") as f:
    json.dump(doc, f, indent=1)
    f.write("\n")
print(f"peers_bench: results in {dest}", file=sys.stderr)

# Cases for tests/run_all.sh: each engine ran, and each Loom run counted
# what the generator wrote. Peers' counts are reported, not judged.
ran = [e for e in engines if e not in failed_engines]
failed = len(failed_engines) + len(loom_bad)
passed = len(ran) + sum(1 for e in ran if e.startswith("loom") and e not in loom_bad)
for e in failed_engines:
    print(f"peers_bench: FAIL: {e} did not run to completion", file=sys.stderr)
for e in loom_bad:
    print(f"peers_bench: FAIL: {e} counts differ from the truth: {'; '.join(res[e]['mismatches'])}",
          file=sys.stderr)
print(f"peers_bench: {passed} passed, {failed} failed", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
