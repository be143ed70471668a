# shellcheck shell=bash
# The impaired lab of the soak and fault tests (tests/e2e/soak_ns_test.sh,
# tests/e2e/faults_ns_test.sh), on top of tests/e2e/lib.sh (source that
# first, then call soak_names after e2e_names):
#
#   netns soakA<pid>: vA 10.99.0.1/24 ==veth== vI0  (netns soakI<pid>)
#   netns soakI<pid>: loom_impair relay vI0 <-> vI1; vI1 ==veth== skA<pid>
#                     (netns soakL<pid>, Loom port "west")
#                     loom_impair relay vJ0 <-> vJ1; vJ1 ==veth== skB<pid>
#                     (netns soakL<pid>, Loom port "east")
#   netns soakB<pid>: vB 10.99.0.2/24 ==veth== vJ0 (netns soakI<pid>)
#
# The impairing steps (tests/e2e/loom_impair.cc; the kernel has no
# sch_netem), one on each side of Loom, drop and reorder a share of the
# frames of one TCP port and pass every other frame untouched: so Loom
# sees holes and late segments in both directions (loss before it) and
# retransmissions of what it relayed (loss after it). The links carry
# nothing but the test's traffic (IPv6 off, static neighbours), so the
# kernel's counters and Loom's can be compared frame for frame. Loom runs
# in a namespace of its own (E2E_LOOM_NETNS) too: frames that something
# in the root namespace sends on every interface never reach its ports.

IMPAIR=${IMPAIR:-$ROOT/build/tests/loom_impair}

# soak_names: this suite's names (NAME "soak" in every netns, veth and EAL
# prefix, so they cannot collide with other suites').
# shellcheck disable=SC2034
soak_names() {
  NSA=soakA$S
  NSB=soakB$S
  NSI=soakI$S
  NSL=soakL$S
  E2E_LOOM_NETNS=$NSL
  E2E_EXTRA_NS+=("$NSL")
  IFAD=skA$S             # NSL, Loom port "west" (peer: vI1 in NSI, or vA)
  IFBD=skB$S             # NSL, Loom port "east" (peer: vJ1 in NSI, or vB)
  IFI0=vI0               # NSI, facing the clients
  IFI1=vI1               # NSI, facing Loom's west port
  IFJ0=vJ0               # NSI, facing nginx
  IFJ1=vJ1               # NSI, facing Loom's east port
  PREFIX=loom-soak-$S
  E2E_PREFIXES=("$PREFIX")
  E2E_EXTRA_NS+=("$NSI")
  IMPAIR_PIDS=()
}

