#!/usr/bin/env bash
# End-to-end test of Loom's inline relay between two network namespaces.
#
#   netns loomA<pid>: vA 10.99.0.1/24 ==veth== vA-d<pid>  (Loom port "west")
#   netns loomB<pid>: vB 10.99.0.2/24 ==veth== vB-d<pid>  (Loom port "east")
#
# Loom (net_af_packet on vA-d/vB-d, drivers_cfg/af-packet-lab.toml with the
# interface names and the EAL file prefix made unique for this run) is the
# only path between the namespaces. nginx serves from ns B; curl in ns A
# downloads a 5 MB file (sha256 checked) and makes 200 keep-alive requests on
# one connection. Then Loom is stopped with SIGTERM and its stats.json is
# compared, packet for packet, with the kernel counters of vA and vB.
#
# Exact comparison needs links that carry nothing but the test's traffic:
# IPv6 is off on all four interfaces before they come up (no RS/ND/MLD/DAD)
# and ARP is replaced by permanent neighbour entries.
#
# Runs as root; exit 0 all passed, 1 a failure, 77 skipped (not root, no
# `ip netns`). Env: LOOM=path to the binary (default build/app/loom),
# LOOM_E2E_KEEP=1 keeps the temporary directory.
set -u
set -o pipefail

SELF=$(basename "$0")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LOOM=${LOOM:-$ROOT/build/app/loom}
LAB_TOML=$ROOT/drivers_cfg/af-packet-lab.toml

PASS=0
FAIL=0

summary() { echo "e2e: $PASS passed, $FAIL failed"; }

skip() {
  echo "SKIP: $SELF: $*"
  echo "e2e: 0 passed, 0 failed"
  exit 77
}

ok() {
  PASS=$((PASS + 1))
  echo "PASS: $*"
}

bad() {
  FAIL=$((FAIL + 1))
  echo "FAIL: $*"
}

# check DESCRIPTION ACTUAL EXPECTED: an exact (string) comparison.
check_eq() {
  if [[ "$2" == "$3" ]]; then ok "$1 ($2)"; else bad "$1: got '$2', expected '$3'"; fi
}

# die MESSAGE: a set-up step failed; count it, show what we have, stop.
die() {
  bad "$*"
  show_logs
  summary
  exit 1
}

# ---------------------------------------------------------------- preflight
[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, veth, af_packet)"
ip netns list >/dev/null 2>&1 || skip "'ip netns' is not available"

for tool in "$LOOM" /usr/sbin/nginx curl jq ethtool sysctl sha256sum ss dpdk-telemetry.py; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "$SELF: missing $tool"
    FAIL=1
    summary
    exit 1
  fi
done
[[ -r "$LAB_TOML" ]] || { echo "$SELF: cannot read $LAB_TOML"; FAIL=1; summary; exit 1; }

# ---------------------------------------------------------------- names
S=$$
NSA=loomA$S
NSB=loomB$S
IFA=vA                 # inside NSA
IFB=vB                 # inside NSB
IFAD=vA-d$S            # root ns, Loom port "west" (<= 11 chars)
IFBD=vB-d$S            # root ns, Loom port "east"
IPA=10.99.0.1
IPB=10.99.0.2
PREFIX=loom-e2e-$S
TMP=$(mktemp -d /tmp/loom-e2e.XXXXXX) || { echo "$SELF: mktemp failed"; exit 1; }
chmod 755 "$TMP"
OUT=$TMP/out
WWW=$TMP/www
LOOM_LOG=$TMP/loom.log
LOOM_PID=
NGINX_PID=
FG_PID=
NS_CREATED=0

show_logs() {
  if [[ -f $LOOM_LOG ]]; then
    echo "----- Loom log ($LOOM_LOG) -----"
    tail -n 60 "$LOOM_LOG"
    echo "-----"
  fi
  if [[ -s $TMP/nginx-error.log ]]; then
    echo "----- nginx error log -----"
    tail -n 20 "$TMP/nginx-error.log"
    echo "-----"
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $FG_PID ]]; then
    kill -TERM "$FG_PID" 2>/dev/null
    wait "$FG_PID" 2>/dev/null
  fi
  if [[ -n $LOOM_PID ]] && kill -0 "$LOOM_PID" 2>/dev/null; then
    kill -TERM "$LOOM_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$LOOM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$LOOM_PID" 2>/dev/null
    wait "$LOOM_PID" 2>/dev/null
  fi
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    kill -TERM "$NGINX_PID" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$NGINX_PID" 2>/dev/null
    wait "$NGINX_PID" 2>/dev/null
  fi
  if [[ $NS_CREATED -eq 1 ]]; then
    # Deleting a namespace destroys its veth end and with it the peer.
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    ip link del "$IFAD" 2>/dev/null
    ip link del "$IFBD" 2>/dev/null
  fi
  rm -rf "/var/run/dpdk/$PREFIX"
  if [[ ${LOOM_E2E_KEEP:-0} == 1 ]]; then
    echo "$SELF: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'bad "interrupted (SIGINT)"; summary; exit 130' INT
