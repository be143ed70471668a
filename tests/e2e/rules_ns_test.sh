#!/usr/bin/env bash
# End-to-end test of operator rules ([[rule]]), steering ([steering]), rule
# reload (SIGHUP) and the mirror output ([mirror]) through real traffic.
#
#   netns loomA<pid>: vA 10.99.0.1/24 ==veth== vA-d<pid>  (Loom port "west")
#   netns loomB<pid>: vB 10.99.0.2/24 ==veth== vB-d<pid>  (Loom port "east")
#
# The links of relay_ns_test.sh (tests/e2e/lib.sh); nginx in ns B listens
# on 10.99.0.2:80 and :8080, curl runs in ns A. Each scenario starts its
# own Loom from drivers_cfg/af-packet-lab.toml (this run's interface names,
# a file prefix of its own) plus the scenario's sections, and stops it
# with SIGTERM (exit code 0 expected) before reading stats.json:
#
#   drop    [[rule]] action = "drop", path "^/admin": /admin/x never gets
#           an answer (curl --max-time 3) while other files are served
#           before and after; drops.rule_drop and http_verdicts.drop count
#           it, messages.jsonl still has the request
#   reject  the same with reject = true: curl fails fast with a reset
#           (exit 52/56). A binary that does not send the RST yet (curl
#           times out and no reject counter moved) gives SKIP, not FAIL
#   steer   [steering] service_ports = [80], other = "drop" (software
#           steering: af_packet has no rte_flow): :80 works, :8080 does
#           not, drops.steer_drop counts it, streams.jsonl has no :8080
#           connection; loom --check-flows says "software" for both ports
#   reload  rule ^/a, curls to /b in a loop succeed, then the file is
#           rewritten to block ^/b and Loom gets SIGHUP: /loom/rules
#           (telemetry) reaches generation 2, /b fails, /a works; a bad
#           file (regex "a(") and SIGHUP leave generation 2 running and
#           count reload_errors; curls to /c run throughout, all answered
#   mirror  [mirror] VXLAN (VNI 42) into a pcap via net_pcap, rule
#           action = "mirror" on ^/api: the pcap holds the /api/x
#           connection's packets only (tshark), the mirror counters move
#
# Runs as root; exit 0 all passed, 1 a failure, 77 skipped (not root, no
# `ip netns`). Env: LOOM=path to the binary (default build/app/loom),
# LOOM_E2E_KEEP=1 keeps the temporary directory, LOOM_E2E_SCENARIOS=
# "drop reject steer reload mirror" (the default) picks scenarios.
set -u
set -o pipefail

E2E_SUITE=e2e-rules
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
E2E_SOFT_START=1  # a Loom that does not start fails its scenario only

SCENARIOS=${LOOM_E2E_SCENARIOS:-drop reject steer reload mirror}
SKIPS=()

# note_skip WHAT: a check that could not be made (not a pass, not a failure).
note_skip() {
  SKIPS+=("$*")
  echo "SKIP: $*"
}

# ---------------------------------------------------------------- preflight
e2e_preflight "$LOOM" /usr/sbin/nginx curl jq ethtool sysctl ss dpdk-telemetry.py timeout
HAVE_TSHARK=0
command -v tshark >/dev/null 2>&1 && HAVE_TSHARK=1

e2e_names
e2e_traps
T0=$(date +%s.%N)
e2e_setup_links

# ---------------------------------------------------------------- nginx in B
mkdir -p "$WWW/admin" "$WWW/api"
echo "index" >"$WWW/index.html"
echo "admin" >"$WWW/admin/x"
echo "api" >"$WWW/api/x"
echo "other" >"$WWW/other"
for f in a b c; do echo "file $f" >"$WWW/$f"; done
chmod -R a+rX "$WWW"
e2e_nginx_conf "$IPB:80" "$IPB:8080"
e2e_start_nginx 80 8080
# Straight between the namespaces nothing crosses yet: no Loom runs.
if ns_exec "$NSA" curl -s -o /dev/null --max-time 1 "http://$IPB/index.html"; then
  die "ns A reaches ns B without Loom: the namespaces are not isolated"
