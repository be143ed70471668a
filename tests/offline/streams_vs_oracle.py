#!/usr/bin/env python3
"""Compares Loom's streams.jsonl with a corpus oracle, direction by
direction. For every direction the oracle saw without holes, Loom must
report the same byte count and SHA-256; where the oracle has holes, the
same number of holes and hole bytes (Loom never zero-fills, so its SHA-256
differs there by design). Prints one line per mismatch and a closing
"N passed, M failed" line; exits non-zero on any failure.

usage: streams_vs_oracle.py ORACLE.json STREAMS.jsonl"""
import json
import sys
from collections import defaultdict

from checks import Checks


def plain(endpoint):
    """Loom writes IPv6 endpoints as "[addr]:port" (product.md); the oracle
    writes "addr:port". Compare without the brackets."""
    return endpoint.replace("[", "").replace("]", "")


def main(oracle_path, streams_path):
    oracle = json.load(open(oracle_path))
    ours = defaultdict(list)
    for line in open(streams_path):
        r = json.loads(line)
        ours[(plain(r["src"]), plain(r["dst"]))].append(r)
    check = Checks("streams")

    for conn in oracle["connections"]:
        for d, (src, dst) in (("c2s", (conn["client"], conn["server"])),
                              ("s2c", (conn["server"], conn["client"]))):
            o = conn[d]
            if o["packets"] == 0:
                continue
            cands = ours.get((src, dst), [])
            name = f"{src}->{dst} ({d})"
            if not cands:
                check(False, f"{name}: no stream reported")
                continue
            holes = o.get("holes") or []
            hole_bytes = sum(h[1] for h in holes)
            # Port reuse gives several connections one 4-tuple: take the
            # one whose byte count matches, else the first.
            want = o["stream_bytes"] - hole_bytes
            r = next((c for c in cands if c["bytes"] == want), cands[0])
            cands.remove(r)
            if not holes:
                check(r["bytes"] == o["stream_bytes"],
                      f"{name}: bytes {r['bytes']} != oracle {o['stream_bytes']}")
                check(r["sha256"] == o["sha256"], f"{name}: sha256 differs")
                check(r["gaps"] == 0, f"{name}: {r['gaps']} gaps where the oracle has none")
                if syn_side := conn.get("syn_seen"):
                    check(r["dir"] == d and not r["client_inferred"],
                          f"{name}: direction reported as {r['dir']}, inferred={r['client_inferred']}")
            else:
                check(r["gaps"] == len(holes),
                      f"{name}: {r['gaps']} gaps, oracle has {len(holes)} holes")
                check(r["gap_bytes"] == hole_bytes,
                      f"{name}: {r['gap_bytes']} gap bytes, oracle {hole_bytes}")
                check(r["bytes"] == want, f"{name}: {r['bytes']} bytes delivered, oracle {want}")
    leftovers = sum(len(v) for v in ours.values())
    print(f"{oracle['pcap']}: {leftovers} stream(s) not in the oracle")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
