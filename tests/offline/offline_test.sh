#!/usr/bin/env bash
# Offline mode end to end: `loom --pcap` on every capture of the shared
# corpus (and on a capture of broken frames made here) must
#   - exit 0 and count exactly the capture's packets (the oracle's count),
#   - agree with an independent census (pcap_census.py) on IPv4/IPv6/TCP/
#     UDP/VLAN counts,
#   - count every malformed frame under its reason,
#   - report every connection direction in streams.jsonl with the oracle's
#     byte count and SHA-256 (holes: the oracle's count and bytes),
#   - frame the oracle's HTTP messages in messages.jsonl (method, URI, Host,
#     status, decoded body length, 1xx, pairing),
#   - write http.gor in goreplay's format whose raw requests rebuild the
#     client streams exactly,
#   - give byte-identical output files on a second run,
#   - with outputs.pcap, write exactly the packets of the connections whose
#     messages were exported (pcap_check.py), and cut http.gor and
#     packets.pcap into gzip parts that add up to the single files,
#   - with [steering], track only the service ports and drop the rest in
#     software, with the same results for what it tracks (steer_check.py),
#   - with rules, export exactly the exchanges they select (rules_check.py)
#     and mirror exactly the frames of the connections they select, in
#     VXLAN, GRE and ERSPAN II (mirror_check.py),
#   - follow what the endpoints did on crafted hostile TCP (tcp_hostile.py):
#     forged/stale/unauthenticated RST, FIN and SYN, tiny reversed segments,
#     a memcap flood, a client on a low port,
#   - report capture loss equal to the oracle's hole bytes, and lose no
#     message offline however many are open at once.
# Usage: tests/offline/offline_test.sh [BUILD_DIR] [CORPUS_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
corpus=${2:-$root/../shared/corpus}
loom=$build/app/loom
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/loom-offline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: $1: expected $2, got $3"; fi
}
jget() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

