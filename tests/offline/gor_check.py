#!/usr/bin/env python3
"""Checks an http.gor against goreplay's file format and against Loom's
own messages.jsonl and streams.jsonl:
  - every record is "<type> <24 hex id> <ts_ns> <latency_ns>\\n", the raw
    message, then the separator "\\n\\U0001F435\\U0001F648\\U0001F649\\n";
  - each record's id and kind match a message in messages.jsonl, and the
    raw bytes start with that message's request line or status line;
  - per connection, the raw requests laid end to end are exactly the
    client's byte stream (same SHA-256 as streams.jsonl's c2s line), when
    nothing was cut (no gap, no truncated capture).
Prints failures and "gor: N passed, M failed".

usage: gor_check.py DIR (holding http.gor, messages.jsonl, streams.jsonl)"""
import hashlib
import json
import re
import sys
from collections import defaultdict

from checks import Checks

SEP = b"\n\xf0\x9f\x90\xb5\xf0\x9f\x99\x88\xf0\x9f\x99\x89\n"
META = re.compile(rb"^([12]) ([0-9a-f]{24}) ([0-9]+) ([0-9]+)$")


def main(d):
    check = Checks("gor")

    data = open(f"{d}/http.gor", "rb").read()
    msgs = [json.loads(l) for l in open(f"{d}/messages.jsonl")]
    by_id = defaultdict(list)
    for m in msgs:
        by_id[(m["id"], m["kind"])].append(m)
    streams = {}
    for l in open(f"{d}/streams.jsonl"):
        s = json.loads(l)
        streams[(s["src"], s["dst"], s["connection"], s["dir"])] = s
    check(data.endswith(SEP) or not data, "file ends with the separator")
    records = data.split(SEP)[:-1] if data else []
    reqs = defaultdict(list)  # (client, server, connection) -> [(index, raw)]
    for r in records:
        head, _, raw = r.partition(b"\n")
        mm = META.match(head)
        check(mm is not None, f"meta line {head[:80]!r}")
        if not mm:
            continue
        kind = "request" if mm.group(1) == b"1" else "response"
        cands = by_id.get((mm.group(2).decode(), kind), [])
        check(bool(cands), f"{kind} {mm.group(2).decode()} not in messages.jsonl")
        if not cands:
            continue
        m = next((c for c in cands if not c.get("interim")), cands[0])
        first_line = raw.split(b"\r\n", 1)[0]
        if kind == "request":
            check(first_line.startswith(f"{m['method']} ".encode()), f"request line {first_line[:60]!r}")
            reqs[(m["client"], m["server"], m["connection"])].append((m["index"], raw, m))
        else:
            check(first_line.startswith(b"HTTP/1.") and f" {m['status']}".encode() in first_line,
                  f"status line {first_line[:60]!r} vs {m['status']}")
    # Requests and responses pair by id inside the file itself.
    ids = defaultdict(set)
    for r in records:
        mm = META.match(r.partition(b"\n")[0])
        if mm:
            ids[mm.group(2)].add(mm.group(1))
    lone = [i for i, kinds in ids.items() if kinds == {b"2"}]
    unpaired = {m["id"].encode() for m in msgs if not m["paired"]}
    check(all(i in unpaired for i in lone), f"{len(lone)} responses in http.gor with no request of their id")
    compared = 0
    for (cli, srv, conn), lst in reqs.items():
        s = streams.get((cli, srv, conn, "c2s"))
        all_reqs = [m for m in msgs if m["kind"] == "request" and m["client"] == cli
                    and m["server"] == srv and m["connection"] == conn]
        if (not s or s["gaps"] or len(all_reqs) != len(lst)
                or any(set(m["flags"]) & {"raw_truncated", "no_raw", "after_gap", "incomplete"}
                       for _, _, m in lst)):
            continue
        joined = b"".join(raw for _, raw, _ in sorted(lst, key=lambda t: t[0]))
        check(hashlib.sha256(joined).hexdigest() == s["sha256"] and len(joined) == s["bytes"],
              f"{cli}->{srv}: requests in http.gor are not the client's stream")
        compared += 1
    print(f"{len(records)} records, {compared} client streams rebuilt from http.gor")
    return check.finish()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