fi

# ---------------------------------------------------------------- helpers
# http_get URL [MAX_TIME]: "RC CODE SECONDS LOCAL_PORT" of one curl from ns A.
http_get() {
  local out rc
  out=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time "${2:-3}" \
    -w '%{http_code} %{time_total} %{local_port}' "$1" 2>/dev/null)
  rc=$?
  echo "$rc ${out:-000 0 0}"
}

# expect_ok DESC URL: curl gets a 200. Sets LAST_PORT (curl's local port).
expect_ok() {
  local rc code t
  read -r rc code t LAST_PORT <<<"$(http_get "$2")"
  if [[ $rc -eq 0 && $code == 200 ]]; then
    ok "$1: $2 answered 200 (${t} s)"
  else
    bad "$1: $2 not answered: curl exit $rc, HTTP $code after ${t} s"
  fi
}

# expect_blocked DESC URL: curl (--max-time 3) gets no answer.
expect_blocked() {
  local rc code t port
  read -r rc code t port <<<"$(http_get "$2")"
  if [[ $rc -ne 0 ]]; then
    ok "$1: $2 got no answer (curl exit $rc after ${t} s)"
  else
    bad "$1: $2 was answered (HTTP $code in ${t} s), expected no answer"
  fi
}

# check_ge DESC ACTUAL MIN: ACTUAL is a number >= MIN.
check_ge() {
  if [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3)); then ok "$1 ($2 >= $3)"; else bad "$1: got '$2', expected >= $3"; fi
}

# sj FILTER: a value from this scenario's stats.json ("" without one).
sj() { jq -r "$1 // empty" "$OUT/stats.json" 2>/dev/null; }

# stat_paths REGEX: "path value" of every number in stats.json whose path
# matches REGEX (case-insensitive), one per line.
stat_paths() {
  jq -r --arg re "$1" 'paths(numbers) as $p | ($p | map(tostring) | join(".")) as $k
    | select($k | test($re; "i")) | "\($k) \(getpath($p))"' "$OUT/stats.json" 2>/dev/null
}

# rules_info FIELD: a field of the /loom/rules telemetry reply ("" if none).
rules_info() {
  telemetry "$SPREFIX" /loom/rules | jq -r --arg f "$1" '.["/loom/rules"][$f] // empty' 2>/dev/null
}

# wait_for_rules FIELD MIN TENTHS: poll /loom/rules until FIELD >= MIN.
# Prints the last value; returns 1 on time-out.
wait_for_rules() {
  local v=
  for _ in $(seq "$3"); do
    v=$(rules_info "$1")
    if [[ $v =~ ^[0-9]+$ ]] && ((v >= $2)); then echo "$v"; return 0; fi
    sleep 0.1
  done
  echo "$v"
  return 1
}

# loom_alive: Loom has not died (checked between steps).
loom_alive() {
  [[ -n $LOOM_PID ]] && kill -0 "$LOOM_PID" 2>/dev/null
}

# bg_wait PID TENTHS: wait for a background helper to end on its own,
# bounded; stop it if it does not.
bg_wait() {
  for _ in $(seq "$2"); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && { echo "note: helper $1 still running, stopping it"; stop_pid "$1" 10; }
  wait "$1" 2>/dev/null
}

# curl_loop LOG STOPFILE MAX URL: up to MAX curls of URL from ns A, one
# every ~0.1 s, until STOPFILE exists; "RC CODE SECONDS" per line in LOG.
curl_loop() {
  local log=$1 stop=$2 max=$3 url=$4 out rc
  for _ in $(seq "$max"); do
    [[ -e $stop ]] && break
    out=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 3 -w '%{http_code} %{time_total}' "$url" 2>/dev/null)
    rc=$?
    echo "$rc ${out:-000 0}" >>"$log"
    sleep 0.1
  done
}

