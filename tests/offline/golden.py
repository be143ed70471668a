#!/usr/bin/env python3
"""Behaviour fence for refactors: Loom's outputs on every corpus capture
must stay what they were when the golden file was recorded.

  golden.py record LOOM GOLDEN CAPTURE...   run Loom, write GOLDEN
  golden.py check  LOOM GOLDEN CAPTURE...   run Loom, compare with GOLDEN

What is fenced, per capture: messages.jsonl, streams.jsonl and http.gor
(SHA-256 and line count) and every counter of stats.json. Fields and
counters added later are allowed -- a record is digested over the keys the
golden file saw in that file, and only the golden's counters are compared
-- so a feature that adds a field does not need a new golden, but one that
changes or drops a value does. A deliberate change of output is recorded
again with `record`, and says why in its commit.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

RECORD_FILES = ("messages.jsonl", "streams.jsonl")
# Not behaviour: the build's version string and where the capture lives.
STATS_SKIP = ("loom_version", "input.pcap")


def flatten(prefix, value, out):
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{prefix}.{k}" if prefix else k, v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            flatten(f"{prefix}[{i}]", v, out)
    else:
        out[prefix] = value


def record_keys(path):
    keys = set()
    with open(path) as f:
        for line in f:
            keys.update(json.loads(line).keys())
    return sorted(keys)


def record_digest(path, keys):
    h = hashlib.sha256()
    n = 0
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            h.update(json.dumps({k: rec[k] for k in keys if k in rec},
                                sort_keys=True, separators=(",", ":")).encode())
            h.update(b"\n")
            n += 1
    return h.hexdigest(), n


def file_digest(path):
    with open(path, "rb") as f:
        data = f.read()
    return hashlib.sha256(data).hexdigest(), data.count(b"\n")


def run_loom(loom, capture, out):
    r = subprocess.run([loom, "--pcap", capture, "--out", out],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.exit(f"golden: loom failed on {capture}: {r.stderr.decode()[-500:]}")


def observe(loom, capture, tmp, golden_entry=None):
    out = os.path.join(tmp, os.path.basename(capture))
    run_loom(loom, capture, out)
    entry = {}
    for name in RECORD_FILES:
        path = os.path.join(out, name)
        keys = golden_entry[name]["keys"] if golden_entry else record_keys(path)
        digest, lines = record_digest(path, keys)
        entry[name] = {"keys": keys, "sha256": digest, "lines": lines}
    digest, lines = file_digest(os.path.join(out, "http.gor"))
    entry["http.gor"] = {"sha256": digest, "lines": lines}
    stats = {}
    with open(os.path.join(out, "stats.json")) as f:
        flatten("", json.load(f), stats)
    entry["stats"] = {k: v for k, v in stats.items() if k not in STATS_SKIP}
    return entry


def main():
    if len(sys.argv) < 5 or sys.argv[1] not in ("record", "check"):
        sys.exit(__doc__)
    mode, loom, golden_path, captures = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with tempfile.TemporaryDirectory(prefix="loom-golden.") as tmp:
        if mode == "record":
            golden = {os.path.basename(c): observe(loom, c, tmp) for c in captures}
            with open(golden_path, "w") as f:
                json.dump(golden, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"golden: recorded {len(golden)} captures into {golden_path}")
            return
        with open(golden_path) as f:
            golden = json.load(f)
        passed = failed = 0

        def check(what, ok, detail=""):
            nonlocal passed, failed
            if ok:
                passed += 1
            else:
                failed += 1
                print(f"FAIL: {what} {detail}")

        for c in captures:
            name = os.path.basename(c)
            want = golden.get(name)
            check(f"{name}: in the golden file", want is not None)
            if want is None:
                continue
            got = observe(loom, c, tmp, want)
            for f in RECORD_FILES + ("http.gor",):
                check(f"{name} {f}", got[f]["sha256"] == want[f]["sha256"],
                      f"(lines {want[f]['lines']} -> {got[f]['lines']})")
            changed = [k for k, v in want["stats"].items() if got["stats"].get(k) != v]
            check(f"{name} stats.json counters", not changed,
                  "; ".join(f"{k}: {want['stats'][k]} -> {got['stats'].get(k)}"
                            for k in changed[:10]))
        print(f"golden: {passed} passed, {failed} failed")
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
