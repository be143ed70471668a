#!/usr/bin/env bash
# End-to-end test of mirror collector selection by measured latency, with
# hysteresis ([mirror] + [[collectors]] + [probe]) through real traffic.
#
#   netns loomA<pid>: vA 10.99.0.1/24 ==veth== vA-d<pid>  (Loom port "west")
#   netns loomB<pid>: vB 10.99.0.2/24 ==veth== vB-d<pid>  (Loom port "east")
#   netns loomC<pid>: vM 10.98.0.11/24, .12/24, .13/24
#                          ==veth== vM-d<pid>  (Loom's mirror port, net_af_packet2,
#                                               qpairs=2: one worker + the prober)
#
# The links of relay_ns_test.sh (tests/e2e/lib.sh); nginx in ns B on
# 10.99.0.2:80, curl in ns A; a rule action = "mirror" on server_port 80
# mirrors every connection. In ns C, tests/e2e/udp_echo_delay.py plays
# three collectors, c1 .11, c2 .12, c3 .13: it echoes Loom's UDP probes
# (port 7007) after a per-collector delay the test changes live
# ($TMP/coll/delay_<ip>: milliseconds, or "stop" for no answer), and
# counts the VXLAN copies (UDP 4789) each address receives
# ($TMP/coll/vxlan_<ip>). ns C's kernel answers Loom's ARP for the three
# addresses; it has a permanent neighbour entry for Loom's 10.98.0.1 (the
# test does not rely on Loom answering ARP). Probe timing is shortened
# (window 3 s, full round every 2 s, incremental every 0.5 s, timeout
# 0.5 s, lost after 3); margin 10 ms, ratio 0.667.
#
#   plumbing  before Loom: the responder answers through the veth with
#             its delays (from a temporary 10.98.0.1 in the root ns), ARP
#             for the three addresses works, self-test datagrams to 4789
#             are not counted as VXLAN
#   silent    Loom starts with no collector answering: the current one is
#             the fallback F (rendezvous hash of the file prefix), every
#             MAC is resolved by ARP
#   initial   delays c1 5, c2 40, c3 80 ms: current becomes c1; curls to
#             ns B are answered and their copies reach .11 only
#   1 hold    c1 45 ms (worse than c2 by 5 ms, less than the margin): for
#             2 windows current stays c1, switches unchanged, c1's best
#             RTT becomes >= 45 ms (the 5 ms answers aged out)
#   2 better  c1 150 ms: current becomes c2, reason "better", one switch;
#             new copies reach .12 only
#   3 lost    c2 stops answering: current leaves c2, reason "lost", for c3
#             (80 ms) rather than c1 (150 ms); new copies reach .13 only
#   4 fallback  a fallback is a switch only from a current X != F once
#             every other collector is lost, so: (4a, only when F is c3)
#             c1 back to 5 ms makes c1 current ("better"); (4b) all but X
#             stop and age out of the window while X stays current; (4c)
#             X stops: reason "fallback", current is F again, one switch,
#             and it stays; the relay and the mirror (to F) go on
#   end       telemetry's per-collector "mirrored" equals what each address
#             received, VNI 42, outer source 10.98.0.1; SIGTERM exits 0;
#             stats.json has totals.mirror.copies == the VXLAN datagrams
#             received, and per collector the same counts as the responder
#
# Runs as root; exit 0 all passed, 1 a failure, 77 skipped (not root, no
# `ip netns`). Env: LOOM=path to the binary (default build/app/loom),
# LOOM_E2E_KEEP=1 keeps the temporary directory. The collectors resolve
# Loom's mirror address by ARP, which Loom answers from its own port.
set -u
set -o pipefail

E2E_SUITE=e2e-collectors
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
RESPONDER=$ROOT/tests/e2e/udp_echo_delay.py

