# shellcheck shell=bash
# Shared set-up, teardown and helpers of the namespace end-to-end tests
# (tests/e2e/*_ns_test.sh). Sourced, not run; the test sets E2E_SUITE (the
# label of its closing "E2E_SUITE: N passed, M failed" line) first.
#
#   netns loomA<pid>: vA 10.99.0.1/24 ==veth== vA-d<pid>  (Loom port "west")
#   netns loomB<pid>: vB 10.99.0.2/24 ==veth== vB-d<pid>  (Loom port "east")
#
# Usage, in this order:
#   e2e_preflight TOOL...      root, `ip netns`, the tools, the lab file
#   e2e_names                  names of namespaces, links, temp dir; PREFIX
#   e2e_traps                  cleanup on exit (processes, namespaces, files)
#   e2e_setup_links            the namespaces and veths (IPv6 off, static ARP)
#   e2e_lab_toml DEST PREFIX   drivers_cfg/af-packet-lab.toml with this run's
#                              interface names and EAL file prefix
#   e2e_check_config TOML      loom --check-config
#   e2e_start_loom TOML OUT PREFIX   start, wait until workers and telemetry
#   e2e_nginx_conf LISTEN...   write $TMP/nginx.conf serving $WWW
#   e2e_start_nginx PORT...    start nginx in ns B, wait for the ports
#   e2e_stop_loom              SIGTERM, wait, check exit code 0
#
# Env: LOOM=path to the binary (default build/app/loom), LOOM_E2E_KEEP=1
# keeps the temporary directory.

SELF=$(basename "$0")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOOM=${LOOM:-$ROOT/build/app/loom}
LAB_TOML=$ROOT/drivers_cfg/af-packet-lab.toml
E2E_SUITE=${E2E_SUITE:-e2e}

PASS=0
FAIL=0

summary() { echo "$E2E_SUITE: $PASS passed, $FAIL failed"; }

skip() {
  echo "SKIP: $SELF: $*"
  echo "$E2E_SUITE: 0 passed, 0 failed"
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

# e2e_preflight TOOL...: skip unless root with `ip netns`; fail when a tool
# or the lab file is missing.
e2e_preflight() {
  [[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces, veth, af_packet)"
  ip netns list >/dev/null 2>&1 || skip "'ip netns' is not available"

  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$SELF: missing $tool"
      FAIL=1
      summary
      exit 1
    fi
  done
  [[ -r "$LAB_TOML" ]] || { echo "$SELF: cannot read $LAB_TOML"; FAIL=1; summary; exit 1; }
}

# e2e_names: the names of this run (unique by the script's pid).
# shellcheck disable=SC2034  # used by the tests that source this file
e2e_names() {
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
  E2E_PREFIXES=("$PREFIX")  # EAL runtime dirs to remove at exit
  TMP=$(mktemp -d /tmp/loom-e2e.XXXXXX) || { echo "$SELF: mktemp failed"; exit 1; }
  chmod 755 "$TMP"
  OUT=$TMP/out
  WWW=$TMP/www
  LOOM_LOG=$TMP/loom.log
  LOOM_PID=
  NGINX_PID=
  FG_PID=
  BG_PIDS=()             # background helpers (curl loops) to stop at exit
  NS_CREATED=0
  E2E_EXTRA_NS=()        # further namespaces a test made, deleted at exit
  E2E_EXTRA_LINKS=()     # further root-namespace links, deleted at exit
}

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

# stop_pid PID TENTHS: SIGTERM, wait up to TENTHS/10 s, then SIGKILL.
stop_pid() {
  local pid=$1 n=$2
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq "$n"); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $FG_PID ]]; then
    kill -TERM "$FG_PID" 2>/dev/null
    wait "$FG_PID" 2>/dev/null
  fi
  local pid
  for pid in "${BG_PIDS[@]}"; do
    kill -0 "$pid" 2>/dev/null && stop_pid "$pid" 30
  done
  if [[ -n $LOOM_PID ]] && kill -0 "$LOOM_PID" 2>/dev/null; then
    stop_pid "$LOOM_PID" 50
  fi
  if [[ -n $NGINX_PID ]] && kill -0 "$NGINX_PID" 2>/dev/null; then
    stop_pid "$NGINX_PID" 30
  fi
  if [[ $NS_CREATED -eq 1 ]]; then
    # Deleting a namespace destroys its veth end and with it the peer.
    ip netns del "$NSA" 2>/dev/null
    ip netns del "$NSB" 2>/dev/null
    ip link del "$IFAD" 2>/dev/null
    ip link del "$IFBD" 2>/dev/null
  fi
  local x
  for x in "${E2E_EXTRA_NS[@]}"; do ip netns del "$x" 2>/dev/null; done
  for x in "${E2E_EXTRA_LINKS[@]}"; do ip link del "$x" 2>/dev/null; done
  local p
  for p in "${E2E_PREFIXES[@]}"; do rm -rf "/var/run/dpdk/$p"; done
  if [[ ${LOOM_E2E_KEEP:-0} == 1 ]]; then
    echo "$SELF: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}