trap 'bad "terminated (SIGTERM)"; summary; exit 143' TERM

# fg_run CMD...: run a long command so that SIGINT/SIGTERM reach the
# script at once (bash runs traps only after a foreground command ends, but
# interrupts `wait`); the trap then stops the command through FG_PID.
fg_run() {
  "$@" &
  FG_PID=$!
  wait "$FG_PID"
  local rc=$?
  FG_PID=
  return "$rc"
}

# ns_exec NS CMD...: run in a namespace.
ns_exec() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# if_counters NS IF: "rx_packets tx_packets" of an interface in a namespace.
if_counters() {
  ip -n "$1" -s -j link show dev "$2" | jq -r '.[0].stats64 | "\(.rx.packets) \(.tx.packets)"'
}

# tcp_csum_errors NS: the namespace's TcpInCsumErrors (what a frame relayed
# with an unfinished checksum turns into).
tcp_csum_errors() {
  ip netns exec "$1" awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InCsumErrors") c = i; h = 1 }
                                    else print (c ? $c : 0) }' /proc/net/snmp
}

# ------------------------------------------------------------ 1. the links
echo "== set-up: namespaces $NSA/$NSB, veths $IFA<->$IFAD, $IFB<->$IFBD, tmp $TMP"
ip netns add "$NSA" || die "cannot create netns $NSA"
NS_CREATED=1
ip netns add "$NSB" || die "cannot create netns $NSB"
ip link add name "$IFA" netns "$NSA" type veth peer name "$IFAD" || die "cannot create veth $IFA/$IFAD"
ip link add name "$IFB" netns "$NSB" type veth peer name "$IFBD" || die "cannot create veth $IFB/$IFBD"

# IPv6 off before any link comes up, so no router solicitation, DAD or MLD
# report is ever sent.
sysctl -qw "net.ipv6.conf.$IFAD.disable_ipv6=1" || die "cannot disable IPv6 on $IFAD"
sysctl -qw "net.ipv6.conf.$IFBD.disable_ipv6=1" || die "cannot disable IPv6 on $IFBD"
ns_exec "$NSA" sysctl -qw "net.ipv6.conf.$IFA.disable_ipv6=1" || die "cannot disable IPv6 on $IFA"
ns_exec "$NSB" sysctl -qw "net.ipv6.conf.$IFB.disable_ipv6=1" || die "cannot disable IPv6 on $IFB"

# The kernel fills TCP checksums late (CHECKSUM_PARTIAL) when TX offload is
# on; af_packet would hand Loom frames with unfinished checksums.
ns_exec "$NSA" ethtool -K "$IFA" tx off >/dev/null || die "ethtool -K $IFA tx off failed"
ns_exec "$NSB" ethtool -K "$IFB" tx off >/dev/null || die "ethtool -K $IFB tx off failed"

ip -n "$NSA" addr add "$IPA/24" dev "$IFA" || die "cannot address $IFA"
ip -n "$NSB" addr add "$IPB/24" dev "$IFB" || die "cannot address $IFB"
MAC_A=$(ip -n "$NSA" -j link show dev "$IFA" | jq -r '.[0].address')
MAC_B=$(ip -n "$NSB" -j link show dev "$IFB" | jq -r '.[0].address')
# Static neighbours: no ARP on the wire, now or when entries would age.
ip -n "$NSA" neigh add "$IPB" lladdr "$MAC_B" dev "$IFA" nud permanent || die "neigh add in $NSA"
ip -n "$NSB" neigh add "$IPA" lladdr "$MAC_A" dev "$IFB" nud permanent || die "neigh add in $NSB"

ip link set "$IFAD" up || die "cannot bring $IFAD up"
ip link set "$IFBD" up || die "cannot bring $IFBD up"
ip -n "$NSA" link set "$IFA" up || die "cannot bring $IFA up"
ip -n "$NSB" link set "$IFB" up || die "cannot bring $IFB up"
ip -n "$NSA" link set lo up
ip -n "$NSB" link set lo up

