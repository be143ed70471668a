#!/usr/bin/python3
"""Checks the join fields of an offline run's records (issue 16):
every messages.jsonl and streams.jsonl line against its JSON Schema
(docs/schema/), community_id recomputed here from each record's own
addresses and ports with hashlib (an implementation independent of
Loom's), the same conn_id and community_id for a connection's messages
and streams, ts_first/ts_last equal to the nanosecond times, and the
sensor the run was given.

usage: records_check.py OUT_DIR SENSOR
Prints one line per check and ends with "N passed, M failed"."""
import base64
import datetime
import hashlib
import ipaddress
import json
import os
import sys

import jsonschema

root = os.path.dirname(os.path.abspath(__file__)) + "/../.."
out, sensor = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {name} {detail}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def endpoint(s):
    host, port = s.rsplit(":", 1)
    return ipaddress.ip_address(host.strip("[]")).packed, int(port)


def community_id(a, b, seed=0, proto=6):
    (sa, sp), (da, dp) = endpoint(a), endpoint(b)
    if (sa, sp) > (da, dp):
        (sa, sp), (da, dp) = (da, dp), (sa, sp)
    h = hashlib.sha1(seed.to_bytes(2, "big") + sa + da + bytes([proto, 0]) +
                     sp.to_bytes(2, "big") + dp.to_bytes(2, "big")).digest()
    return "1:" + base64.b64encode(h).decode()


def rfc3339(ns):
    t = datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 10**9:09d}Z"


schemas = {k: json.load(open(f"{root}/docs/schema/{k}.schema.json")) for k in ("message", "stream")}
store = {s["$id"]: s for s in schemas.values()}
conns = {}
for kind, fname, a, b, t0, t1 in (("message", "messages.jsonl", "client", "server", "ts_first", "ts_last"),
                                  ("stream", "streams.jsonl", "src", "dst", "first_ts", "last_ts")):
    resolver = jsonschema.RefResolver.from_schema(schemas[kind], store=store)
    v = jsonschema.Draft202012Validator(schemas[kind], resolver=resolver)
    bad_schema = bad_cid = bad_ts = bad_sensor = n = 0
    first_err = ""
    for line in open(f"{out}/{fname}", encoding="utf-8"):
        r = json.loads(line)
        n += 1
        errs = list(v.iter_errors(r))
        if errs:
            bad_schema += 1
            first_err = first_err or f"{errs[0].message} in {line[:200]}"
        if r.get("community_id") != community_id(r[a], r[b]):
            bad_cid += 1
        if r.get(t0) != rfc3339(r[t0 + "_ns" if kind == "message" else t0 + "_ns"]) or \
           r.get(t1) != rfc3339(r[t1 + "_ns"]):
            bad_ts += 1
        bad_sensor += r.get("sensor") != sensor
        conns.setdefault(r["conn_id"], set()).add(r["community_id"])
    check(f"{fname}: every line matches docs/schema/{kind}.schema.json", n > 0 and bad_schema == 0,
          f"({n} lines, {bad_schema} bad) {first_err}")
    check(f"{fname}: community_id equals an independent computation", bad_cid == 0, f"({bad_cid} differ)")
    check(f"{fname}: RFC 3339 times equal the nanosecond times", bad_ts == 0, f"({bad_ts} differ)")
    check(f"{fname}: sensor is the configured one", bad_sensor == 0, f"({bad_sensor} differ)")
split = [k for k, s in conns.items() if len(s) != 1]
msg_conns = {json.loads(l)["conn_id"] for l in open(f"{out}/messages.jsonl")}
str_conns = {json.loads(l)["conn_id"] for l in open(f"{out}/streams.jsonl")}
check("one community_id per conn_id", not split, f"({len(split)} with more)")
check("every message's conn_id names a connection in streams.jsonl", msg_conns <= str_conns,
      f"({len(msg_conns - str_conns)} missing)")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