# soak_setup_links [IMPAIRED]: namespaces and veths; with IMPAIRED=1 (the
# default) both namespaces reach Loom through NSI, else directly
# (vA <-> skA, vB <-> skB). WEST_NS/WEST_IF and EAST_NS/EAST_IF name the
# kernel interfaces facing Loom's ports (whose counters are compared).
soak_setup_links() {
  local impaired=${1:-1}
  echo "== set-up: netns $NSA/$NSB$([[ $impaired == 1 ]] && echo "/$NSI"), Loom ports $IFAD/$IFBD, tmp $TMP"
  ip netns add "$NSA" || die "cannot create netns $NSA"
  NS_CREATED=1
  ip netns add "$NSB" || die "cannot create netns $NSB"
  ip netns add "$NSL" || die "cannot create netns $NSL"
  if [[ $impaired == 1 ]]; then
    ip netns add "$NSI" || die "cannot create netns $NSI"
    ip link add name "$IFA" netns "$NSA" type veth peer name "$IFI0" netns "$NSI" || die "veth $IFA/$IFI0"
    ip link add name "$IFI1" netns "$NSI" type veth peer name "$IFAD" netns "$NSL" || die "veth $IFI1/$IFAD"
    ip link add name "$IFB" netns "$NSB" type veth peer name "$IFJ0" netns "$NSI" || die "veth $IFB/$IFJ0"
    ip link add name "$IFJ1" netns "$NSI" type veth peer name "$IFBD" netns "$NSL" || die "veth $IFJ1/$IFBD"
    WEST_NS=$NSI WEST_IF=$IFI1 EAST_NS=$NSI EAST_IF=$IFJ1
  else
    ip link add name "$IFA" netns "$NSA" type veth peer name "$IFAD" netns "$NSL" || die "veth $IFA/$IFAD"
    ip link add name "$IFB" netns "$NSB" type veth peer name "$IFBD" netns "$NSL" || die "veth $IFB/$IFBD"
    WEST_NS=$NSA WEST_IF=$IFA EAST_NS=$NSB EAST_IF=$IFB
  fi

  # IPv6 off before any link comes up: no RS, DAD or MLD on the wire.
  ns_exec "$NSL" sysctl -qw "net.ipv6.conf.$IFAD.disable_ipv6=1" || die "disable IPv6 on $IFAD"
  ns_exec "$NSL" sysctl -qw "net.ipv6.conf.$IFBD.disable_ipv6=1" || die "disable IPv6 on $IFBD"
  ns_exec "$NSA" sysctl -qw "net.ipv6.conf.$IFA.disable_ipv6=1" || die "disable IPv6 on $IFA"
  ns_exec "$NSB" sysctl -qw "net.ipv6.conf.$IFB.disable_ipv6=1" || die "disable IPv6 on $IFB"
  if [[ $impaired == 1 ]]; then
    local i
    for i in "$IFI0" "$IFI1" "$IFJ0" "$IFJ1"; do
      ns_exec "$NSI" sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1" || die "disable IPv6 on $i"
      # Frames reach the impairer as they were sent: no GRO merging them
      # past the MTU, no offloads on the way out.
      ns_exec "$NSI" ethtool -K "$i" gro off tso off gso off tx off >/dev/null 2>&1
    done
  fi
  ns_exec "$NSA" ethtool -K "$IFA" tx off >/dev/null || die "ethtool -K $IFA tx off"
  ns_exec "$NSB" ethtool -K "$IFB" tx off >/dev/null || die "ethtool -K $IFB tx off"
  # Short-lived connections by the ten thousand: every local port, and
  # ports in TIME_WAIT reused (timestamps make that safe).
  ns_exec "$NSA" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
  ns_exec "$NSA" sysctl -qw net.ipv4.tcp_tw_reuse=1
  ns_exec "$NSB" sysctl -qw net.core.somaxconn=4096

  ip -n "$NSA" addr add "$IPA/24" dev "$IFA" || die "cannot address $IFA"
  ip -n "$NSB" addr add "$IPB/24" dev "$IFB" || die "cannot address $IFB"
  MAC_A=$(ip -n "$NSA" -j link show dev "$IFA" | jq -r '.[0].address')
  MAC_B=$(ip -n "$NSB" -j link show dev "$IFB" | jq -r '.[0].address')
  ip -n "$NSA" neigh add "$IPB" lladdr "$MAC_B" dev "$IFA" nud permanent || die "neigh add in $NSA"
  ip -n "$NSB" neigh add "$IPA" lladdr "$MAC_A" dev "$IFB" nud permanent || die "neigh add in $NSB"

  ip -n "$NSL" link set "$IFAD" up || die "cannot bring $IFAD up"
  ip -n "$NSL" link set "$IFBD" up || die "cannot bring $IFBD up"
  if [[ $impaired == 1 ]]; then
    ip -n "$NSI" link set "$IFI0" up || die "cannot bring $IFI0 up"
    ip -n "$NSI" link set "$IFI1" up || die "cannot bring $IFI1 up"
    ip -n "$NSI" link set "$IFJ0" up || die "cannot bring $IFJ0 up"
    ip -n "$NSI" link set "$IFJ1" up || die "cannot bring $IFJ1 up"
  fi
  ip -n "$NSA" link set "$IFA" up || die "cannot bring $IFA up"
  ip -n "$NSB" link set "$IFB" up || die "cannot bring $IFB up"
  ip -n "$NSA" link set lo up
  ip -n "$NSB" link set lo up
}

# soak_start_impair PORT LOSS_PCT REORDER_PCT: both impairing steps in NSI
# (west: vI0 -> vI1 is "a_to_b", towards Loom; east: vJ0 -> vJ1 likewise).
soak_start_impair() {
  local side a b seed=17
  for side in west east; do
    if [[ $side == west ]]; then a=$IFI0 b=$IFI1; else a=$IFJ0 b=$IFJ1; fi
    rm -f "$TMP/impair-$side.ready"
    ip netns exec "$NSI" "$IMPAIR" relay --a "$a" --b "$b" --port "$1" --loss-pct "$2" \
      --reorder-pct "$3" --seed $((seed++)) --stats "$TMP/impair-$side.json" \
      --ready "$TMP/impair-$side.ready" >"$TMP/impair-$side.log" 2>&1 &
    IMPAIR_PIDS+=($!)
    BG_PIDS+=($!)
    for _ in $(seq 50); do [[ -e $TMP/impair-$side.ready ]] && break; sleep 0.1; done
    [[ -e $TMP/impair-$side.ready ]] || { cat "$TMP/impair-$side.log"; die "impairing step $side not ready after 5 s"; }
  done
}

# soak_stop_impair: SIGTERM; each writes $TMP/impair-{west,east}.json.
soak_stop_impair() {
  local p
  for p in "${IMPAIR_PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    wait "$p" 2>/dev/null
  done
  IMPAIR_PIDS=()
}

