#!/usr/bin/env bash
# Bad and hostile input on the offline command line:
#   - a generated SYN flood (syn_flood.py: 20000 half-open connections, a
#     quarter reset by the server, one real exchange) writes a bounded
#     streams.jsonl: the sample of payload-less connections plus the real
#     one; every flood connection is counted under how it ended; with
#     outputs.empty_connections = "all" every one gets its two records; a
#     flow table smaller than the flood evicts and still bounds the output,
#   - a capture with a damaged record header ends as capture-damaged, exit
#     1, naming the record and its offset,
#   - --out "" is refused before anything runs,
#   - a closed standard output does not kill a finished run (SIGPIPE).
# Usage: tests/offline/bounded_test.sh [BUILD_DIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
loom=$build/app/loom
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/loom-bounded.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" == "$3" ]; then pass=$((pass + 1)); echo "ok: $1"; else
    fail=$((fail + 1)); echo "FAIL: $1: expected $2, got $3"; fi
}
jget() { $py -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

n=20000 rst_every=4 sample=100
$py "$here/syn_flood.py" "$tmp/flood.pcap" $n $rst_every
resets=$(( (n + rst_every - 1) / rst_every ))

# Default: a summary, and a sample of $sample payload-less connections.
"$loom" --pcap "$tmp/flood.pcap" --out "$tmp/sum" >"$tmp/sum.log" 2>&1
check "flood: exit" 0 $?
s=$tmp/sum/stats.json
check "flood: payload-less connections counted" $n "$(jget "$s" "d['totals']['streams']['empty_connections']")"
check "flood: summarised without records" $((n - sample)) "$(jget "$s" "d['totals']['streams']['empty_summarised']")"
check "flood: ended by the server's RST" $resets "$(jget "$s" "d['totals']['streams_empty']['rst']")"
check "flood: the rest open at the capture's end" $((n - resets)) "$(jget "$s" "d['totals']['streams_empty']['capture_end']")"
check "flood: streams.jsonl lines (sample + the real exchange)" $((2 * sample + 2)) "$(wc -l <"$tmp/sum/streams.jsonl")"
check "flood: records emitted = lines" "$(wc -l <"$tmp/sum/streams.jsonl")" "$(jget "$s" "d['totals']['streams']['records_emitted']")"
size=$(stat -c %s "$tmp/sum/streams.jsonl")
check "flood: streams.jsonl at most 700 bytes a line ($size bytes)" 1 $(( size <= (2 * sample + 2) * 700 ))
check "flood: the real exchange keeps its records" 2 \
  "$($py -c "import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)['bytes'] > 0))" "$tmp/sum/streams.jsonl")"
check "flood: its messages" 2 "$(wc -l <"$tmp/sum/messages.jsonl")"

# Every one, when asked.
printf 'mode = "offline"\n[outputs]\nempty_connections = "all"\n' >"$tmp/all.toml"
"$loom" --pcap "$tmp/flood.pcap" --out "$tmp/all" --config "$tmp/all.toml" >"$tmp/all.log" 2>&1
check "flood, all: exit" 0 $?
check "flood, all: streams.jsonl lines" $((2 * n + 2)) "$(wc -l <"$tmp/all/streams.jsonl")"
check "flood, all: none summarised" 0 "$(jget "$tmp/all/stats.json" "d['totals']['streams']['empty_summarised']")"

# A table smaller than the flood: evictions, still a bounded output.
printf 'mode = "offline"\n[flow]\nmax_flows_per_worker = 1024\n[outputs]\nempty_connections_sample = 10\n' >"$tmp/small.toml"
"$loom" --pcap "$tmp/flood.pcap" --out "$tmp/small" --config "$tmp/small.toml" >"$tmp/small.log" 2>&1
check "flood, small table: exit" 0 $?
s=$tmp/small/stats.json
check "flood, small table: every connection counted by its end" $n \
  "$(jget "$s" "sum(v for k, v in d['totals']['streams_empty'].items())")"
check "flood, small table: evictions among them" 1 "$(jget "$s" "int(d['totals']['streams_empty']['evicted'] > 0)")"
check "flood, small table: streams.jsonl lines" $((2 * 10 + 2)) "$(wc -l <"$tmp/small/streams.jsonl")"

# A damaged record header: three good records, then a length libpcap refuses.
off=$($py - "$root/tests/data/sample.pcap" "$tmp/damaged.pcap" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pos = 24
for _ in range(3):
    pos += 16 + struct.unpack("<I", d[pos + 8:pos + 12])[0]
d[pos + 8:pos + 12] = struct.pack("<I", 0xFFFFFFF0)
open(sys.argv[2], "wb").write(d)
print(pos)
PY
)
"$loom" --pcap "$tmp/damaged.pcap" --out "$tmp/dmg" >"$tmp/dmg.log" 2>&1
check "damaged: exit" 1 $?
check "damaged: end" capture-damaged "$(jget "$tmp/dmg/stats.json" "d['input']['end']")"
check "damaged: good records counted" 3 "$(jget "$tmp/dmg/stats.json" "d['input']['packets_in_capture']")"
check "damaged: names the record" 1 "$(grep -c "is damaged: record 4 (file offset $off)" "$tmp/dmg.log")"
check "damaged: no backwards count" 0 "$(grep -c 'but only' "$tmp/dmg.log")"

# --out "": refused, nothing run.
(cd "$tmp" && "$loom" --pcap "$root/tests/data/sample.pcap" --out "" >"$tmp/empty.log" 2>&1)
check "--out \"\": usage error" 2 $?
check "--out \"\": says why" 1 "$(grep -c -- '--out needs a directory' "$tmp/empty.log")"
check "--out \"\": wrote nothing" "" "$(ls "$tmp" | grep -v -e '\.pcap$' -e '\.log$' -e '\.toml$' -e '^sum$' -e '^all$' -e '^small$' -e '^dmg$')"

# A reader that went away: the run finishes, its outputs are whole.
{ { "$loom" --pcap "$root/tests/data/sample.pcap" --out "$tmp/pipe" 2>"$tmp/pipe.log"; echo $? >"$tmp/pipe.rc"; } | true; }
check "closed stdout: exit (not SIGPIPE)" 0 "$(cat "$tmp/pipe.rc")"
check "closed stdout: stats written" capture-end "$(jget "$tmp/pipe/stats.json" "d['input']['end']")"
check "closed stdout: said on stderr" 1 "$(grep -c 'standard output is closed' "$tmp/pipe.log")"

echo "bounded: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