# ---------------------------------------------------------------- preflight
e2e_preflight "$LOOM" /usr/sbin/nginx curl jq ethtool sysctl ss dpdk-telemetry.py timeout python3
[[ -r $RESPONDER ]] || { echo "$SELF: cannot read $RESPONDER"; FAIL=1; summary; exit 1; }

e2e_names
NSC=loomC$S
IFM=vM                 # inside NSC
IFMD=vM-d$S            # root ns, Loom's mirror port
IPM=10.98.0.1          # Loom's address on the mirror link (mirror.src_ip)
NAMES=(c1 c2 c3)
declare -A CIP=([c1]=10.98.0.11 [c2]=10.98.0.12 [c3]=10.98.0.13)
ECHO_PORT=7007
CDIR=$TMP/coll
RESPONDER_PID=
E2E_EXTRA_NS+=("$NSC")
E2E_EXTRA_LINKS+=("$IFMD")
e2e_traps
T0=$(date +%s.%N)
mkdir -p "$CDIR"

# ---------------------------------------------------------------- helpers
# check_ge DESC ACTUAL MIN: ACTUAL is a number >= MIN.
check_ge() {
  if [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3)); then ok "$1 ($2 >= $3)"; else bad "$1: got '$2', expected >= $3"; fi
}

# check_range DESC ACTUAL MIN MAX: MIN <= ACTUAL <= MAX (integers).
check_range() {
  if [[ $2 =~ ^[0-9]+$ ]] && (($2 >= $3 && $2 <= $4)); then
    ok "$1 ($2 in [$3, $4])"
  else
    bad "$1: got '$2', expected in [$3, $4]"
  fi
}

# set_delay NAME MS|stop: the responder's answer delay for a collector.
set_delay() {
  echo "$2" >"$CDIR/delay_${CIP[$1]}.new" && mv -f "$CDIR/delay_${CIP[$1]}.new" "$CDIR/delay_${CIP[$1]}"
}

# vx NAME: VXLAN datagrams received so far at the collector's address.
vx() {
  local v
  v=$(cat "$CDIR/vxlan_${CIP[$1]}" 2>/dev/null)
  echo "${v:-0}"
}

# vx_all: "c1=N c2=N c3=N".
vx_all() {
  local n out=""
  for n in "${NAMES[@]}"; do out+="$n=$(vx "$n") "; done
  echo "${out% }"
}

# coll: Loom's /loom/collectors reply (the inner dict, one line; "" if
# none). COLL keeps the last one.
COLL=
coll() {
  COLL=$(telemetry "$PREFIX" /loom/collectors | jq -c '.["/loom/collectors"] // empty' 2>/dev/null)
  echo "$COLL"
}

# cf JQ: a value from COLL ("" if none).
cf() { jq -r "$1 // empty" <<<"$COLL" 2>/dev/null; }

# cc NAME FIELD: a field of the collector named NAME in COLL.
cc() {
  jq -r --arg n "$1" --arg f "$2" \
    '[.[] | objects | select(.name == $n)][0][$f] // empty' <<<"$COLL" 2>/dev/null
}

# show_coll: COLL in short, one line.
show_coll() {
  jq -r '"current=\(.current) switches=\(.switches) reason=\(.last_reason) no_coll=\(.mirror_no_collector) | "
    + ([to_entries[] | select(.value | type == "object") | .value
        | "\(.name) mac=\(.mac_known) rtt=\(.last_rtt_us // "-")/\(.best_rtt_us // "-")us probes=\(.probes_answered)/\(.probes_sent) to=\(.probes_timed_out // "-") mirrored=\(.mirrored) dropped=\(.mirror_dropped)"]
       | join("; "))' <<<"$COLL" 2>/dev/null || echo "$COLL"
}

