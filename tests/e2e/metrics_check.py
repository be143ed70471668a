#!/usr/bin/python3
"""Checks of the metrics suite (tests/e2e/metrics_test.sh), each printing
PASS/FAIL lines; exit status 1 when any failed.

  metrics_check.py format SCRAPE             exposition well formed, loom_ names,
                                             counters end in _total, help on each
  metrics_check.py dashboard SCRAPE JSON     every loom_ metric the dashboard
                                             queries is in the scrape
  metrics_check.py docs-metrics SCRAPE DOCS  docs' metric table == the scrape
  metrics_check.py docs-telemetry HELP DOCS  docs' command table == live /help
                                             (HELP: JSON lines, cmd -> help)
  metrics_check.py docs-counters ROOT DOCS   docs' counter tables == the
                                             counters.def lists
  metrics_check.py metrics-table SCRAPE      print the docs' metric table
"""
import json
import re
import sys

failed = 0


def check(what, ok, detail=""):
    global failed
    print(("PASS: " if ok else "FAIL: ") + what + (f" ({detail})" if detail else ""))
    if not ok:
        failed += 1


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(path):
    """families: name -> {type, help, labels: set of label names, samples}"""
    fams, bad = {}, []
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        if line.startswith("# HELP "):
            name, _, text = line[7:].partition(" ")
            fams.setdefault(name, {"samples": 0, "labels": set()})["help"] = text
        elif line.startswith("# TYPE "):
            name, _, t = line[7:].partition(" ")
            fams.setdefault(name, {"samples": 0, "labels": set()})["type"] = t
        elif line.startswith("#"):
            continue
        else:
            m = SAMPLE.match(line)
            if not m:
                bad.append(line)
                continue
            name = m.group(1)
            base = re.sub(r'_(count|sum|bucket)$', '', name)
            f = fams.get(name) or fams.get(base)
            if f is None:
                bad.append(line)
                continue
            f["samples"] += 1
            if m.group(3):
                f["labels"] |= {k for k, _ in LABEL.findall(m.group(3))}
    return fams, bad


def cmd_format(scrape):
    fams, bad = parse(scrape)
    check("every sample line parses and belongs to a declared family", not bad, "; ".join(bad[:3]))
    loom = {n: f for n, f in fams.items() if n.startswith("loom_")}
    check("over 100 loom_ families", len(loom) > 100, f"{len(loom)}")
    others = sorted(n for n in fams if not n.startswith("loom_") and not n.startswith("exposer_"))
    check("no family outside loom_ (and prometheus-cpp's exposer_)", not others, ", ".join(others))
    wrong = [n for n, f in loom.items() if (f.get("type") == "counter") != n.endswith("_total")]
    check("counters and only counters end in _total", not wrong, ", ".join(wrong[:5]))
    nohelp = [n for n, f in loom.items() if not f.get("help")]
    check("every loom_ family has help text", not nohelp, ", ".join(nohelp[:5]))
    lib = re.compile(r'^loom_(core|pkt|flow|tcp|reasm|http|inspect|mirror|port|sink|match|ctl)_')
    nolib = [n for n in loom if not lib.match(n)]
    check("every name is loom_<lib>_<name>", not nolib, ", ".join(nolib[:5]))
    allowed = {"worker", "port", "queue", "reason", "collector", "output", "rule", "pool",
               "quantile", "version", "mode"}
    extra = sorted({l for f in loom.values() for l in f["labels"]} - allowed)
    check("labels are worker/port/queue/reason/collector/output/rule/pool/quantile", not extra,
          ", ".join(extra))
    empty = [n for n, f in loom.items() if not f["samples"]]
    check("every family has a sample", not empty, ", ".join(empty[:5]))
    return fams


def dashboard_metrics(path):
    d = json.load(open(path))
    exprs = []

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ("expr", "query") and isinstance(v, str):
                    exprs.append(v)
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(d)
    names = set()
    for e in exprs:
        names |= set(re.findall(r'\bloom_[a-z0-9_]+', e))
    return exprs, names


def cmd_dashboard(scrape, path):
    fams, _ = parse(scrape)
    exprs, names = dashboard_metrics(path)
    check("the dashboard has queries", len(exprs) >= 10, f"{len(exprs)} queries")
    missing = sorted(n for n in names if n not in fams)
    check(f"all {len(names)} metrics the dashboard queries are in the scrape", not missing,
          ", ".join(missing))


def docs_section(docs, heading):
    """Lines of the section that starts at `heading` (a line prefix) up to
    the next heading of the same or a higher level."""
    lines = open(docs).read().split("\n")
    for i, l in enumerate(lines):
        if l.startswith(heading):
            level = len(l) - len(l.lstrip("#"))
            out = []
            for m in lines[i + 1:]:
                if m.startswith("#") and (len(m) - len(m.lstrip("#")) <= level or heading.startswith("###")):
                    break
                out.append(m)
            return out
    return None


def first_column(lines):
    """The `names` of a markdown table's first column (several per cell,
    comma separated, allowed)."""
    out = []
    for l in lines:
        if not l.startswith("| `"):
            continue
        cell = l.split("|")[1]
        out += re.findall(r'`([^`]+)`', cell)
    return out