# count_lines FILE: its number of lines, 0 when it does not exist yet.
count_lines() {
  if [[ -f $1 ]]; then wc -l <"$1"; else echo 0; fi
}

# loop_result DESC LOG MIN: every curl of a curl_loop was answered 200, and
# there were at least MIN.
loop_result() {
  local n good
  n=$(count_lines "$2")
  good=$(awk '$1 == 0 && $2 == 200' "$2" 2>/dev/null | wc -l)
  if ((n >= $3 && good == n)); then
    ok "$1: $good/$n answered 200"
  else
    bad "$1: $good/$n answered 200 (at least $3 expected, all answered); failures: $(awk '!($1 == 0 && $2 == 200)' "$2" | sort | uniq -c | tr '\n' ';')"
  fi
}

# flush_sockets: abort every TCP connection in both namespaces (ss -K),
# with no Loom running, so that the RSTs go nowhere. A connection a rule or
# steering cut keeps retransmitting (the client's request and FIN, nginx's
# FIN at its timeout); the next scenario's Loom would see those segments
# mid-stream, with no verdict, and relay them into its own counters and
# records.
flush_sockets() {
  local left
  ns_exec "$NSA" ss -K -Htn dst "$IPB" >/dev/null 2>&1
  ns_exec "$NSB" ss -K -Htn dst "$IPA" >/dev/null 2>&1
  left=$( (ns_exec "$NSA" ss -Htn; ns_exec "$NSB" ss -Htn) | grep -vc '^TIME-WAIT')
  ((left == 0)) || echo "note: $left TCP connection(s) left in the namespaces (ss -K unsupported?): leftovers of earlier scenarios may cross this one's Loom"
}

# scenario_begin NAME EXTRA_TOML: the lab file plus EXTRA_TOML in
# $TMP/NAME/loom.toml, checked; sets SDIR, TOML, OUT, LOOM_LOG, SPREFIX.
# Returns 1 (counted as a failure) when --check-config refuses it.
SCN=0
scenario_begin() {
  SCN=$((SCN + 1))
  SNAME=$1
  E2E_CONTEXT=$1
  SDIR=$TMP/$1
  TOML=$SDIR/loom.toml
  OUT=$SDIR/out
  LOOM_LOG=$SDIR/loom.log
  SPREFIX=$PREFIX-$SCN
  T_SCN=$(date +%s.%N)
  mkdir -p "$SDIR" "$OUT"
  echo
  echo "=============== scenario $SCN: $1"
  flush_sockets
  write_toml "$2"
  if ! "$LOOM" --check-config "$TOML" >"$SDIR/check.out" 2>&1; then
    bad "$SNAME: loom --check-config refuses the scenario's file: $(tr '\n' ' ' <"$SDIR/check.out")"
    return 1
  fi
}

# write_toml EXTRA_TOML: (re)write $TOML, atomically (rename).
write_toml() {
  e2e_lab_toml "$TOML.new" "$SPREFIX"
  printf '\n%s\n' "$1" >>"$TOML.new"
  mv -f "$TOML.new" "$TOML"
}

# scenario_end: stop whatever the scenario left running.
scenario_end() {
  local pid
  for pid in "${BG_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && stop_pid "$pid" 30; done
  BG_PIDS=()
  if [[ -n $LOOM_PID ]]; then
    echo "note: stopping the scenario's Loom left running"
    stop_pid "$LOOM_PID" 50
    LOOM_PID=
  fi
  flush_sockets
  echo "scenario $SNAME took $(elapsed "$T_SCN") s"
}

# ------------------------------------------------------------ 1. drop
RULE_DROP_ADMIN='[[rule]]
name = "block-admin"
action = "drop"
path = "^/admin"'