# wait_coll SECONDS JQ: poll /loom/collectors (bounded by time and count)
# until JQ (a boolean expression over the reply) holds. WAITED is the time
# it took; returns 1 on time-out (COLL: the last reply).
wait_coll() {
  local t
  t=$(date +%s.%N)
  for _ in $(seq 200); do
    coll >/dev/null
    if [[ -n $COLL ]] && [[ $(jq -r "$2" <<<"$COLL" 2>/dev/null) == true ]]; then
      WAITED=$(elapsed "$t")
      return 0
    fi
    awk -v s="$t" -v e="$(date +%s.%N)" -v m="$1" 'BEGIN { exit !(e - s >= m) }' && break
    sleep 0.2
  done
  WAITED=$(elapsed "$t")
  return 1
}

# curls N: N requests from ns A to nginx in B (new connection each);
# counts one check (all answered 200). Waits for the responder's files.
curls() {
  local n=$1 good=0 code
  for _ in $(seq "$n"); do
    code=$(ip netns exec "$NSA" curl -s -o /dev/null --max-time 3 -w '%{http_code}' "http://$IPB/index.html" 2>/dev/null)
    [[ $code == 200 ]] && good=$((good + 1))
  done
  if ((good == n)); then ok "$CTX: $n curls answered 200"; else bad "$CTX: $good/$n curls answered 200"; fi
  sleep 0.5  # the last FIN/ACKs through Loom; the responder flushes every 100 ms
}

# traffic_to NAME N: N curls; their copies reach NAME's address only.
traffic_to() {
  local want=$1 n=$2 name d
  declare -A b
  for name in "${NAMES[@]}"; do b[$name]=$(vx "$name"); done
  curls "$n"
  echo "  vxlan counts: before $(for name in "${NAMES[@]}"; do printf '%s=%s ' "$name" "${b[$name]}"; done)after $(vx_all)"
  for name in "${NAMES[@]}"; do
    d=$(($(vx "$name") - b[$name]))
    if [[ $name == "$want" ]]; then
      # A curl is ~10 frames each way together; 2 per connection at least.
      check_ge "$CTX: new VXLAN copies at $name (${CIP[$name]})" "$d" $((2 * n))
    else
      check_eq "$CTX: new VXLAN copies at $name (${CIP[$name]})" "$d" 0
    fi
  done
}

loom_alive() {
  [[ -n $LOOM_PID ]] && kill -0 "$LOOM_PID" 2>/dev/null
}

phase() {
  CTX=$1
  echo
  echo "=============== $1 ($(elapsed "$T0") s)"
}

# ---------------------------------------------------------------- links
e2e_setup_links
echo "== set-up: netns $NSC, veth $IFM<->$IFMD (mirror link)"
ip netns add "$NSC" || die "cannot create netns $NSC"
ip link add name "$IFM" netns "$NSC" type veth peer name "$IFMD" || die "cannot create veth $IFM/$IFMD"
sysctl -qw "net.ipv6.conf.$IFMD.disable_ipv6=1" || die "cannot disable IPv6 on $IFMD"
ns_exec "$NSC" sysctl -qw "net.ipv6.conf.$IFM.disable_ipv6=1" || die "cannot disable IPv6 on $IFM"
# Echo replies are addressed to 10.98.0.1 at vM-d's MAC, which the root
# kernel receives too: never forward them (nor answer with ICMP).
sysctl -qw "net.ipv4.conf.$IFMD.forwarding=0" || die "cannot turn forwarding off on $IFMD"
ns_exec "$NSC" ethtool -K "$IFM" tx off >/dev/null || die "ethtool -K $IFM tx off failed"
for n in "${NAMES[@]}"; do
  ip -n "$NSC" addr add "${CIP[$n]}/24" dev "$IFM" || die "cannot add ${CIP[$n]} to $IFM"
done
MAC_MD=$(ip -j link show dev "$IFMD" | jq -r '.[0].address')
MAC_M=$(ip -n "$NSC" -j link show dev "$IFM" | jq -r '.[0].address')
# No static neighbour for Loom in ns C: its kernel asks by ARP whenever
# it forgets Loom's MAC, and only Loom can answer.
ip link set "$IFMD" up || die "cannot bring $IFMD up"
ip -n "$NSC" link set "$IFM" up || die "cannot bring $IFM up"
ip -n "$NSC" link set lo up
echo "  $IFM $MAC_M (collectors), $IFMD $MAC_MD (Loom)"