# ------------------------------------------------------------ 2. Loom
mkdir -p "$OUT" "$WWW"
TOML=$TMP/af-packet-lab.toml
sed -e "s/iface=vA-d,/iface=$IFAD,/" \
    -e "s/iface=vB-d,/iface=$IFBD,/" \
    -e "s/^file_prefix *= *\"[^\"]*\"/file_prefix = \"$PREFIX\"/" \
    "$LAB_TOML" >"$TOML"
grep -q "iface=$IFAD," "$TOML" && grep -q "iface=$IFBD," "$TOML" &&
  grep -q "^file_prefix = \"$PREFIX\"" "$TOML" ||
  die "could not substitute interface names / file_prefix into a copy of $LAB_TOML"
"$LOOM" --check-config "$TOML" >/dev/null 2>"$TMP/check.err" ||
  die "loom --check-config rejects the lab file: $(cat "$TMP/check.err")"

# Baseline before Loom opens its sockets: nothing should ever move these
# except the test's own traffic.
read -r A_RX0 A_TX0 <<<"$(if_counters "$NSA" "$IFA")"
read -r B_RX0 B_TX0 <<<"$(if_counters "$NSB" "$IFB")"

echo "== starting Loom: $LOOM --config $TOML --out $OUT"
T_START=$(date +%s.%N)
"$LOOM" --config "$TOML" --out "$OUT" >"$LOOM_LOG" 2>&1 &
LOOM_PID=$!

ready=0
for _ in $(seq 200); do  # 20 s
  if ! kill -0 "$LOOM_PID" 2>/dev/null; then
    wait "$LOOM_PID"
    die "Loom exited during start-up (exit code $?)"
  fi
  # The worker line comes after every port is set up; the telemetry socket
  # answers earlier (during EAL init), so wait for both.
  if grep -q "worker 0 on lcore" "$LOOM_LOG" &&
    echo /loom/info | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null | grep -q '"/loom/info"'; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ $ready -eq 1 ]] || die "Loom not ready after 20 s (no telemetry reply on prefix $PREFIX or no worker launched)"
ok "Loom started ($(awk -v s="$T_START" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}') s)"
if grep -q "degraded" "$LOOM_LOG"; then
  echo "note: Loom reports degraded ports:"
  grep "degraded" "$LOOM_LOG" | sed 's/^/  /'
fi