scenario_drop() {
  scenario_begin drop "$RULE_DROP_ADMIN" || return
  e2e_start_loom "$TOML" "$OUT" "$SPREFIX" || return
  expect_ok "drop: before" "http://$IPB/index.html"
  expect_blocked "drop: rule block-admin" "http://$IPB/admin/x"
  expect_ok "drop: after" "http://$IPB/index.html"
  local seen
  seen=$(grep -c ' /admin/x ' "$TMP/nginx-access.log" 2>/dev/null)
  echo "note: nginx access log lines for /admin/x: ${seen:-0} (0: Loom withheld the request itself)"
  e2e_stop_loom
  check_ge "drop: workers[0].drops.rule_drop" "$(sj '.workers[0].drops.rule_drop')" 1
  check_ge "drop: totals.http_verdicts.drop" "$(sj '.totals.http_verdicts.drop')" 1
  check_ge "drop: rules.hits[\"block-admin\"]" "$(sj '.rules.hits["block-admin"]')" 1
  local req
  req=$(jq -c 'select(.kind == "request" and .uri == "/admin/x")' "$OUT/messages.jsonl" 2>/dev/null | head -1)
  if [[ -n $req ]]; then
    ok "drop: messages.jsonl has the /admin/x request"
    echo "  $req"
    check_eq "drop: the request's rule and action" "$(jq -r '"\(.rule) \(.action)"' <<<"$req")" "block-admin drop"
  else
    bad "drop: no /admin/x request in messages.jsonl"
  fi
}

# ------------------------------------------------------------ 1b. reject
scenario_reject() {
  scenario_begin reject "$RULE_DROP_ADMIN
reject = true" || return
  e2e_start_loom "$TOML" "$OUT" "$SPREFIX" || return
  expect_ok "reject: before" "http://$IPB/index.html"
  local rc code t port srv_est
  read -r rc code t port <<<"$(http_get "http://$IPB/admin/x")"
  echo "reject: /admin/x: curl exit $rc, HTTP $code after $t s (client port $port)"
  # "Both ways": nginx's end of that connection must be gone too (without
  # a reset it stays established, waiting for the withheld request).
  sleep 0.2
  srv_est=$(ns_exec "$NSB" ss -Htn state established "( dport = :$port )" | grep -c .)
  expect_ok "reject: after" "http://$IPB/index.html"
  e2e_stop_loom
  check_ge "reject: workers[0].drops.rule_drop" "$(sj '.workers[0].drops.rule_drop')" 1
  # Evidence that this binary sends resets: a counter named reject/rst that
  # moved (not the flow table's ended_rst nor rst_without_flow), or a log line.
  local evidence
  evidence=$(stat_paths '(^|[._])(reject|rst)' | awk '$1 !~ /rst_without_flow|ended_rst/ && $2 > 0' | paste -sd ' ')
  [[ -z $evidence ]] && evidence=$(grep -i -m1 'reject\|reset' "$LOOM_LOG")
  if [[ $rc -eq 0 ]]; then
    bad "reject: /admin/x was answered (HTTP $code), expected a reset"
  elif [[ $rc -eq 52 || $rc -eq 56 ]] && awk -v t="$t" 'BEGIN { exit !(t < 1.5) }'; then
    ok "reject: /admin/x reset fast (curl exit $rc after $t s)"
    check_eq "reject: nginx's end of the /admin/x connection reset too (established sockets left)" "$srv_est" 0
    [[ -n $evidence ]] && echo "  reject evidence: $evidence"
  elif [[ $rc -eq 28 && -z $evidence ]]; then
    note_skip "reject: NOT IMPLEMENTED in this binary? /admin/x timed out like a plain drop (curl exit 28 after $t s), nginx's end still established ($srv_est), and no reject/RST counter or log line shows a reset was sent"
  else
    bad "reject: /admin/x: curl exit $rc after $t s, expected a fast reset (exit 52 or 56, < 1.5 s)${evidence:+; reject evidence: $evidence}"
  fi
}

