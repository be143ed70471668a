#!/usr/bin/python3
"""The command line a person expects (issue 15, item 8) and the log format
(item 6), on the offline path: no NIC, no root.

  --version      commit, DPDK version, build type, CPU features
  --help         every output file, signal and exit status
  progress       drawn under a pseudo-terminal (python's pty), absent when
                 stderr is a pipe and with --quiet
  [log]          text lines carry a UTC time and a level; format = "json"
                 gives one JSON object per line; bad keys are refused with
                 file:line:column
Usage: cli_test.py BUILD_DIR CAPTURE    Ends with "cli: N passed, M failed".
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import tempfile

build, capture = sys.argv[1], sys.argv[2]
loom = os.path.join(build, "app", "loom")
passed = failed = 0


def check(what, ok, detail=""):
    global passed, failed
    print(("PASS: " if ok else "FAIL: ") + what + ("" if ok or not detail else f" ({detail})"))
    if ok:
        passed += 1
    else:
        failed += 1


def records(path):
    """Records of a classic pcap, counted here independently of Loom."""
    import struct
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        n = 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack(end + "IIII", h)[2], 1)
            n += 1


def run_pty(args):
    """Runs loom with stderr (and stdout) on a pseudo-terminal; returns
    (exit status, everything it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(loom, [loom] + args)
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], 60)
        if not r:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode("utf-8", "replace")


tmp = tempfile.mkdtemp(prefix="loom-cli-")

# --version
r = subprocess.run([loom, "--version"], capture_output=True, text=True)
v = r.stdout
check("--version exits 0", r.returncode == 0)
commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--short=12", "HEAD"],
                        capture_output=True, text=True).stdout.strip()
check("--version names the git commit built", bool(commit) and f"(git {commit}" in v, v.split("\n")[0])
check("--version names the DPDK version", re.search(r"against DPDK \d+\.\d+\.\d+", v) is not None
      and "runtime: DPDK " in v, v)
check("--version names the build type", re.search(r"built: (release|debug|debugoptimized|plain|minsize)", v) is not None, v)
check("--version lists the CPU features compiled in", re.search(r"cpu features compiled in:( \S+)+", v) is not None, v)

# --help
r = subprocess.run([loom, "--help"], capture_output=True, text=True)
h = r.stdout
check("--help exits 0", r.returncode == 0)
for f in ("streams.jsonl", "messages.jsonl", "http.gor", "packets.pcap", "stats.json", "run.json"):
    check(f"--help lists the output file {f}", f in h)
for s in ("SIGINT", "SIGTERM", "SIGHUP"):
    check(f"--help lists the signal {s}", s in h)
for code in ("0", "1", "2", "130", "143"):
    check(f"--help lists exit status {code}", re.search(rf"^\s+{code}\s", h, re.M) is not None
          or f"; {code} " in h)
check("--help names --quiet", "--quiet" in h)

# Progress under a pseudo-terminal.
n = records(capture)
rc, out = run_pty(["--pcap", capture, "--out", f"{tmp}/tty"])
check("offline run on a terminal exits 0", rc == 0, out[-500:])
final = re.findall(rf"loom: {n} of {n} records \(100\.0%\), [0-9.]+ Mpackets/s, done in [0-9.]+ s", out)
check(f"progress on a terminal reaches '{n} of {n} records'", len(final) >= 1 and out.count("\n", out.rfind(final[-1])) >= 1, out[-500:])
check("the progress line is redrawn in place (carriage return, erase line)", "\r\x1b[K" in out)
rc, out = run_pty(["--pcap", capture, "--out", f"{tmp}/quiet", "--quiet"])
check("--quiet on a terminal: no progress", rc == 0 and " records (" not in out and "\x1b[K" not in out, out[-300:])
r = subprocess.run([loom, "--pcap", capture, "--out", f"{tmp}/pipe"], capture_output=True, text=True)
check("stderr piped: no progress", r.returncode == 0 and " records (" not in r.stderr and "\x1b" not in r.stderr,
      r.stderr[-300:])
stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (EMERG|ALERT|CRIT|ERROR|WARNING|NOTICE|INFO|DEBUG) ")
lines = r.stderr.splitlines()
check("text log: every line starts with a UTC time and a level", lines and all(stamp.match(l) for l in lines),
      next((l for l in lines if not stamp.match(l)), ""))
check("text log: EAL's own lines are stamped too", any(" EAL: " in l for l in lines))
same = all(open(f"{tmp}/{d}/streams.jsonl").read() == open(f"{tmp}/pipe/streams.jsonl").read() for d in ("tty", "quiet"))
check("outputs are the same with or without the progress line", same)

# [log] format = "json"
with open(f"{tmp}/json.toml", "w") as f:
    f.write('mode = "offline"\n[log]\nformat = "json"\n')
r = subprocess.run([loom, "--pcap", capture, "--out", f"{tmp}/json", "--config", f"{tmp}/json.toml"],
                   capture_output=True, text=True)
objs, bad = [], []
for l in r.stderr.splitlines():
    try:
        objs.append(json.loads(l))
    except ValueError:
        bad.append(l)
check("json log: exit 0 and every line is a JSON object", r.returncode == 0 and objs and not bad,
      bad[0] if bad else "")
check("json log: each has time, level, message",
      all(re.match(r"^\d{4}-.*Z$", o.get("time", "")) and o.get("level") and "message" in o for o in objs))
check("json log: Loom's and EAL's lines are told apart by source",
      any(o.get("source") == "loom" for o in objs) and any(o.get("source") == "EAL" for o in objs))
check("json log: the stop line is there",
      any(o.get("source") == "loom" and o["message"].startswith("stopped (capture-end)") for o in objs))

# Bad [log] and [metrics] keys: file:line:column.
cases = [
    ('[log]\nformat = "xml"\n', r":3:10: log.format = \"xml\" is not one of \"text\", \"json\""),
    ('[log]\nsummary = 5\n', r":3:1: .*summary"),
    ('[metrics]\nlisten = "localhost:9464"\n', r":3:10: metrics.listen = \"localhost:9464\": 'localhost' is not an IPv4 address"),
    ('[metrics]\nlisten = "127.0.0.1:99999"\n', r":3:10: metrics.listen = \"127.0.0.1:99999\": port '99999' is not 1 to 65535"),
    ('[metrics]\nlisten = "[::1]"\n', r":3:10: metrics.listen = \"\[::1\]\": .*ADDR:PORT|is not an IPv6"),
]
for i, (text, want) in enumerate(cases):
    p = f"{tmp}/bad{i}.toml"
    open(p, "w").write('mode = "offline"\n' + text)
    r = subprocess.run([loom, "--check-config", p], capture_output=True, text=True)
    check(f"refused with file:line:column: {text.strip()!r}", r.returncode == 1 and re.search(re.escape(p) + want, r.stderr) is not None,
          r.stderr.strip()[:200])
open(f"{tmp}/good.toml", "w").write('mode = "offline"\n[metrics]\nlisten = "[::1]:9464"\n[log]\nformat = "text"\nsummary_seconds = 0\n')
r = subprocess.run([loom, "--check-config", f"{tmp}/good.toml"], capture_output=True, text=True)
check("an IPv6 listen address and the [log] keys are accepted", r.returncode == 0, r.stderr[:200])

subprocess.run(["rm", "-rf", tmp])
print(f"cli: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
