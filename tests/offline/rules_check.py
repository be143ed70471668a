#!/usr/bin/env python3
"""Operator rules on a corpus capture, against the oracle and a full run.

Usage: rules_check.py ORACLE.tsv FULL_OUT RULES_OUT

RULES_OUT ran with the rules of tests/offline/rules.toml:
  default skip; "bins" records requests whose path ends in .bin;
  "posts" tags POST requests "post". A response follows its request.
Checks:
  - the selected requests are the oracle's (count of .bin paths and POSTs);
  - messages.jsonl holds exactly the full run's lines of the selected
    exchanges (same ids and fields), plus rule, action and tag;
  - stats.json counts one hit per selected request, by rule.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from checks import Checks  # noqa: E402


def rule_of(method, uri):
    path = uri.split("?", 1)[0]
    if path.endswith(".bin"):
        return "bins", "record", None
    if method == "POST":
        return "posts", "tag", "post"
    return None


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def main():
    oracle, full, ruled = sys.argv[1:4]
    c = Checks("rules")
    want_hits = {"bins": 0, "posts": 0}
    with open(oracle) as f:
        cols = f.readline().rstrip("\n").split("\t")
        for line in f:
            row = dict(zip(cols, line.rstrip("\n").split("\t")))
            if row["kind"] == "req":
                r = rule_of(row["method_or_status"], row["uri"])
                if r:
                    want_hits[r[0]] += 1
    everything = load(os.path.join(full, "messages.jsonl"))
    decided = {m["id"]: rule_of(m["method"], m["uri"]) for m in everything if m["kind"] == "request"}
    want = [m for m in everything if decided.get(m["id"])]
    got = load(os.path.join(ruled, "messages.jsonl"))
    c(sum(1 for m in got if m["kind"] == "request") == sum(want_hits.values()),
      f"{sum(1 for m in got if m['kind'] == 'request')} requests exported, "
      f"the oracle has {want_hits} matching")
    c(len(got) == len(want), f"{len(got)} messages exported, {len(want)} in the selected exchanges")
    for g, w in zip(got, want):
        name, action, tag = decided[w["id"]]
        extra = {"rule": name, "action": action}
        if tag:
            extra["tag"] = tag
        c(g == dict(w, **extra), f"message {w['id']} {w['kind']}: {g} != {dict(w, **extra)}")
    st = json.load(open(os.path.join(ruled, "stats.json")))
    c(st["rules"]["hits"] == want_hits, f"hits {st['rules']['hits']} vs the oracle's {want_hits}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