# ---------------------------------------------------------------- nginx in B
mkdir -p "$WWW"
echo "index" >"$WWW/index.html"
chmod -R a+rX "$WWW"
e2e_nginx_conf "$IPB:80"
e2e_start_nginx 80
if ns_exec "$NSA" curl -s -o /dev/null --max-time 1 "http://$IPB/index.html"; then
  die "ns A reaches ns B without Loom: the namespaces are not isolated"
fi

# ---------------------------------------------------------------- responder
phase "plumbing (no Loom)"
set_delay c1 5
set_delay c2 40
set_delay c3 80
IPS="${CIP[c1]},${CIP[c2]},${CIP[c3]}"
# `ip netns exec` execs python: $! is the responder. Bounded lifetime.
ip netns exec "$NSC" python3 "$RESPONDER" serve --dir "$CDIR" --ips "$IPS" \
  --echo-port "$ECHO_PORT" --lifetime 150 >"$CDIR/responder.log" 2>&1 &
RESPONDER_PID=$!
BG_PIDS+=("$RESPONDER_PID")
for _ in $(seq 50); do [[ -e $CDIR/ready ]] && break; sleep 0.1; done
[[ -e $CDIR/ready ]] || { cat "$CDIR/responder.log"; die "the responder is not ready after 5 s"; }

# From the root namespace through the veth: a temporary 10.98.0.1 on vM-d
# (removed again before Loom starts).
ip addr add "$IPM/24" dev "$IFMD" || die "cannot add $IPM to $IFMD"
probe_out=$(timeout 10 python3 "$RESPONDER" probe --src "$IPM" --ips "$IPS" --port "$ECHO_PORT" \
  --timeout 1 --selftest 2>&1)
neigh=$(ip -j neigh show dev "$IFMD" | jq -r '[.[] | select(.lladdr != null) | "\(.dst)=\(.lladdr)"] | join(" ")')
ip addr del "$IPM/24" dev "$IFMD"
ip neigh flush dev "$IFMD" 2>/dev/null
echo "  probe RTTs (ms): $(tr '\n' ' ' <<<"$probe_out")"
echo "  root ns ARP on $IFMD: $neigh"
for n in "${NAMES[@]}"; do
  rtt=$(awk -v ip="${CIP[$n]}" '$1 == ip { print $2 }' <<<"$probe_out")
  want=$(cat "$CDIR/delay_${CIP[$n]}")
  if [[ $rtt =~ ^[0-9.]+$ ]] && awk -v r="$rtt" -v w="$want" 'BEGIN { exit !(r >= w && r < w + 30) }'; then
    ok "plumbing: echo from $n ${CIP[$n]}:$ECHO_PORT in $rtt ms (delay $want ms)"
  else
    bad "plumbing: echo from $n ${CIP[$n]}:$ECHO_PORT: '${rtt:-none}' ms, expected $want to $((want + 30))"
  fi
  if grep -q "${CIP[$n]}=$MAC_M" <<<"$neigh"; then
    ok "plumbing: ns C answers ARP for ${CIP[$n]}"
  else
    bad "plumbing: no ARP answer for ${CIP[$n]} (root ns neighbours: $neigh)"
  fi
done
sleep 0.3
check_eq "plumbing: self-test datagrams to 4789 not counted as VXLAN" "$(vx_all)" "c1=0 c2=0 c3=0"
check_eq "plumbing: self-test datagrams seen (per address: 1 echo + 1 count)" \
  "$(jq -r '[.[] | .selftest] | map(tostring) | join(" ")' "$CDIR/responder.json")" "2 2 2"
RESP_BASE=$(jq -c 'map_values(.echo_rx)' "$CDIR/responder.json")
((FAIL == 0)) || die "the test's own plumbing does not work; not starting Loom"

