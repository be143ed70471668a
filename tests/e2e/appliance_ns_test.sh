#!/usr/bin/env bash
# Loom left running like an appliance, through the namespace lab of
# relay_ns_test.sh (net_af_packet on two veths, nginx in B, curl in A),
# with eal.memory = "hugepages" on a hugetlbfs of the test's own:
#
#   1. dpdk-dumpcap attaches to the running Loom (rte_pdump) and writes a
#      pcap of the HTTP traffic crossing it;
#   2. a second Loom on the same file_prefix exits non-zero with a clear
#      error, and the first keeps answering on its telemetry socket;
#   3. live files parse with jq after a second of quiet (flushed, whole
#      records), stats.json is rewritten while live;
#   4. logrotate, with the shipped dist/loom.logrotate (paths and the
#      signal's target adapted), renames the files under load and SIGUSR1
#      reopens them: every request nginx logged is in exactly one of the
#      files;
#   5. at exit the runtime directory and the hugepage files are gone, also
#      when start-up fails and after a second signal's immediate exit;
#      sd_notify: READY=1 once the workers run, the watchdog fed,
#      STOPPING=1 (a socket of the test's own stands in for systemd);
#   6. a second run into the same directory is refused by default and
#      loses nothing; append continues the files, rotate moves them aside.
#
# Root; exit 0 all passed, 1 a failure, 77 skipped. Hugepages: reserves
# 512 more 2 MB pages for the run and gives them back at exit.
set -u
set -o pipefail

E2E_SUITE=e2e-appliance
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

e2e_preflight "$LOOM" /usr/sbin/nginx curl jq ethtool sysctl ss dpdk-telemetry.py dpdk-dumpcap \
  tshark logrotate