# ------------------------------------------------------------ 2. steering
scenario_steer() {
  scenario_begin steer '[steering]
service_ports = [80]
other = "drop"' || return
  local rc p verdict
  timeout 60 "$LOOM" --check-flows "$TOML" >"$SDIR/check-flows.out" 2>"$SDIR/check-flows.err"
  rc=$?
  check_eq "steer: loom --check-flows exit code" "$rc" 0
  sed 's/^/  | /' "$SDIR/check-flows.out"
  for p in west east; do
    verdict=$(awk -v p="$p" '$1 == "port" { cur = $2 } cur == p && $1 == "=>" { $1 = ""; print substr($0, 2) }' \
      "$SDIR/check-flows.out")
    if [[ $verdict == software* ]]; then
      ok "steer: --check-flows port $p: $verdict"
    else
      bad "steer: --check-flows port $p: '${verdict:-no verdict line}', expected software"
    fi
  done
  e2e_start_loom "$TOML" "$OUT" "$SPREFIX" || return
  grep -i 'steering' "$LOOM_LOG" | sed 's/^/  log: /'
  expect_ok "steer: service port 80" "http://$IPB/index.html"
  expect_blocked "steer: port 8080 (other = drop)" "http://$IPB:8080/index.html"
  expect_ok "steer: service port 80 again" "http://$IPB/index.html"
  e2e_stop_loom
  check_ge "steer: workers[0].drops.steer_drop" "$(sj '.workers[0].drops.steer_drop')" 1
  check_eq "steer: streams.jsonl lines with port 8080" \
    "$(jq -r 'select((.src | endswith(":8080")) or (.dst | endswith(":8080")))' "$OUT/streams.jsonl" 2>/dev/null | grep -c '^{')" 0
  check_eq "steer: streams.jsonl lines of port 80 connections (2 connections, both directions)" \
    "$(jq -r 'select((.src | endswith(":80")) or (.dst | endswith(":80")))' "$OUT/streams.jsonl" 2>/dev/null | grep -c '^{')" 4
}

# ------------------------------------------------------------ 3. reload
rule_path() {  # rule_path NAME REGEX: a drop rule on the path
  printf '[[rule]]\nname = "%s"\naction = "drop"\npath = "%s"\n' "$1" "$2"
}