# ---------------------------------------------------------------- Loom
TOML=$TMP/loom.toml
OUT_DIR=$OUT
mkdir -p "$OUT_DIR"
e2e_lab_toml "$TOML" "$PREFIX"
cat >>"$TOML" <<EOF

[[rule]]
name = "mirror-all"
action = "mirror"
server_port = [80]

[mirror]
device = "net_af_packet2,iface=$IFMD,qpairs=2"
encap = "vxlan"
vni = 42
src_ip = "$IPM"

[[collectors]]
name = "c1"
ip = "${CIP[c1]}"
multiplier = 1.0

[[collectors]]
name = "c2"
ip = "${CIP[c2]}"

[[collectors]]
name = "c3"
ip = "${CIP[c3]}"

[probe]
method = "udp"
udp_port = $ECHO_PORT
window_ms = 3000
full_every_ms = 2000
incremental_every_ms = 500
timeout_ms = 500
stagger_ms = 20
margin_ms = 10
ratio = 0.667
lost_after = 3
tries = 3
EOF
e2e_check_config "$TOML"

phase "silent: no collector answers yet"
for n in "${NAMES[@]}"; do set_delay "$n" stop; done
e2e_start_loom "$TOML" "$OUT_DIR" "$PREFIX"
grep -i 'mirror\|collector\|prob' "$LOOM_LOG" | sed 's/^/  log: /'
FALLBACK=
if wait_coll 5 '(.current // "") != ""'; then
  FALLBACK=$(cf .current)
  reason=$(cf .last_reason)
  echo "  $(show_coll)"
  if [[ $reason == initial || $reason == fallback ]]; then
    ok "silent: current '$FALLBACK' with nobody answering (reason $reason): the fallback F"
  else
    bad "silent: nobody answers, yet current '$FALLBACK' has reason '$reason' (expected initial or fallback)"
  fi
  check_eq "silent: switches" "$(cf .switches)" 0
else
  bad "silent: /loom/collectors has no current collector after 5 s: '$COLL'"
fi
if wait_coll 5 '[.[] | objects | (.mac_known == true or .mac_known == 1)] | length == 3 and all'; then
  ok "silent: every collector's MAC resolved by ARP (${WAITED} s)"
else
  bad "silent: MACs not all resolved after 5 s: $(show_coll)"
fi
check_eq "silent: current still F" "$(cf .current)" "$FALLBACK"
check_ge "silent: probes sent to c1" "$(cc c1 probes_sent)" 1
check_eq "silent: probes answered (c1 c2 c3)" "$(cc c1 probes_answered) $(cc c2 probes_answered) $(cc c3 probes_answered)" "0 0 0"

phase "initial: c1 5 ms, c2 40 ms, c3 80 ms"
set_delay c1 5
set_delay c2 40
set_delay c3 80
if wait_coll 10 '.current == "c1"'; then
  ok "initial: current c1 after ${WAITED} s (reason $(cf .last_reason), switches $(cf .switches))"
else
  bad "initial: current is not c1 after 10 s: $(show_coll)"
fi
sleep 1.5  # a full round (every 2 s) answered by all three
coll >/dev/null
echo "  $(show_coll)"
for n in "${NAMES[@]}"; do
  check_ge "initial: probes answered by $n" "$(cc "$n" probes_answered)" 1
done
check_range "initial: c1 best_rtt_us (5 ms delay)" "$(cc c1 best_rtt_us)" 4500 25000
check_range "initial: c2 best_rtt_us (40 ms delay)" "$(cc c2 best_rtt_us)" 39500 60000
check_range "initial: c3 best_rtt_us (80 ms delay)" "$(cc c3 best_rtt_us)" 79500 100000
traffic_to c1 5
SW0=$(cf .switches)