printf 'mode = "offline"\n[outputs]\npcap = true\n' >"$tmp/pcap.toml"
captures=$(ls "$corpus"/captures/*.pcap "$corpus"/synthetic/*.pcap "$root"/tests/data/*.pcap 2>/dev/null)
[ -n "$captures" ] || { echo "offline: no captures found under $corpus"; exit 1; }
for pcap in $captures; do
  name=$(basename "$pcap" .pcap)
  out1=$tmp/$name.1 out2=$tmp/$name.2
  "$loom" --pcap "$pcap" --out "$out1" >"$tmp/$name.log" 2>&1
  check "$name exit" 0 $?
  "$loom" --pcap "$pcap" --out "$out2" >>"$tmp/$name.log" 2>&1
  if [ -f "$pcap.oracle.json" ]; then
    # Capture loss (bytes acknowledged, never captured) is exactly what the
    # oracle knows the capture lacks.
    check "$name capture loss vs oracle holes" "$(jget "$pcap.oracle.json" "d['summary']['hole_bytes']")" \
          "$(jget "$out1/stats.json" "d['totals']['reasm']['capture_loss_bytes']")"
    check "$name packets vs oracle" "$(jget "$pcap.oracle.json" "d['packets']")" \
          "$(jget "$out1/stats.json" "d['totals']['rx_packets']")"
  fi
  census=$tmp/$name.census.json
  $py "$here/pcap_census.py" "$pcap" >"$census"
  for k in packets:rx_packets bytes:rx_bytes; do
    check "$name ${k%%:*}" "$(jget "$census" "d['${k%%:*}']")" \
          "$(jget "$out1/stats.json" "d['totals']['${k##*:}']")"
  done
  check "$name port rx" "$(jget "$census" "d['packets']")" \
        "$(jget "$out1/stats.json" "d['ports'][0]['rx_packets']")"
  for k in ipv4 ipv6 tcp udp vlan_tagged; do
    check "$name $k" "$(jget "$census" "d['$k']")" \
          "$(jget "$out1/stats.json" "d['totals']['pkt']['$k']")"
  done
  check "$name end" capture-end "$(jget "$out1/stats.json" "d['input']['end']")"
  check "$name malformed" 0 "$(jget "$out1/stats.json" "sum(d['totals']['malformed'].values())")"
  check "$name OFO released" 0 "$(jget "$out1/stats.json" "d['totals']['reasm']['ofo_mbufs_in_use']")"
  check "$name records dropped" 0 "$(jget "$out1/stats.json" "d['totals']['streams']['records_dropped']")"
  for f in stats.json streams.jsonl messages.jsonl http.gor; do
    if cmp -s "$out1/$f" "$out2/$f"; then pass=$((pass + 1)); else
      fail=$((fail + 1)); echo "FAIL: $name: $f differs between two runs"; fi
  done
  if [ -f "$pcap.oracle.json" ]; then
    out3=$tmp/$name.3
    "$loom" --pcap "$pcap" --out "$out3" --config "$tmp/pcap.toml" >>"$tmp/$name.log" 2>&1
    check "$name pcap run exit" 0 $?
    for cmp_out in "$($py "$here/pcap_check.py" "$pcap" "$out3/messages.jsonl" "$out3/packets.pcap")" \
                   "$($py "$here/gor_check.py" "$out1")" \ "$($py "$here/gor_check.py" "$out1")" \
                   "$($py "$here/streams_vs_oracle.py" "$pcap.oracle.json" "$out1/streams.jsonl")" \
                   "$($py "$here/messages_vs_oracle.py" "$pcap.oracle.tsv" "$out1/messages.jsonl" "$pcap.oracle.json")"; do
      echo "$cmp_out" | grep FAIL
      p=$(echo "$cmp_out" | grep -Eo '[0-9]+ passed' | tail -1 | awk '{print $1}')
      f=$(echo "$cmp_out" | grep -Eo '[0-9]+ failed' | tail -1 | awk '{print $1}')
      pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
    done
  fi
done

# Steering in software (net_pcap has no rte_flow): only port 8080 tracked,
# the rest of the IP traffic dropped; what is tracked matches the full run.
printf 'mode = "offline"\n[steering]\nservice_ports = [8080]\nother = "drop"\n' >"$tmp/steer.toml"
for name in mix-v4 vlan-mix-v4 clean-v6; do
  cap=$corpus/captures/$name.pcap
  [ -f "$cap" ] || continue
  "$loom" --pcap "$cap" --out "$tmp/$name.steer" --config "$tmp/steer.toml" >"$tmp/$name.steer.log" 2>&1
  check "$name steer exit" 0 $?
  out=$($py "$here/steer_check.py" "$cap" "$tmp/$name.1" "$tmp/$name.steer" 8080)
  echo "$out" | grep FAIL
  p=$(echo "$out" | grep -Eo '[0-9]+ passed' | awk '{print $1}')
  f=$(echo "$out" | grep -Eo '[0-9]+ failed' | awk '{print $1}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
done

# Operator rules (tests/offline/rules.toml): the exchanges they select, on
# the captures without holes, are the oracle's and the full run's.
for name in clean-v4 clean-v6 mix-v4 vlan-mix-v4 reorder-v4 dup-v4; do
  cap=$corpus/captures/$name.pcap
  [ -f "$cap.oracle.tsv" ] || continue
  "$loom" --pcap "$cap" --out "$tmp/$name.rules" --config "$here/rules.toml" >"$tmp/$name.rules.log" 2>&1
  check "$name rules exit" 0 $?
  out=$($py "$here/rules_check.py" "$cap.oracle.tsv" "$tmp/$name.1" "$tmp/$name.rules")
  echo "$out" | grep FAIL
  p=$(echo "$out" | grep -Eo '[0-9]+ passed' | awk '{print $1}')
  f=$(echo "$out" | grep -Eo '[0-9]+ failed' | awk '{print $1}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
done

# Mirror rules through a net_pcap mirror port: every frame of the port-8080
# connections, decapsulated, is the capture's (mirror_check.py); tshark
# decodes the tunnel too.
cap=$corpus/captures/mix-v4.pcap
if [ -f "$cap" ]; then
  for encap in vxlan gre erspan; do
    printf '%s\n' 'mode = "offline"' '[mirror]' \
      "device = \"net_pcap1,tx_pcap=$tmp/mirror-$encap.pcap\"" "encap = \"$encap\"" \
      'vni = 42' 'session_id = 7' 'mtu = 9000' 'src_ip = "192.0.2.1"' 'dst_ip = "192.0.2.9"' \
      'dst_mac = "02:00:00:00:00:09"' '[[rule]]' 'name = "alt-port"' 'action = "mirror"' \
      'server_port = [8080]' >"$tmp/mirror-$encap.toml"
    "$loom" --pcap "$cap" --out "$tmp/mirror-$encap" --config "$tmp/mirror-$encap.toml" \
      >"$tmp/mirror-$encap.log" 2>&1
    check "mirror $encap exit" 0 $?
    out=$($py "$here/mirror_check.py" "$cap" "$tmp/mirror-$encap.pcap" $encap 8080)
    echo "$out" | grep FAIL
    p=$(echo "$out" | grep -Eo '[0-9]+ passed' | awk '{print $1}')
    f=$(echo "$out" | grep -Eo '[0-9]+ failed' | awk '{print $1}')
    pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
  done
  if command -v tshark >/dev/null; then
    check "mirror vxlan: tshark sees VNI 42 and port 8080 inside" \
          "$(jget "$tmp/mirror-vxlan/stats.json" "d['totals']['mirror']['copies']")" \
          "$(tshark -r "$tmp/mirror-vxlan.pcap" -Y 'vxlan.vni == 42 && tcp.port == 8080' 2>/dev/null | wc -l)"
  fi
fi

# Rotation and gzip: the parts of http.gor and packets.pcap, read in order,
# are the single files of an unrotated run (the part size is a bound).
cap=$corpus/captures/clean-v4.pcap
if [ -f "$cap" ]; then
  printf 'mode = "offline"\n[outputs]\npcap = true\nrotate_mb = 1\ncompress = "gzip"\n' >"$tmp/rot.toml"
  "$loom" --pcap "$cap" --out "$tmp/rot" --config "$tmp/rot.toml" >"$tmp/rot.log" 2>&1
  check "rotate: exit" 0 $?
  parts=$(ls "$tmp"/rot/http_*.gor.gz | sort -t_ -k2 -n)
  check "rotate: .gor parts = http.gor" "$(sha256sum <"$tmp/clean-v4.3/http.gor")" \
        "$(for p in $parts; do zcat "$p"; done | sha256sum)"
  big=0
  for p in $parts; do [ "$(zcat "$p" | wc -c)" -le $((1 << 20)) ] || big=1; done
  check "rotate: no .gor part over 1 MiB" 0 $big
  pparts=$(ls "$tmp"/rot/packets_*.pcap.gz | sort -t_ -k2 -n)
  check "rotate: several pcap parts" 1 "$([ "$(echo "$pparts" | wc -l)" -gt 1 ] && echo 1)"
  # JSON Lines rotate too (never compressed): the parts, in order, are the
  # unrotated run's file.
  mparts=$(ls "$tmp"/rot/messages_*.jsonl | sort -t_ -k2 -n)
  cat $mparts >"$tmp/rot-messages.jsonl"
  check "rotate: messages.jsonl parts = messages.jsonl" "$(sha256sum <"$tmp/clean-v4.3/messages.jsonl")" \
        "$(sha256sum <"$tmp/rot-messages.jsonl")"
  out=$($py "$here/pcap_check.py" "$cap" "$tmp/rot-messages.jsonl" $pparts)
  echo "$out" | grep FAIL
  p=$(echo "$out" | grep -Eo '[0-9]+ passed' | awk '{print $1}')
  f=$(echo "$out" | grep -Eo '[0-9]+ failed' | awk '{print $1}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
  check "rotate: parts counted" "$(echo "$pparts" | wc -l)" \
        "$(jget "$tmp/rot/stats.json" "d['outputs']['pcap']['parts']" 2>/dev/null)"
fi

# Broken frames: each counted under its own reason, the run still exits 0.
expect=$($py "$here/make_malformed.py" "$tmp/malformed.pcap")
echo "$expect" >"$tmp/malformed.expect.json"
"$loom" --pcap "$tmp/malformed.pcap" --out "$tmp/malformed" >"$tmp/malformed.log" 2>&1
check "malformed exit" 0 $?
check "malformed packets" "$(jget "$tmp/malformed.expect.json" "d['packets']")" \
      "$(jget "$tmp/malformed/stats.json" "d['totals']['rx_packets']")"
check "malformed tcp" 2 "$(jget "$tmp/malformed/stats.json" "d['totals']['pkt']['tcp']")"
for reason in $(jget "$tmp/malformed.expect.json" "' '.join(sorted(d['malformed']))"); do
  check "malformed $reason" "$(jget "$tmp/malformed.expect.json" "d['malformed']['$reason']")" \
        "$(jget "$tmp/malformed/stats.json" "d['totals']['malformed']['$reason']")"
done

# Outputs switched off, tiny record rings: framing still runs and counts,
# and the run ends (a record with no reader must never stall a worker).
printf 'mode = "offline"\n[outputs]\nmessages = false\ngor = false\nrecord_ring = 64\n' >"$tmp/quiet.toml"
timeout -s KILL 60 "$loom" --pcap "$root/tests/data/sample.pcap" --out "$tmp/quiet" \
  --config "$tmp/quiet.toml" >"$tmp/quiet.log" 2>&1
check "outputs off: exit" 0 $?
check "outputs off: no messages.jsonl" 1 "$([ -e "$tmp/quiet/messages.jsonl" ]; echo $?)"
check "outputs off: requests still counted" 300 "$(jget "$tmp/quiet/stats.json" "d['totals']['http']['requests']")"

# More messages open at once than capture buffers and records: offline
# never waits for buffers only its own open messages hold, and never drops
# either: it adds pools (streams.pool_grown) and every message is written,
# each with its raw bytes in http.gor.
gen=$root/build/perf/gen/loom_gen
if [ -x "$gen" ]; then
  "$gen" --flows 2000 --pairs 3 --concurrency 256 --seed 5 --out "$tmp/c256.pcap" >"$tmp/c256.truth"
  printf 'mode = "offline"\n[http]\ncapture_buffers = 16\n[outputs]\nrecord_ring = 64\n' >"$tmp/small.toml"
  timeout -s KILL 120 "$loom" --pcap "$tmp/c256.pcap" --out "$tmp/small" --config "$tmp/small.toml" \
    >"$tmp/small.log" 2>&1
  check "small pools: exit" 0 $?
  check "small pools: requests" 6000 "$(jget "$tmp/small/stats.json" "d['totals']['http']['requests']")"
  check "small pools: no capture buffer dropped" 0 "$(jget "$tmp/small/stats.json" "d['totals']['http']['raw_dropped']")"
  check "small pools: no record dropped" 0 "$(jget "$tmp/small/stats.json" "d['totals']['http']['records_dropped']")"
  check "small pools: pools added" 1 "$(jget "$tmp/small/stats.json" "int(d['totals']['streams']['pool_grown'] > 0)")"
  check "small pools: every message written" \
        "$(jget "$tmp/small/stats.json" "sum(d['totals']['http'][k] for k in ('requests', 'responses', 'interim'))")" \
        "$(wc -l <"$tmp/small/messages.jsonl")"
  check "small pools: every exchange in http.gor" 12000 "$(grep -c '^[12] [0-9a-f]\{24\} ' "$tmp/small/http.gor")"
fi

# Hostile and odd TCP (tcp_hostile.py, scapy): forged, stale and
# unauthenticated control packets do not end connections the endpoints
# went on using; 2,000 reversed one-byte segments lose nothing; a flood
# of handshake-less segments cannot pin the memcap against a good
# connection; a client on port 53 is named by its request line.
if /usr/bin/python3 -c 'import scapy' 2>/dev/null; then
  $py "$here/tcp_hostile.py" make "$tmp/hostile.pcap" >"$tmp/hostile.expect.json"
  printf 'mode = "offline"\n[reassembly]\nmemcap_mb = 8\n' >"$tmp/hostile.toml"
  "$loom" --pcap "$tmp/hostile.pcap" --out "$tmp/hostile" --config "$tmp/hostile.toml" \
    >"$tmp/hostile.log" 2>&1
  check "hostile tcp: exit" 0 $?
  while read -r verdict what; do
    if [ "$verdict" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: hostile tcp: $what"; fi
  done < <($py "$here/tcp_hostile.py" check "$tmp/hostile.expect.json" "$tmp/hostile" 2>&1 ||
           echo "FAIL checker crashed")
else
  fail=$((fail + 1)); echo "FAIL: hostile tcp: python3-scapy missing"
fi

# A capture cut at a snap length (editcap -s 300 of clean-v4): each record
# keeps its headers and loses payload. Offline those records are decoded,
# not malformed; what the capture lost becomes declared gaps, so each
# direction's delivered + gap bytes still equal what the oracle says was
# sent, and the HTTP start lines inside the kept bytes are still framed.
if command -v editcap >/dev/null && [ -f "$corpus/captures/clean-v4.pcap" ]; then
  editcap -s 300 "$corpus/captures/clean-v4.pcap" "$tmp/snap300.pcap" >/dev/null 2>&1
  "$loom" --pcap "$tmp/snap300.pcap" --out "$tmp/snap300" >"$tmp/snap300.log" 2>&1
  check "snapped capture: exit" 0 $?
  check "snapped capture: nothing malformed" 0 "$(jget "$tmp/snap300/stats.json" "sum(d['totals']['malformed'].values())")"
  check "snapped capture: records counted" 1 "$(jget "$tmp/snap300/stats.json" "int(d['totals']['pkt']['snapped'] > 0)")"
  check "snapped capture: delivered + gap bytes = bytes sent" \
        "$(jget "$corpus/captures/clean-v4.pcap.oracle.json" "sum(c[k]['stream_bytes'] for c in d['connections'] for k in ('c2s', 's2c'))")" \
        "$(jget "$tmp/snap300/stats.json" "d['totals']['reasm']['bytes_delivered'] + d['totals']['reasm']['gap_bytes']")"
  # Framed from 300-byte records: at least 95% of the oracle's messages
  # (a request whose start line lies in a cut part is not seen).
  check "snapped capture: messages framed" 1 \
        "$($py -c "import json,sys; o=json.load(open(sys.argv[1]))['summary']; m=[json.loads(l) for l in open(sys.argv[2])]; r=sum(x['kind']=='request' for x in m); s=sum(x['kind']=='response' and not x.get('interim') for x in m); print(int(r >= 0.95*o['requests'] and s >= 0.95*o['responses']))" "$corpus/captures/clean-v4.pcap.oracle.json" "$tmp/snap300/messages.jsonl")"
fi

# A rule Hyperscan refuses stops the start-up, naming the rule and the
# pattern at its line and column; the offline run refuses it too.
printf '%s\n' 'mode = "offline"' '[[rule]]' 'name = "broken-one"' 'action = "record"' \
  'path = "^/a(b"' >"$tmp/badrule.toml"
"$loom" --check-config "$tmp/badrule.toml" >/dev/null 2>"$tmp/badrule.err"
check "bad regex: check-config exit" 1 $?
grep -q "badrule.toml:5:8: rule \"broken-one\": pattern \"^/a(b\": Missing close parenthesis" "$tmp/badrule.err"
check "bad regex: names the rule and pattern at its position" 0 $?
"$loom" --pcap "$corpus/captures/clean-v4.pcap" --out "$tmp/badrule" --config "$tmp/badrule.toml" \
  >/dev/null 2>"$tmp/badrule.run.err"
check "bad regex: the run refuses to start" 1 $?
grep -q 'rule "broken-one"' "$tmp/badrule.run.err"
check "bad regex: the run says why" 0 $?

# Usage errors are clear and non-zero.
"$loom" --pcap /nonexistent.pcap --out "$tmp/x" >/dev/null 2>"$tmp/err.log"
check "missing capture exit" 1 $?
grep -q "cannot read the capture" "$tmp/err.log"; check "missing capture message" 0 $?

echo "offline: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
