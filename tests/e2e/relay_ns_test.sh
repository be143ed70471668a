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

E2E_SUITE=e2e
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- preflight
e2e_preflight "$LOOM" /usr/sbin/nginx curl jq ethtool sysctl sha256sum ss dpdk-telemetry.py

# ---------------------------------------------------------------- names
e2e_names
e2e_traps

# ------------------------------------------------------------ 1. the links
e2e_setup_links

# ------------------------------------------------------------ 2. Loom
mkdir -p "$OUT" "$WWW"
TOML=$TMP/af-packet-lab.toml
e2e_lab_toml "$TOML" "$PREFIX"
e2e_check_config "$TOML"

# Baseline before Loom opens its sockets: nothing should ever move these
# except the test's own traffic.
read -r A_RX0 A_TX0 <<<"$(if_counters "$NSA" "$IFA")"
read -r B_RX0 B_TX0 <<<"$(if_counters "$NSB" "$IFB")"

e2e_start_loom "$TOML" "$OUT" "$PREFIX"

# ------------------------------------------------------------ 3. nginx in B
head -c $((5 * 1024 * 1024)) /dev/urandom >"$WWW/big.bin" || die "cannot write big.bin"
echo "hello from loom e2e" >"$WWW/small.txt"
chmod 644 "$WWW"/*
SMALL_SIZE=$(stat -c %s "$WWW/small.txt")
e2e_nginx_conf "$IPB:8080"
e2e_start_nginx 8080

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

e2e_stop_loom

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