phase "1 hold: c1 45 ms (c2 better by 5 ms < margin 10 ms)"
set_delay c1 45
t=$(date +%s.%N)
seen=()
for _ in $(seq 60); do  # 2 windows (6 s) and a bit, bounded
  coll >/dev/null
  seen+=("$(cf .current)")
  awk -v s="$t" -v e="$(date +%s.%N)" 'BEGIN { exit !(e - s >= 6.5) }' && break
  sleep 0.2
done
echo "  $(show_coll)"
check_eq "1 hold: current over $(elapsed "$t") s (${#seen[@]} polls)" "$(printf '%s\n' "${seen[@]}" | sort -u | paste -sd ' ')" c1
check_eq "1 hold: switches unchanged" "$(cf .switches)" "$SW0"
check_range "1 hold: c1 last_rtt_us (45 ms delay)" "$(cc c1 last_rtt_us)" 44500 120000
check_range "1 hold: c1 best_rtt_us after 2 windows (the 5 ms answers aged out)" "$(cc c1 best_rtt_us)" 44500 70000

phase "2 better: c1 150 ms (c2 better by 110 ms, 40 <= 0.667 x 150)"
set_delay c1 150
if wait_coll 10 '.current == "c2"'; then
  ok "2 better: current c2 ${WAITED} s after c1 went to 150 ms"
else
  bad "2 better: current is not c2 after 10 s: $(show_coll)"
fi
echo "  $(show_coll)"
check_eq "2 better: last_reason" "$(cf .last_reason)" better
check_eq "2 better: switches" "$(cf .switches)" $((SW0 + 1))
traffic_to c2 5
SW2=$(cf .switches)

phase "3 lost: c2 stops answering"
set_delay c2 stop
if wait_coll 10 '.current != "c2"'; then
  ok "3 lost: current left c2 ${WAITED} s after c2 stopped"
else
  bad "3 lost: current still c2 after 10 s: $(show_coll)"
fi
echo "  $(show_coll)"
check_eq "3 lost: last_reason" "$(cf .last_reason)" lost
check_eq "3 lost: new current (c3 80 ms, not c1 150 ms)" "$(cf .current)" c3
check_eq "3 lost: switches" "$(cf .switches)" $((SW2 + 1))
traffic_to c3 5

# The fallback is a switch only from a current collector other than F,
# and only when every other collector is already lost: with a candidate
# left, a lost current goes to it (reason "lost"). So: current X != F
# (when F is c3, c1 back to 5 ms makes c1 current first), the others stop
# and age out of the window while X still answers, then X stops.
X=c3
if [[ $FALLBACK == c3 ]]; then
  phase "4a better: F is c3: c1 back to 5 ms (better than c3 by 75 ms)"
  X=c1
  SW3=$(cf .switches)
  set_delay c1 5
  if wait_coll 8 '.current == "c1"'; then
    ok "4a better: current c1 ${WAITED} s after c1 went to 5 ms"
  else
    bad "4a better: current is not c1 after 8 s: $(show_coll)"
  fi
  echo "  $(show_coll)"
  check_eq "4a better: last_reason/switches" "$(cf .last_reason)/$(cf .switches)" "better/$((SW3 + 1))"
fi

phase "4b hold: only $X answers; the others stop and age out"
coll >/dev/null
SWX=$(cf .switches)
for n in "${NAMES[@]}"; do [[ $n == "$X" ]] || set_delay "$n" stop; done
if wait_coll 10 "[.[] | objects | select(.name != \"$X\") | has(\"best_rtt_us\") | not] | all"; then
  ok "4b hold: every collector but $X without an answer in the window after ${WAITED} s"
else
  bad "4b hold: some collector besides $X still has a best RTT after 10 s: $(show_coll)"
fi
echo "  $(show_coll)"
check_eq "4b hold: current/switches (the answering $X kept)" "$(cf .current)/$(cf .switches)" "$X/$SWX"

phase "4c fallback: $X stops too: nobody answers"
set_delay "$X" stop
if wait_coll 10 '.last_reason == "fallback"'; then
  ok "4c fallback: last_reason fallback ${WAITED} s after $X stopped"