e2e_names
# This suite's own names (netns, veths, EAL prefix carry "appliance"/"ap").
NSA=apA$S
NSB=apB$S
IFAD=apA-d$S
IFBD=apB-d$S
PREFIX=loom-appliance-$S
E2E_PREFIXES=("$PREFIX")
HUGE=$TMP/huge
HUGE_ADDED=0
HUGE_MOUNTED=0
appliance_cleanup() {
  local rc=$?
  if [[ $HUGE_MOUNTED -eq 1 ]]; then
    rm -f "$HUGE"/*  # a Loom killed by the trap may have left page files
    umount "$HUGE" 2>/dev/null
  fi
  if [[ $HUGE_ADDED -gt 0 ]]; then
    local now
    now=$(cat /proc/sys/vm/nr_hugepages)
    echo $((now > HUGE_ADDED ? now - HUGE_ADDED : 0)) >/proc/sys/vm/nr_hugepages
  fi
  (exit $rc)
  cleanup
}
trap appliance_cleanup EXIT
trap 'bad "interrupted (SIGINT)"; summary; exit 130' INT
trap 'bad "terminated (SIGTERM)"; summary; exit 143' TERM

e2e_setup_links

# ------------------------------------------------------------ hugepages
before=$(cat /proc/sys/vm/nr_hugepages)
echo $((before + 512)) >/proc/sys/vm/nr_hugepages
HUGE_ADDED=$(($(cat /proc/sys/vm/nr_hugepages) - before))
[[ $HUGE_ADDED -ge 256 ]] || die "could reserve only $HUGE_ADDED hugepages"
mkdir -p "$HUGE" && mount -t hugetlbfs nodev "$HUGE" || die "cannot mount hugetlbfs on $HUGE"
HUGE_MOUNTED=1

mkdir -p "$OUT" "$WWW"
TOML=$TMP/lab.toml
e2e_lab_toml "$TOML" "$PREFIX"
sed -i -e 's/^memory = "no-huge".*/memory = "hugepages"\nmemory_mb = 512\nextra_args = ["--huge-dir='"${HUGE//\//\\/}"'"]/' "$TOML"
cat >>"$TOML" <<'TOML'

[flow]
max_flows_per_worker = 4096

[reassembly]
memcap_mb = 16

[outputs]
stats_seconds = 1
TOML
grep -q '^memory = "hugepages"' "$TOML" || die "could not switch the lab file to hugepages"
e2e_check_config "$TOML"

for i in $(seq 1 200); do echo "page $i" >"$WWW/p$i.txt"; done
chmod 644 "$WWW"/*
e2e_nginx_conf "$IPB:8080"
e2e_start_nginx 8080
e2e_start_loom "$TOML" "$OUT" "$PREFIX"
RUNDIR=/var/run/dpdk/$PREFIX

if grep -q "dpdk-dumpcap can capture" "$LOOM_LOG"; then ok "Loom initialised pdump (hugepages mode)"
else bad "no pdump: $(grep -m1 dumpcap "$LOOM_LOG")"; fi

# requests N FROM: N keep-alive GETs in one curl from ns A.
requests() {
  local n=$1 from=$2 urls=() i
  for i in $(seq "$from" $((from + n - 1))); do urls+=("http://$IPB:8080/p$((i % 200 + 1)).txt"); done
  ip netns exec "$NSA" timeout 60 curl -sS "${urls[@]}" >/dev/null
}

# ------------------------------------------------------------ 1. dumpcap
echo "== dpdk-dumpcap on the running Loom"
timeout 30 dpdk-dumpcap --file-prefix="$PREFIX" -i net_af_packet0 -w "$TMP/dump.pcapng" -q \
  >"$TMP/dumpcap.log" 2>&1 &
DUMP_PID=$!
BG_PIDS+=("$DUMP_PID")
for _ in $(seq 100); do grep -q "Capturing on" "$TMP/dumpcap.log" && break; sleep 0.1; done
grep -q "Capturing on" "$TMP/dumpcap.log" || sleep 3  # -q may hide the line
requests 20 0 || bad "curl through Loom failed while dumpcap ran"
sleep 0.5
kill -INT "$DUMP_PID" 2>/dev/null
wait "$DUMP_PID" 2>/dev/null
dumped=$(tshark -r "$TMP/dump.pcapng" -Y 'tcp.port == 8080 && http.request' 2>/dev/null | wc -l)
if [[ $dumped -ge 20 ]]; then ok "dpdk-dumpcap wrote the 20 requests crossing Loom ($dumped)"
else bad "dpdk-dumpcap pcap has $dumped HTTP requests, expected 20: $(tail -3 "$TMP/dumpcap.log")"; fi

# ------------------------------------------------------------ 2. same prefix
echo "== a second Loom on file_prefix $PREFIX"
mkdir -p "$TMP/out2"
timeout 30 "$LOOM" --config "$TOML" --out "$TMP/out2" >"$TMP/second.log" 2>&1
rc=$?
check_eq "second Loom on the same prefix exits 1" "$rc" 1
if grep -q "another Loom (pid $LOOM_PID) is running with eal.file_prefix \"$PREFIX\"" "$TMP/second.log"; then
  ok "its error names the prefix and the first Loom's pid"
else bad "unclear error: $(cat "$TMP/second.log")"; fi
if [[ $(telemetry "$PREFIX" /loom/info | jq -r '."/loom/info".status') == running &&
      -S $RUNDIR/dpdk_telemetry.v2 ]]; then
  ok "the first Loom keeps its telemetry socket"
else bad "the first Loom's telemetry socket is gone"; fi

# ------------------------------------------------------------ 3. live files
requests 30 20 || bad "curl failed"
sleep 1.5
n_live=$(wc -l <"$OUT/messages.jsonl")
# 20 + 30 exchanges so far: all 100 records on disk, every line whole.
if jq -e . "$OUT/messages.jsonl" >/dev/null 2>&1 && [[ $n_live -eq 100 ]]; then
  ok "live messages.jsonl parses with jq after a second of quiet ($n_live records)"
else bad "live messages.jsonl: $n_live lines, jq: $(jq . "$OUT/messages.jsonl" 2>&1 >/dev/null | head -1)"; fi
if [[ $(jq -r '.outputs.messages.written' "$OUT/stats.json" 2>/dev/null) -eq 100 ]]; then
  ok "stats.json is rewritten while live ($(jq -r .outputs.messages.written "$OUT/stats.json") written)"
else bad "stats.json while live: $(head -c 200 "$OUT/stats.json" 2>&1)"; fi

# ------------------------------------------------------------ 4. logrotate
echo "== logrotate with the shipped file, under load"
sed -e "s|^/var/log/loom/\*/\*.jsonl /var/log/loom/\*/http.gor /var/log/loom/\*/packets.pcap {|$OUT/*.jsonl $OUT/http.gor {|" \
    -e "s|systemctl kill .*|kill -USR1 $LOOM_PID|" "$ROOT/dist/loom.logrotate" >"$TMP/logrotate.conf"
grep -q "kill -USR1 $LOOM_PID" "$TMP/logrotate.conf" && grep -q "^$OUT/\*.jsonl" "$TMP/logrotate.conf" ||
  die "could not adapt dist/loom.logrotate"
grep -q "systemctl kill --kill-whom=main --signal=USR1 'loom@\*.service'" "$ROOT/dist/loom.logrotate" &&
  ok "the shipped logrotate file sends SIGUSR1 to every loom@ service" ||
  bad "dist/loom.logrotate does not send SIGUSR1"
( for r in $(seq 0 9); do requests 20 $((100 + r * 20)) || exit 1; done ) &
LOAD_PID=$!
BG_PIDS+=("$LOAD_PID")
sleep 0.3
logrotate -f -s "$TMP/logrotate.state" "$TMP/logrotate.conf" 2>"$TMP/logrotate.err" ||
  bad "logrotate failed: $(cat "$TMP/logrotate.err")"
wait "$LOAD_PID" || bad "curl failed during the rotation"
requests 10 400 || bad "curl failed after the rotation"
sleep 1.5
[[ -f $OUT/messages.jsonl.1 ]] && ok "logrotate renamed messages.jsonl" || bad "no messages.jsonl.1"
grep -q "reopening every file" "$LOOM_LOG" && ok "Loom reopened its outputs on SIGUSR1" ||
  bad "no reopen in the log"

STATS_BEFORE_STOP=$(ls "$HUGE" | grep -c "^${PREFIX}map_")
[[ $STATS_BEFORE_STOP -gt 0 ]] && ok "hugepage files exist while Loom runs ($STATS_BEFORE_STOP)" ||
  bad "no hugepage files under $HUGE while running"
e2e_stop_loom

# Every request nginx answered is once in messages.jsonl.1 + messages.jsonl.
served=$(wc -l <"$TMP/nginx-access.log")
cat "$OUT/messages.jsonl.1" "$OUT/messages.jsonl" >"$TMP/all.jsonl"
jq -e . "$TMP/all.jsonl" >/dev/null 2>&1 && ok "both files are whole JSON lines" || bad "a file has a broken line"
reqs=$(jq -r 'select(.kind == "request") | .id' "$TMP/all.jsonl" | sort -u | wc -l)
check_eq "requests in the rotated + new file = requests nginx served" "$reqs" "$served"
check_eq "records in both files = records written (stats.json)" "$(wc -l <"$TMP/all.jsonl")" \
  "$(jq -r .outputs.messages.written "$OUT/stats.json")"
check_eq "reopens counted" "$(jq -r .outputs.messages.reopens "$OUT/stats.json")" 1

# ------------------------------------------------------------ 5. nothing left
[[ ! -e $RUNDIR ]] && ok "runtime directory $RUNDIR removed at exit" || bad "$RUNDIR left: $(ls "$RUNDIR")"
left=$(ls "$HUGE" | grep -c "^${PREFIX}map_")
check_eq "hugepage files left after exit" "$left" 0
sed 's/iface=apA-d[0-9]*,/iface=nosuchif0,/' "$TOML" >"$TMP/bad.toml"
mkdir -p "$TMP/out-bad"
timeout 60 "$LOOM" --config "$TMP/bad.toml" --out "$TMP/out-bad" >"$TMP/bad.log" 2>&1
rc=$?
[[ $rc -ne 0 ]] && ok "a port that cannot start fails the run (exit $rc)" || bad "bad port accepted"
[[ ! -e $RUNDIR ]] && ok "runtime directory removed after a failed start" || bad "$RUNDIR left after failure"
check_eq "hugepage files left after a failed start" "$(ls "$HUGE" | grep -c "^${PREFIX}map_")" 0

# ------------------------------------------------------------ 5b. systemd
# Type=notify without systemd: a datagram socket in NOTIFY_SOCKET gets
# READY=1 once the port is up and the worker runs (telemetry then says
# "running"), WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 at the stop.
# A second SIGTERM exits at once (143) and still removes the runtime dir.
echo "== sd_notify and the second-signal exit (net_pcap, no-huge)"
NPREFIX=loom-appliance-n$S
E2E_PREFIXES+=("$NPREFIX")
cat >"$TMP/notify.toml" <<TOML
mode = "passive"
[eal]
lcores = "0@0,1@1"
memory = "no-huge"
file_prefix = "$NPREFIX"
[[ports]]
name = "cap"
device = "net_pcap0,rx_pcap=$ROOT/tests/data/sample.pcap,infinite_rx=1"
link_wait_ms = 0
promiscuous = false
TOML
/usr/bin/python3 "$ROOT/tests/e2e/notify_listen.py" "$TMP/notify.sock" "$TMP/notify.log" &
LISTEN_PID=$!
BG_PIDS+=("$LISTEN_PID")
for _ in $(seq 50); do [[ -S $TMP/notify.sock ]] && break; sleep 0.1; done
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=200000 "$LOOM" --config "$TMP/notify.toml" \
  --out "$TMP/out-notify" >"$TMP/notify-loom.log" 2>&1 &
NPID=$!
BG_PIDS+=("$NPID")
ready=0
for _ in $(seq 100); do grep -q 'READY=1' "$TMP/notify.log" 2>/dev/null && { ready=1; break; }; sleep 0.1; done
status=$(telemetry "$NPREFIX" /loom/info | jq -r '."/loom/info".status')
if [[ $ready -eq 1 && $status == running ]] && grep -q 'worker 0 on lcore' "$TMP/notify-loom.log"; then
  ok "READY=1 once the worker runs ($(grep -m1 READY "$TMP/notify.log" | cut -d' ' -f2-))"
else bad "READY=1: $ready, telemetry status '$status'"; fi
sleep 1
pings=$(grep -c 'WATCHDOG=1' "$TMP/notify.log")
[[ $pings -ge 5 ]] && ok "the watchdog is fed at half its 200 ms interval ($pings pings in ~1 s)" ||
  bad "only $pings watchdog pings"
kill -TERM "$NPID"
wait "$NPID"
check_eq "a clean stop exits 0" "$?" 0
grep -q 'STOPPING=1' "$TMP/notify.log" && ok "STOPPING=1 at the stop" || bad "no STOPPING=1"
# Two signals back to back: the second one's handler leaves at once.
"$LOOM" --config "$TMP/notify.toml" --out "$TMP/out-notify2" >"$TMP/notify-loom2.log" 2>&1 &
NPID=$!
BG_PIDS+=("$NPID")
for _ in $(seq 100); do grep -q 'worker 0 on lcore' "$TMP/notify-loom2.log" && break; sleep 0.1; done
# Two different signals: the same one sent twice can merge into one while
# it is still pending (seen: exit 0). Which of the two a thread of the
# process takes second is the kernel's choice: it exits 128 + that one.
kill -INT "$NPID"; kill -TERM "$NPID"
wait "$NPID"
rc=$?
[[ $rc == 130 || $rc == 143 ]] && ok "a second signal exits at once ($rc)" ||
  bad "a second signal exits at once: got $rc, expected 130 or 143"
[[ ! -e /var/run/dpdk/$NPREFIX ]] && ok "runtime directory removed after the second signal's exit" ||
  bad "/var/run/dpdk/$NPREFIX left after exit 143"
kill -TERM "$LISTEN_PID" 2>/dev/null

# ------------------------------------------------------------ 6. existing
echo "== a second run into the same directory"
OFF=$TMP/offline
cap=$ROOT/tests/data/sample.pcap
"$LOOM" --pcap "$cap" --out "$OFF" >/dev/null 2>"$TMP/off1.err" || die "offline run failed: $(cat "$TMP/off1.err")"
sum1=$(cd "$OFF" && sha256sum messages.jsonl streams.jsonl http.gor stats.json)
n1=$(wc -l <"$OFF/messages.jsonl")
"$LOOM" --pcap "$cap" --out "$OFF" >/dev/null 2>"$TMP/off2.err"
rc=$?
check_eq "default: a second run into the directory exits 1" "$rc" 1
grep -q "the output directory $OFF already holds an earlier run's files" "$TMP/off2.err" &&
  grep -q 'existing = "append"' "$TMP/off2.err" &&
  ok "the refusal names the directory and the way out" || bad "refusal unclear: $(cat "$TMP/off2.err")"
check_eq "refused: the first run's files are untouched" "$(cd "$OFF" && sha256sum messages.jsonl streams.jsonl http.gor stats.json)" "$sum1"
"$LOOM" --pcap "$cap" --out "$OFF" --existing append >/dev/null 2>"$TMP/off3.err" || bad "append run failed"
check_eq "append: messages.jsonl holds both runs" "$(wc -l <"$OFF/messages.jsonl")" $((2 * n1))
check_eq "append: the first run's records come first, unchanged" \
  "$(head -n "$n1" "$OFF/messages.jsonl" | sha256sum)" "$(echo "$sum1" | awk '$2=="messages.jsonl"{print $1}')  -"
printf 'mode = "offline"\n[outputs]\nexisting = "rotate"\n' >"$TMP/rotate.toml"
"$LOOM" --pcap "$cap" --out "$OFF" --config "$TMP/rotate.toml" >/dev/null 2>"$TMP/off4.err" || bad "rotate run failed"
moved=$(ls -d "$OFF"/run-* 2>/dev/null | head -1)
if [[ -n $moved && $(wc -l <"$moved/messages.jsonl") -eq $((2 * n1)) && $(wc -l <"$OFF/messages.jsonl") -eq $n1 ]]; then
  ok "rotate: the earlier files moved to ${moved#"$OFF"/}, the new run starts afresh"
else bad "rotate: $(ls "$OFF")"; fi

summary
[[ $FAIL -eq 0 ]]