# ------------------------------------------------------------ 3. nginx in B
head -c $((5 * 1024 * 1024)) /dev/urandom >"$WWW/big.bin" || die "cannot write big.bin"
echo "hello from loom e2e" >"$WWW/small.txt"
chmod 644 "$WWW"/*
SMALL_SIZE=$(stat -c %s "$WWW/small.txt")
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 64; }
http {
  access_log $TMP/nginx-access.log;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 1000;
  keepalive_timeout 60s;
  server {
    listen $IPB:8080;
    root $WWW;
  }
}
EOF
# `ip netns exec` execs nginx (not a shell function: that would fork a
# subshell, and $! would not be nginx's pid).
ip netns exec "$NSB" /usr/sbin/nginx -p "$TMP/nginx" -c "$TMP/nginx.conf" >"$TMP/nginx.out" 2>&1 &
NGINX_PID=$!
listening=0
for _ in $(seq 100); do  # 10 s
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.out"; die "nginx exited at start-up"; }
  if ns_exec "$NSB" ss -Hltn "sport = :8080" | grep -q "$IPB:8080"; then
    listening=1
    break
  fi
  sleep 0.1
done
[[ $listening -eq 1 ]] || die "nginx not listening on $IPB:8080 after 10 s"

# Nothing may have crossed the links during Loom's and nginx's start-up.
read -r A_RX1 A_TX1 <<<"$(if_counters "$NSA" "$IFA")"
read -r B_RX1 B_TX1 <<<"$(if_counters "$NSB" "$IFB")"
check_eq "links quiet before traffic (vA rx/tx, vB rx/tx)" \
  "$A_RX1/$A_TX1 $B_RX1/$B_TX1" "$A_RX0/$A_TX0 $B_RX0/$B_TX0"

# ------------------------------------------------------------ 4. traffic
echo "== traffic: 5 MB download, then 200 keep-alive requests"
T_TRAFFIC=$(date +%s.%N)
CURL=(timeout 120 curl -sS --connect-timeout 15)
if fg_run ip netns exec "$NSA" "${CURL[@]}" -o "$TMP/big.dl" "http://$IPB:8080/big.bin" \
  2>"$TMP/curl-big.err"; then
  want=$(sha256sum <"$WWW/big.bin" | cut -d' ' -f1)
  got=$(sha256sum <"$TMP/big.dl" | cut -d' ' -f1)
  check_eq "5 MB download through Loom, sha256" "$got" "$want"
  big_ok=1
else
  bad "5 MB download failed: $(cat "$TMP/curl-big.err")"
  big_ok=0
fi

if [[ $big_ok -eq 1 ]]; then
  args=()
  for _ in $(seq 200); do args+=(-o /dev/null "http://$IPB:8080/small.txt"); done
  fg_run ip netns exec "$NSA" "${CURL[@]}" -w '%{http_code} %{num_connects} %{size_download}\n' \
    "${args[@]}" >"$TMP/keepalive.txt" 2>"$TMP/curl-ka.err"
  ka_rc=$?
  [[ $ka_rc -eq 0 ]] || echo "curl (keep-alive) exited $ka_rc: $(sort -u "$TMP/curl-ka.err" | head -5)"
  n200=$(awk -v sz="$SMALL_SIZE" '$1 == 200 && $3 == sz' "$TMP/keepalive.txt" | wc -l)
  conns=$(awk '{ s += $2 } END { print s + 0 }' "$TMP/keepalive.txt")
  check_eq "keep-alive: responses 200 with the full body" "$n200" 200
  check_eq "keep-alive: TCP connections opened by curl for 200 requests" "$conns" 1
else
  # Each of 200 URLs would wait for its own connect timeout.
  bad "keep-alive requests not attempted: TCP does not cross the relay"
fi
check_eq "TCP checksum errors in $NSA / $NSB (TcpInCsumErrors)" \
  "$(tcp_csum_errors "$NSA") / $(tcp_csum_errors "$NSB")" "0 / 0"
echo "traffic took $(awk -v s="$T_TRAFFIC" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e-s}') s"

# ------------------------------------------------------------ 5. counters
# Let the last segments (FIN/ACK of the closing connection) cross Loom.
# Loom stops polling at SIGTERM (frames still in its RX rings stay
# uncounted), so stop it only once nothing is in flight: two identical
# kernel readings in a row, and Loom's live counters (telemetry) equal to
# them. Under CPU contention the worker may lag the kernel for a while.
settled=0
prev=
for _ in $(seq 40); do  # 10 s
  sleep 0.25
  cur="$(if_counters "$NSA" "$IFA") $(if_counters "$NSB" "$IFB")"
  if [[ $cur == "$prev" ]]; then
    read -r a_rx a_tx b_rx b_tx <<<"$cur"
    live=$(echo /loom/ports | dpdk-telemetry.py -f "$PREFIX" 2>/dev/null |
      jq -r '.["/loom/ports"] | "\(.west.rx_packets) \(.west.tx_packets) \(.east.rx_packets) \(.east.tx_packets)"' 2>/dev/null)
    want="$((a_tx - A_TX0)) $((a_rx - A_RX0)) $((b_tx - B_TX0)) $((b_rx - B_RX0))"
    if [[ $live == "$want" ]]; then
      settled=1
      break
    fi
  fi
  prev=$cur
done
read -r A_RX A_TX B_RX B_TX <<<"$cur"
A_RX=$((A_RX - A_RX0)); A_TX=$((A_TX - A_TX0))
B_RX=$((B_RX - B_RX0)); B_TX=$((B_TX - B_TX0))
if [[ $settled -eq 1 ]]; then
  ok "traffic settled: kernel counters still, Loom's live counters caught up"
else
  bad "traffic not settled after 10 s (kernel: vA rx/tx vB rx/tx '$cur'; Loom west rx/tx east rx/tx '${live:-?}')"
fi

echo "== stopping Loom (SIGTERM)"
kill -TERM "$LOOM_PID"
exited=0
for _ in $(seq 100); do  # 10 s
  if ! kill -0 "$LOOM_PID" 2>/dev/null; then exited=1; break; fi
  sleep 0.1
done
if [[ $exited -eq 1 ]]; then
  wait "$LOOM_PID"
  loom_rc=$?
  LOOM_PID=
  check_eq "Loom exit code after SIGTERM" "$loom_rc" 0
else
  bad "Loom still running 10 s after SIGTERM"
fi

# Counters must not have moved while Loom stopped either.
cur2="$(if_counters "$NSA" "$IFA") $(if_counters "$NSB" "$IFB")"
[[ $cur2 == "$cur" ]] || echo "note: kernel counters moved while Loom stopped: '$cur' -> '$cur2'"

STATS=$OUT/stats.json
if jq -e . "$STATS" >/dev/null 2>&1; then
  ok "stats.json written and valid JSON"
  port() { jq -r --arg n "$1" --arg k "$2" '.ports[] | select(.name == $n) | .[$k]' "$STATS"; }
  W_RX=$(port west rx_packets); W_TX=$(port west tx_packets)
  E_RX=$(port east rx_packets); E_TX=$(port east tx_packets)
  T_RX=$(jq -r '.totals.rx_packets' "$STATS"); T_TX=$(jq -r '.totals.tx_packets' "$STATS")
  TX_FULL=$(jq -r '.totals.drops.tx_full' "$STATS")

  echo
  printf '  %-34s %10s   %-22s %10s\n' "Loom (stats.json)" packets "kernel" packets
  printf '  %-34s %10s = %-22s %10s\n' "west rx (from vA-d)" "$W_RX" "vA tx (ns $NSA)" "$A_TX"
  printf '  %-34s %10s = %-22s %10s\n' "east tx (to vB-d)" "$E_TX" "vB rx (ns $NSB)" "$B_RX"
  printf '  %-34s %10s = %-22s %10s\n' "east rx (from vB-d)" "$E_RX" "vB tx (ns $NSB)" "$B_TX"
  printf '  %-34s %10s = %-22s %10s\n' "west tx (to vA-d)" "$W_TX" "vA rx (ns $NSA)" "$A_RX"
  printf '  %-34s %10s\n' "workers rx / tx" "$T_RX / $T_TX"
  printf '  %-34s %10s\n' "drops.tx_full" "$TX_FULL"
  jq -r '.ports[] | "  \(.name): imissed \(.imissed) ierrors \(.ierrors) oerrors \(.oerrors) rx_nombuf \(.rx_nombuf)"' "$STATS"
  echo

  check_eq "west rx_packets == vA tx_packets" "$W_RX" "$A_TX"
  check_eq "east tx_packets == vB rx_packets" "$E_TX" "$B_RX"
  check_eq "east rx_packets == vB tx_packets" "$E_RX" "$B_TX"
  check_eq "west tx_packets == vA rx_packets" "$W_TX" "$A_RX"
  check_eq "totals.drops.tx_full" "$TX_FULL" 0
  # The workers' own counters must agree with the ports' (a frame a PMD
  # reports sent but did not count, or the reverse, shows up here).
  check_eq "workers rx == ports rx (west+east)" "$T_RX" "$((W_RX + E_RX))"
  check_eq "workers tx == ports tx (west+east)" "$T_TX" "$((W_TX + E_TX))"
  # Inspection ran on the same frames: both connections (the download and
  # the keep-alive one) rebuilt in both directions, without a gap, and the
  # download's server stream holds at least the 5 MB body.
  STREAMS=$OUT/streams.jsonl
  check_eq "streams.jsonl: two connections, both directions" "$(wc -l <"$STREAMS")" 4
  check_eq "streams.jsonl: gaps" "$(jq -s 'map(.gaps) | add' "$STREAMS")" 0
  check_eq "streams.jsonl: connections ended by FIN" "$(jq -s '[.[] | select(.end == "fin")] | length' "$STREAMS")" 4
  check_eq "streams.jsonl: download stream >= 5 MB" \
    "$(jq -s '[.[] | select(.dir == "s2c" and .bytes > 5242880)] | length' "$STREAMS")" 1
  # And framed: the download plus the 200 keep-alive requests, each answered
  # by a complete 200 carrying the id of its request.
  MSGS=$OUT/messages.jsonl
  check_eq "messages.jsonl: complete requests" \
    "$(jq -s '[.[] | select(.kind == "request" and .complete)] | length' "$MSGS")" 201
  check_eq "messages.jsonl: complete 200 responses, paired" \
    "$(jq -s '[.[] | select(.kind == "response" and .complete and .status == 200 and .paired)] | length' "$MSGS")" 201
  check_eq "messages.jsonl: the download's body length" \
    "$(jq -s '[.[] | select(.kind == "response" and .body_len == 5242880)] | length' "$MSGS")" 1
  check_eq "messages.jsonl: response ids that match a request" \
    "$(jq -s '([.[] | select(.kind == "request") | .id]) as $q | [.[] | select(.kind == "response" and (.id as $i | $q | index($i)))] | length' "$MSGS")" 201
else
  bad "no valid $STATS"
fi

if [[ $FAIL -gt 0 ]]; then show_logs; fi
summary
[[ $FAIL -eq 0 ]]