e2e_traps() {
  trap cleanup EXIT
  trap 'bad "interrupted (SIGINT)"; summary; exit 130' INT
  trap 'bad "terminated (SIGTERM)"; summary; exit 143' TERM
}

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

# telemetry PREFIX COMMAND: Loom's JSON reply on one line ("" when nothing
# answers: dpdk-telemetry.py exits 0 even then).
telemetry() {
  echo "$2" | timeout 5 dpdk-telemetry.py -f "$1" 2>/dev/null | grep -m1 '^{' || true
}

# elapsed START: seconds since START (a `date +%s.%N`), one decimal.
elapsed() {
  awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}'
}

# e2e_setup_links: both namespaces and veth pairs, quiet (see
# relay_ns_test.sh): IPv6 off before the links come up, TX checksum offload
# off in the namespaces, permanent neighbour entries instead of ARP.
e2e_setup_links() {
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
}

# e2e_lab_toml DEST PREFIX: the lab file with this run's interface names
# and EAL file prefix (registered for removal at exit).
e2e_lab_toml() {
  local dest=$1 prefix=$2
  E2E_PREFIXES+=("$prefix")
  sed -e "s/iface=vA-d,/iface=$IFAD,/" \
      -e "s/iface=vB-d,/iface=$IFBD,/" \
      -e "s/^file_prefix *= *\"[^\"]*\"/file_prefix = \"$prefix\"/" \
      "$LAB_TOML" >"$dest"
  grep -q "iface=$IFAD," "$dest" && grep -q "iface=$IFBD," "$dest" &&
    grep -q "^file_prefix = \"$prefix\"" "$dest" ||
    die "could not substitute interface names / file_prefix into a copy of $LAB_TOML"
}

# e2e_check_config TOML: loom --check-config accepts it, else die.
e2e_check_config() {
  "$LOOM" --check-config "$1" >/dev/null 2>"$TMP/check.err" ||
    die "loom --check-config rejects the lab file: $(cat "$TMP/check.err")"
}

# start_failed MESSAGE: Loom did not come up. Fatal (die) unless
# E2E_SOFT_START=1, where it counts a failure (prefixed by $E2E_CONTEXT),
# shows the logs, stops what is left of Loom and lets the caller go on
# (e2e_start_loom returns 1).
start_failed() {
  [[ ${E2E_SOFT_START:-0} == 1 ]] || die "$1"
  bad "${E2E_CONTEXT:+$E2E_CONTEXT: }$1"
  show_logs
  if [[ -n $LOOM_PID ]]; then
    stop_pid "$LOOM_PID" 50
    LOOM_PID=
  fi
}

