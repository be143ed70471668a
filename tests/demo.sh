#!/usr/bin/env bash
# The README's first command: install dependencies, build, and run Loom
# offline on the bundled capture (tests/data/sample.pcap), then print what
# it saw. Output goes to ${OUT:-/tmp/loom-demo}.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
.ci/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
out=${OUT:-/tmp/loom-demo}
# --existing replace: the demo may be run again into the same directory.
build/app/loom --pcap tests/data/sample.pcap --out "$out" --existing replace \
  --config drivers_cfg/pcap-offline.toml 2>"$out.log" || {
  cat "$out.log" >&2; exit 1; }
python3 - "$out/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t, p, f, r = d["totals"], d["totals"]["pkt"], d["totals"]["flows"], d["totals"]["reasm"]
print(f"capture:  {d['input']['pcap']} ({d['input']['packets_in_capture']} packets in file)")
print(f"received: {t['rx_packets']} packets, {t['rx_bytes']} bytes; end: {d['input']['end']}")
print(f"by kind:  IPv4 {p['ipv4']}, IPv6 {p['ipv6']}, TCP {p['tcp']}, UDP {p['udp']}, "
      f"VLAN-tagged {p['vlan_tagged']}, non-IP {p['non_ip']}, "
      f"malformed {sum(t['malformed'].values())}")
print(f"TCP:      {f['inserts'] + f['reused']} connections ({f['ended_fin']} closed by FIN, "
      f"{f['ended_rst']} by RST), {r['bytes_delivered']} payload bytes reassembled, "
      f"{r['ofo_queued']} out-of-order segments held, {r['retransmits']} retransmissions, "
      f"{r['gaps']} gaps")
h = d["totals"]["http"]
print(f"HTTP:     {h['requests']} requests, {h['responses']} responses (+{h['interim']} interim 1xx), "
      f"{h['incomplete']} incomplete, {h['parse_errors']} parse errors")
PY
echo "streams:  $(wc -l <"$out/streams.jsonl") connection directions in $out/streams.jsonl"
echo "messages: $(wc -l <"$out/messages.jsonl") HTTP messages in $out/messages.jsonl, goreplay file $out/http.gor"
echo "all counters: $out/stats.json (timing: $out/run.json, log: $out.log)"