scenario_reload() {
  scenario_begin reload "$(rule_path block-a '^/a')" || return
  e2e_start_loom "$TOML" "$OUT" "$SPREFIX" || return
  local gen errs t_hup
  gen=$(wait_for_rules generation 1 50)
  check_eq "reload: /loom/rules generation at start" "$gen" 1
  echo "  /loom/rules: $(telemetry "$SPREFIX" /loom/rules)"
  expect_ok "reload: gen 1, /b" "http://$IPB/b"
  expect_blocked "reload: gen 1, /a blocked" "http://$IPB/a"

  # Traffic all along: /c (no rule ever matches it) until the end; /b
  # until just before the reload (each must be answered).
  curl_loop "$SDIR/loop-c.log" "$SDIR/stop-c" 200 "http://$IPB/c" &
  BG_PIDS+=($!)
  local loop_c=$!
  curl_loop "$SDIR/loop-b.log" "$SDIR/stop-b" 40 "http://$IPB/b" &
  BG_PIDS+=($!)
  local loop_b=$!
  for _ in $(seq 50); do  # until 5 /b answers, at most 5 s
    (($(count_lines "$SDIR/loop-b.log") >= 5)) && break
    sleep 0.1
  done
  touch "$SDIR/stop-b"
  bg_wait "$loop_b" 50
  loop_result "reload: loop of /b before the reload" "$SDIR/loop-b.log" 5

  echo "== rewriting $TOML: ^/b instead of ^/a, SIGHUP"
  write_toml "$(rule_path block-b '^/b')"
  t_hup=$(date +%s.%N)
  kill -HUP "$LOOM_PID"
  if gen=$(wait_for_rules generation 2 100); then
    ok "reload: /loom/rules generation 2 after SIGHUP ($(elapsed "$t_hup") s)"
  else
    bad "reload: /loom/rules generation '$gen' 10 s after SIGHUP, expected 2"
  fi
  echo "  /loom/rules: $(telemetry "$SPREFIX" /loom/rules)"
  loom_alive || bad "reload: Loom died after the SIGHUP"
  expect_ok "reload: gen 2, /a" "http://$IPB/a"
  expect_blocked "reload: gen 2, /b blocked" "http://$IPB/b"

  echo "== rewriting $TOML with a bad pattern (path = \"a(\"), SIGHUP"
  write_toml "$(rule_path block-b 'a(')"
  t_hup=$(date +%s.%N)
  kill -HUP "$LOOM_PID"
  if errs=$(wait_for_rules reload_errors 1 100); then
    ok "reload: /loom/rules reload_errors $errs after a bad file ($(elapsed "$t_hup") s)"
  else
    bad "reload: /loom/rules reload_errors '$errs' 10 s after SIGHUP with a bad file, expected >= 1"
  fi
  check_eq "reload: generation unchanged by the bad file" "$(rules_info generation)" 2
  echo "  /loom/rules: $(telemetry "$SPREFIX" /loom/rules)"
  grep -i 'reload\|rules' "$LOOM_LOG" | tail -5 | sed 's/^/  log: /'
  loom_alive || bad "reload: Loom died after the bad SIGHUP"
  expect_blocked "reload: still gen 2, /b blocked" "http://$IPB/b"
  expect_ok "reload: still gen 2, /a" "http://$IPB/a"

  touch "$SDIR/stop-c"
  bg_wait "$loop_c" 50
  loop_result "reload: loop of /c across both reloads" "$SDIR/loop-c.log" 10
  if loom_alive; then ok "reload: Loom still running after both reloads"; else bad "reload: Loom is not running"; fi
  e2e_stop_loom
  check_ge "reload: totals.http_verdicts.drop (/a, then /b twice)" "$(sj '.totals.http_verdicts.drop')" 3
  check_ge "reload: workers[0].drops.rule_drop" "$(sj '.workers[0].drops.rule_drop')" 1
  check_eq "reload: stats.json rules generation/reloads/reload_errors" \
    "$(sj '.rules | "\(.generation)/\(.reloads)/\(.reload_errors)"')" "2/1/1"
  check_ge "reload: rules.hits[\"block-b\"] (generation 2: /b twice)" "$(sj '.rules.hits["block-b"]')" 2
}