else
  bad "4c fallback: last_reason not fallback after 10 s: $(show_coll)"
fi
echo "  $(show_coll)"
check_eq "4c fallback: current is F (the silent start's choice)" "$(cf .current)" "$FALLBACK"
check_eq "4c fallback: switches" "$(cf .switches)" $((SWX + 1))
SW4=$(cf .switches)
sleep 2
coll >/dev/null
check_eq "4c fallback: 2 s later, current/reason/switches" \
  "$(cf .current)/$(cf .last_reason)/$(cf .switches)" "$FALLBACK/fallback/$SW4"
if [[ -n $FALLBACK ]]; then
  traffic_to "$FALLBACK" 3
else
  curls 3
fi
if loom_alive; then ok "4c fallback: Loom still running"; else bad "4c fallback: Loom is not running"; fi

# ---------------------------------------------------------------- the end
phase "end"
coll >/dev/null
FINAL=$COLL
echo "  $(show_coll)"
check_eq "end: mirror_no_collector" "$(cf .mirror_no_collector)" 0
check_eq "end: mirror_dropped (c1 c2 c3)" "$(cc c1 mirror_dropped) $(cc c2 mirror_dropped) $(cc c3 mirror_dropped)" "0 0 0"
check_eq "end: telemetry mirrored == VXLAN received (c1 c2 c3)" \
  "$(cc c1 mirrored) $(cc c2 mirrored) $(cc c3 mirrored)" "$(vx c1) $(vx c2) $(vx c3)"
check_eq "end: VNIs the responder saw" "$(jq -r '[.[] | .vnis[]] | unique | map(tostring) | join(" ")' "$CDIR/responder.json")" 42
check_eq "end: outer source addresses the responder saw" \
  "$(jq -r '[.[] | .vxlan_src[]] | unique | join(" ")' "$CDIR/responder.json")" "$IPM"
check_eq "end: datagrams at 4789 that were not VXLAN" "$(jq '[.[] | .not_vxlan] | add' "$CDIR/responder.json")" 0
echo "  responder: $(jq -c --argjson b "$RESP_BASE" 'to_entries | map({(.key): "probes rx \(.value.echo_rx - $b[.key]) tx \(.value.echo_tx) unanswered \(.value.echo_ignored)"}) | add' "$CDIR/responder.json")"
e2e_stop_loom
SJ=$OUT_DIR/stats.json
if [[ -s $SJ ]]; then
  total=$(($(vx c1) + $(vx c2) + $(vx c3)))
  check_ge "stats.json: totals.mirror.copies" "$(jq -r '.totals.mirror.copies // empty' "$SJ")" 1
  check_eq "stats.json: totals.mirror.copies == VXLAN datagrams received" \
    "$(jq -r '.totals.mirror.copies // empty' "$SJ")" "$total"
  check_eq "stats.json: totals.mirror truncated/no_mbuf/tx_full" \
    "$(jq -r '.totals.mirror | "\(.truncated)/\(.no_mbuf)/\(.tx_full)"' "$SJ")" "0/0/0"
  check_eq "stats.json: collectors.list[].mirrored (c1 c2 c3) == VXLAN received" \
    "$(jq -r '.collectors.list | map(.mirrored | tostring) | join(" ")' "$SJ")" "$(vx c1) $(vx c2) $(vx c3)"
  check_eq "stats.json: collectors current/last_reason" \
    "$(jq -r '.collectors | "\(.current)/\(.last_reason)"' "$SJ")" "$FALLBACK/fallback"
  echo "  stats.json collectors: $(jq -c '.collectors' "$SJ")"
else
  bad "stats.json missing or empty in $OUT_DIR"
fi
[[ -n $FINAL ]] || bad "no final /loom/collectors reply"

echo
echo "total time $(elapsed "$T0") s"
summary
[[ $FAIL -eq 0 ]]