def cmd_docs_metrics(scrape, docs):
    fams, _ = parse(scrape)
    sec = docs_section(docs, "## Prometheus metrics")
    check("docs have a Prometheus metrics section", sec is not None)
    if sec is None:
        return
    rows = {}
    for l in sec:
        if l.startswith("| `loom_"):
            cells = [c.strip() for c in l.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    live = {n for n in fams if n.startswith("loom_")}
    check("every live metric is in the docs' table", not (live - rows.keys()),
          ", ".join(sorted(live - rows.keys())))
    # Rows the test's Loom cannot show: the mirror's (no [mirror] here) and
    # the RX fill level net_null does not report.
    optional = re.compile(r'^loom_(mirror_|port_rx_queue_(fill|size))')
    stale = sorted(n for n in rows.keys() - live if not optional.match(n))
    check("every metric in the docs' table exists", not stale, ", ".join(stale))
    wrong = []
    for n in live & rows.keys():
        if rows[n][1] != fams[n].get("type") or rows[n][3] != fams[n].get("help"):
            wrong.append(n)
    check("docs give each metric's type and help as the scrape does", not wrong, ", ".join(wrong[:5]))


def cmd_metrics_table(scrape):
    fams, _ = parse(scrape)
    print("| metric | type | labels | help |")
    print("|---|---|---|---|")
    for n, f in fams.items():
        if n.startswith("loom_"):
            labels = ", ".join(f"`{l}`" for l in sorted(f["labels"]))
            print(f"| `{n}` | {f.get('type')} | {labels} | {f.get('help')} |")


def cmd_docs_telemetry(helpfile, docs):
    live = {}
    for l in open(helpfile):
        l = l.strip()
        if not l.startswith("{"):
            continue
        for cmd, text in json.loads(l).get("/help", {}).items():
            live[cmd] = text
        # dpdk-telemetry.py prints {"/help": {"/loom/x": "text"}}
    sec = docs_section(docs, "## Telemetry")
    rows = {}
    for l in sec or []:
        if l.startswith("| `/loom/"):
            cells = [c.strip() for c in l.strip("|").split("|")]
            rows[cells[0].strip("`")] = cells
    check("live /loom/ commands found", len(live) >= 10, f"{len(live)}")
    check("every live command has a row in the docs' telemetry table",
          not (live.keys() - rows.keys()), ", ".join(sorted(live.keys() - rows.keys())))
    check("every command in the docs' table is registered", not (rows.keys() - live.keys()),
          ", ".join(sorted(rows.keys() - live.keys())))
    wrong = [c for c in live.keys() & rows.keys() if rows[c][1] != live[c]]
    check("the docs quote each command's /help reply exactly", not wrong,
          "; ".join(f"{c}: docs '{rows[c][1]}' live '{live[c]}'" for c in wrong[:3]))
    count = re.search(r'Loom registers (\d+) commands', "\n".join(sec or []))
    check("the docs' command count is right", bool(count) and int(count.group(1)) == len(live),
          count.group(1) if count else "no count")


def def_names(path, pattern):
    return re.findall(pattern, open(path).read(), re.M)


def cmd_docs_counters(root, docs):
    lists = [
        ("### Worker counters", f"{root}/lib/core/counters.def", r'^LOOM_COUNTER\((\w+),'),
        ("### Drop reasons", f"{root}/lib/core/drops.def", r'^LOOM_DROP\((\w+),'),
        ("### Malformed reasons", f"{root}/lib/pkt/counters.def", r'^LOOM_PKT\(malformed, (\w+),'),
        ("### Encapsulation counters", f"{root}/lib/pkt/counters.def", r'^LOOM_PKT\(encap, (\w+),'),
        ("### Packet counters", f"{root}/lib/pkt/counters.def", r'^LOOM_PKT\(pkt, (\w+),'),
        ("### Flow counters", f"{root}/lib/flow/counters.def", r'^LOOM_COUNTER\((\w+),'),
        ("### TCP control-packet counters", f"{root}/lib/tcp/counters.def", r'^LOOM_COUNTER\((\w+),'),
        ("### Reassembly counters", f"{root}/lib/reasm/counters.def", r'^LOOM_COUNTER\((\w+),'),
        ("### HTTP counters", f"{root}/lib/http/counters.def", r'^HTTP_COUNTER\((\w+),'),
        ("### Stream counters", f"{root}/lib/inspect/counters.def", r'^LOOM_COUNTER\((\w+),'),
    ]
    for heading, path, pat in lists:
        want = def_names(path, pat)
        sec = docs_section(docs, heading)
        if sec is None:
            check(f"docs have '{heading}'", False)
            continue
        have = first_column(sec)
        missing = [n for n in want if n not in have]
        extra = [n for n in have if n not in want]
        check(f"{heading[4:]}: every counter of {path[len(root) + 1:]} documented ({len(want)})",
              not missing, ", ".join(missing))
        check(f"{heading[4:]}: no documented counter missing from the list", not extra,
              ", ".join(extra))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "format":
        cmd_format(*args)
    elif cmd == "dashboard":
        cmd_dashboard(*args)
    elif cmd == "docs-metrics":
        cmd_docs_metrics(*args)
    elif cmd == "docs-telemetry":
        cmd_docs_telemetry(*args)
    elif cmd == "docs-counters":
        cmd_docs_counters(*args)
    elif cmd == "metrics-table":
        cmd_metrics_table(*args)
        return 0
    else:
        print(__doc__)
        return 2
    return 1 if failed else 0


sys.exit(main())