# ------------------------------------------------------------ 4. mirror
scenario_mirror() {
  local pcap=$TMP/mirror/mirror.pcap
  scenario_begin mirror "[[rule]]
name = \"mirror-api\"
action = \"mirror\"
path = \"^/api\"

[mirror]
device = \"net_pcap2,tx_pcap=$pcap\"
encap = \"vxlan\"
vni = 42
src_ip = \"192.0.2.1\"
dst_ip = \"192.0.2.9\"
dst_mac = \"02:00:00:00:00:09\"" || return
  e2e_start_loom "$TOML" "$OUT" "$SPREFIX" || return
  local api_port other_port
  expect_ok "mirror: /api/x" "http://$IPB/api/x"
  api_port=$LAST_PORT
  expect_ok "mirror: /other" "http://$IPB/other"
  other_port=$LAST_PORT
  echo "  client ports: /api/x $api_port, /other $other_port"
  sleep 0.3  # the closing FIN/ACKs through Loom
  e2e_stop_loom

  check_ge "mirror: totals.http_verdicts.mirror" "$(sj '.totals.http_verdicts.mirror')" 1
  local counters
  counters=$(stat_paths mirror | grep -v 'http_verdicts')
  echo "  stats.json mirror counters:"
  echo "${counters:-(none)}" | sed 's/^/    /'
  local copies
  copies=$(sj '.totals.mirror.copies')
  check_ge "mirror: totals.mirror.copies" "$copies" 1
  check_ge "mirror: workers[0].mirror.copies" "$(sj '.workers[0].mirror.copies')" 1
  check_eq "mirror: totals.mirror truncated/no_mbuf/tx_full" \
    "$(sj '.totals.mirror | "\(.truncated)/\(.no_mbuf)/\(.tx_full)"')" "0/0/0"
  check_eq "mirror: rules.hits[\"mirror-api\"]" "$(sj '.rules.hits["mirror-api"]')" 1

  if [[ ! -s $pcap ]]; then
    bad "mirror: $pcap missing or empty"
    return
  fi
  if [[ $HAVE_TSHARK -ne 1 ]]; then
    note_skip "mirror: tshark not installed: the pcap's contents are not checked"
    return
  fi
  local fields n_all n_vx vnis uris ports outer
  n_all=$(tshark -r "$pcap" -T fields -e frame.number 2>/dev/null | wc -l)
  fields=$(tshark -r "$pcap" -Y vxlan -T fields -e vxlan.vni -e http.request.uri 2>/dev/null)
  n_vx=$(grep -c . <<<"$fields")
  echo "  mirror.pcap: $n_all frame(s), $n_vx VXLAN; URIs: $(cut -f2 <<<"$fields" | grep . | sort | uniq -c | awk '{print $2 " x" $1}' | paste -sd ' ')"
  check_ge "mirror: VXLAN frames in mirror.pcap" "$n_vx" 1
  check_eq "mirror: VXLAN frames in mirror.pcap == totals.mirror.copies" "$n_vx" "$copies"
  vnis=$(cut -f1 <<<"$fields" | sort -u | paste -sd ' ')
  check_eq "mirror: VNIs" "$vnis" "42"
  uris=$(cut -f2 <<<"$fields" | grep . | sort -u | paste -sd ' ')
  check_eq "mirror: request URIs in the mirrored frames" "$uris" "/api/x"
  # Every mirrored frame belongs to the /api/x connection (its client
  # port), in both directions.
  ports=$(tshark -r "$pcap" -Y vxlan -T fields -e tcp.srcport -e tcp.dstport 2>/dev/null)
  check_eq "mirror: frames not of the /api/x connection (client port $api_port)" \
    "$(awk -v p="$api_port" '!($1 == p || $2 == p)' <<<"$ports" | grep -c .)" 0
  check_ge "mirror: mirrored frames client -> server" "$(awk -v p="$api_port" '$1 == p' <<<"$ports" | grep -c .)" 1
  check_ge "mirror: mirrored frames server -> client" "$(awk -v p="$api_port" '$2 == p' <<<"$ports" | grep -c .)" 1
  outer=$(tshark -r "$pcap" -Y vxlan -T fields -E occurrence=f -e eth.dst -e ip.src -e ip.dst -e udp.dstport \
    2>/dev/null | sort -u | tr '\t' ' ' | paste -sd ';')
  check_eq "mirror: outer eth.dst ip.src ip.dst udp.dstport" "$outer" "02:00:00:00:00:09 192.0.2.1 192.0.2.9 4789"
}

# ---------------------------------------------------------------- run
for s in $SCENARIOS; do
  case $s in
    drop | reject | steer | reload | mirror) ;;
    *) die "unknown scenario '$s' in LOOM_E2E_SCENARIOS (drop reject steer reload mirror)" ;;
  esac
  "scenario_$s"
  scenario_end
done

echo
echo "total time $(elapsed "$T0") s"
if ((${#SKIPS[@]})); then
  echo "skipped checks (${#SKIPS[@]}):"
  printf '  %s\n' "${SKIPS[@]}"
fi
summary
[[ $FAIL -eq 0 ]]