# e2e_start_loom TOML OUT PREFIX: start Loom in the background (LOOM_PID,
# log in $LOOM_LOG) and wait until its worker runs and its telemetry socket
# answers within 20 s (see start_failed when it does not). With
# E2E_LOOM_CPUS set, Loom runs with that CPU list (a caller that pinned
# itself elsewhere gives Loom its lcores' CPUs back); with E2E_LOOM_NETNS,
# in that network namespace (where its ports' interfaces are).
e2e_start_loom() {
  local toml=$1 out=$2 prefix=$3
  local wrap=()
  [[ -n ${E2E_LOOM_CPUS:-} ]] && wrap=(taskset -c "$E2E_LOOM_CPUS")
  [[ -n ${E2E_LOOM_NETNS:-} ]] && wrap=(ip netns exec "$E2E_LOOM_NETNS" "${wrap[@]}")
  echo "== starting Loom: ${wrap[*]} $LOOM --config $toml --out $out"
  T_START=$(date +%s.%N)
  "${wrap[@]}" "$LOOM" --config "$toml" --out "$out" >"$LOOM_LOG" 2>&1 &
  LOOM_PID=$!

  local ready=0 rc
  for _ in $(seq 200); do  # 20 s
    if ! kill -0 "$LOOM_PID" 2>/dev/null; then
      wait "$LOOM_PID"
      rc=$?
      LOOM_PID=
      start_failed "Loom exited during start-up (exit code $rc)"
      return 1
    fi
    # The worker line comes after every port is set up; the telemetry socket
    # answers earlier (during EAL init), so wait for both.
    if grep -q "worker 0 on lcore" "$LOOM_LOG" &&
      echo /loom/info | dpdk-telemetry.py -f "$prefix" 2>/dev/null | grep -q '"/loom/info"'; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [[ $ready -ne 1 ]]; then
    start_failed "Loom not ready after 20 s (no telemetry reply on prefix $prefix or no worker launched)"
    return 1
  fi
  ok "Loom started ($(elapsed "$T_START") s)"
  if grep -q "degraded" "$LOOM_LOG"; then
    echo "note: Loom reports degraded ports:"
    grep "degraded" "$LOOM_LOG" | sed 's/^/  /'
  fi
}

# e2e_nginx_conf LISTEN...: $TMP/nginx.conf, one `listen` per argument
# ("10.99.0.2:8080"), serving $WWW.
e2e_nginx_conf() {
  mkdir -p "$TMP/nginx"
  local listen="" l
  for l in "$@"; do listen+="    listen $l;"$'\n'; done
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
${listen}    root $WWW;
  }
}
EOF
}

# e2e_start_nginx PORT...: nginx (ns B, $TMP/nginx.conf) listening on
# $IPB:PORT for every PORT within 10 s, else die.
e2e_start_nginx() {
  # `ip netns exec` execs nginx (not a shell function: that would fork a
  # subshell, and $! would not be nginx's pid).
  ip netns exec "$NSB" /usr/sbin/nginx -p "$TMP/nginx" -c "$TMP/nginx.conf" >"$TMP/nginx.out" 2>&1 &
  NGINX_PID=$!
  local port listening
  for port in "$@"; do
    listening=0
    for _ in $(seq 100); do  # 10 s
      kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx.out"; die "nginx exited at start-up"; }
      if ns_exec "$NSB" ss -Hltn "sport = :$port" | grep -q "$IPB:$port"; then
        listening=1
        break
      fi
      sleep 0.1
    done
    [[ $listening -eq 1 ]] || die "nginx not listening on $IPB:$port after 10 s"
  done
}

# e2e_stop_loom: SIGTERM, wait up to 10 s, check the exit code is 0.
# Returns 1 when Loom did not stop or did not exit 0.
e2e_stop_loom() {
  echo "== stopping Loom (SIGTERM)"
  kill -TERM "$LOOM_PID"
  local exited=0 loom_rc
  for _ in $(seq 100); do  # 10 s
    if ! kill -0 "$LOOM_PID" 2>/dev/null; then exited=1; break; fi
    sleep 0.1
  done
  if [[ $exited -eq 1 ]]; then
    wait "$LOOM_PID"
    loom_rc=$?
    LOOM_PID=
    check_eq "Loom exit code after SIGTERM" "$loom_rc" 0
    [[ $loom_rc -eq 0 ]]
  else
    bad "Loom still running 10 s after SIGTERM"
    return 1
  fi
}