# soak_nginx_conf PORT...: nginx for many connections, with an access log
# the test reads back: port, URI, status, bytes sent.
soak_nginx_conf() {
  mkdir -p "$TMP/nginx"
  local listen="" l
  for l in "$@"; do listen+="    listen $IPB:$l backlog=4096;"$'\n'; done
  cat >"$TMP/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  log_format soak '\$server_port \$request_uri \$status \$bytes_sent';
  access_log $TMP/nginx-access.log soak buffer=256k flush=1s;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  server {
${listen}    root $WWW;
  }
}
EOF
}

# ports_settle: waits (up to 10 s) until the kernel's counters stand still
# and Loom's live port counters equal them. Loom stops polling at SIGTERM,
# so frames still in its RX rings would go uncounted. Sets K_* (kernel
# deltas since soak_baseline) and returns 1 when it did not settle.
# soak_baseline first, before Loom starts.
soak_baseline() {
  read -r WR0 WT0 <<<"$(if_counters "$WEST_NS" "$WEST_IF")"
  read -r ER0 ET0 <<<"$(if_counters "$EAST_NS" "$EAST_IF")"
}
ports_settle() {
  local prev="" cur live want
  for _ in $(seq 40); do
    sleep 0.25
    cur="$(if_counters "$WEST_NS" "$WEST_IF") $(if_counters "$EAST_NS" "$EAST_IF")"
    if [[ $cur == "$prev" ]]; then
      read -r a_rx a_tx b_rx b_tx <<<"$cur"
      live=$(telemetry "$PREFIX" /loom/ports |
        jq -r '.["/loom/ports"] | "\(.west.rx_packets) \(.west.tx_packets) \(.east.rx_packets) \(.east.tx_packets)"' 2>/dev/null)
      want="$((a_tx - WT0)) $((a_rx - WR0)) $((b_tx - ET0)) $((b_rx - ER0))"
      if [[ $live == "$want" ]]; then
        read -r K_WEST_TX K_WEST_RX K_EAST_TX K_EAST_RX <<<"$want"
        return 0
      fi
    fi
    prev=$cur
  done
  read -r a_rx a_tx b_rx b_tx <<<"$cur"
  K_WEST_TX=$((a_tx - WT0)) K_WEST_RX=$((a_rx - WR0)) K_EAST_TX=$((b_tx - ET0)) K_EAST_RX=$((b_rx - ER0))
  echo "  not settled: kernel (west peer tx rx, vB tx rx) '$K_WEST_TX $K_WEST_RX $K_EAST_TX $K_EAST_RX', Loom '$live'"
  return 1
}

# rss_kb PID: resident set size in kB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# check_le DESC ACTUAL MAX / check_ge DESC ACTUAL MIN (integers).
check_le() {
  if [[ $2 =~ ^-?[0-9]+$ ]] && (($2 <= $3)); then ok "$1 ($2 <= $3)"; else bad "$1: got '$2', expected <= $3"; fi
}
check_ge() {
  if [[ $2 =~ ^-?[0-9]+$ ]] && (($2 >= $3)); then ok "$1 ($2 >= $3)"; else bad "$1: got '$2', expected >= $3"; fi
}

# unexpected_losses STATS ALLOW_REGEX: every loss counter of stats.json
# that moved (name=value), except those matching ALLOW_REGEX. A loss
# counter is a drop reason, a port error, a dropped record, an OFO drop,
# a gap, a memcap hit, a full table, a write error, a parse error, a
# malformed frame, a mirror copy lost.
unexpected_losses() {
  jq -r '
    def nz: select(.value != 0) | "\(.key)=\(.value)";
    [ (.totals.drops | to_entries[] | "drops." + (nz)),
      (.ports[] as $p | $p | to_entries[]
         | select(.key == "imissed" or .key == "ierrors" or .key == "oerrors" or .key == "rx_nombuf")
         | "\($p.name)." + (nz)),
      (.totals.http | to_entries[]
         | select(.key | test("^(records_dropped|raw_dropped|parse_errors|pipeline_overflow|oversize_headers|not_http|ambiguous|unpaired_responses)$"))
         | "http." + (nz)),
      (.totals.streams | to_entries[]
         | select(.key | test("dropped|missed")) | "streams." + (nz)),
      (.totals.reasm | to_entries[]
         | select(.key | test("^(ofo_dropped|ofo_pruned|gaps|gap_bytes|memcap_hits|ofo_reclaimed|capture_loss_bytes|overlap_conflicts)$"))
         | "reasm." + (nz)),
      (.totals.flows | to_entries[]
         | select(.key | test("^(table_full_drops|evicted_full|wrong_core)$")) | "flows." + (nz)),
      (.totals.malformed // {} | to_entries[] | "malformed." + (nz)),
      (.totals.mirror // {} | to_entries[] | select(.key != "copies") | "mirror." + (nz)),
      (.outputs | to_entries[] | .key as $o | .value | to_entries[]
         | select(.key == "write_errors") | "outputs.\($o)." + (nz))
    ] | .[]' "$1" 2>/dev/null | grep -Ev "${2:-^$}" | paste -sd ' '
}
