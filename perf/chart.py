#!/usr/bin/python3
"""perf/chart.py: the chart of docs/performance.md, from perf/peers_bench.sh's JSON.

    perf/chart.py [--peers perf/results/peers.json] [--out docs/img/peers.png]

Two panels, both from the same run on the same capture:
  left   packets/s of every engine (log scale): the Loom pipeline at each
         stage and the peers (libnids, tcpflow, tshark), each bar labelled
         with its rate, Loom full pipeline's ratio to it, and a mark when
         what the engine counted differs from the generator's truth;
  right  Loom per stage: packets/s over the whole process (fork to exit,
         as the peers are measured) and over Loom's own run (run.json
         wall_seconds: worker start to capture end, without EAL start-up).
perf/reasm_bench.sh and perf/relay_bench.sh print markdown only (no JSON),
so their numbers are not charted here; their tables are in the document.
Needs matplotlib (Debian: python3-matplotlib, hence /usr/bin/python3 in the
#! line); draws with the Agg backend, no display.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHORT = {
    "loom-rx": "Loom RX baseline\n(inspect = false)",
    "loom-reasm": "Loom reassembly only",
    "loom-issue": "Loom reasm + HTTP\n+ messages.jsonl",
    "loom-nogor": "Loom full, no http.gor",
    "loom-full": "Loom full pipeline",
    "libnids": "libnids (reasm only)",
    "tcpflow": "tcpflow (files on tmpfs)",
    "tshark": "tshark -z http,tree",
}
STAGES = ["loom-rx", "loom-reasm", "loom-issue", "loom-nogor", "loom-full"]
PEERS = ["libnids", "tcpflow", "tshark"]
LOOM_COLOUR, PEER_COLOUR, INTERNAL_COLOUR = "#2b6cb0", "#c05621", "#90cdf4"


def rate(v):
    return f"{v / 1e6:.2f} Mpps" if v >= 1e6 else f"{v / 1e3:.0f} kpps"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peers", default=os.path.join(ROOT, "perf/results/peers.json"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs/img/peers.png"))
    a = ap.parse_args()
    try:
        d = json.load(open(a.peers))
    except (OSError, ValueError) as e:
        sys.exit(f"chart: cannot read {a.peers}: {e} (run perf/peers_bench.sh first)")
    eng = {e["engine"]: e for e in d["engines"] if "packets_per_s" in e}
    if "loom-full" not in eng:
        sys.exit("chart: no successful loom-full run in " + a.peers)
    full = eng["loom-full"]["packets_per_s"]
    truth = d["capture"]["truth"]

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.2), gridspec_kw={"width_ratios": [1.35, 1]})

    # ---- left: every engine, log scale
    order = [e for e in STAGES + PEERS if e in eng]
    ys = list(range(len(order)))[::-1]
    vals = [eng[e]["packets_per_s"] for e in order]
    cols = [LOOM_COLOUR if e.startswith("loom") else PEER_COLOUR for e in order]
    hatch = ["" if eng[e].get("counts_equal_truth") else "//" for e in order]
    bars = ax1.barh(ys, vals, color=cols, edgecolor="black", linewidth=0.4)
    for b, h in zip(bars, hatch):
        b.set_hatch(h)
    ax1.set_xscale("log")
    ax1.set_yticks(ys)
    ax1.set_yticklabels([SHORT[e] for e in order], fontsize=9)
    ax1.set_xlim(min(vals) / 2, max(vals) * 12)
    for y, e, v in zip(ys, order, vals):
        note = rate(v)
        if e != "loom-full":
            note += f"   (Loom full = {full / v:.2f}x)"
        if not eng[e].get("counts_equal_truth"):
            note += "  counts != truth"
        ax1.text(v * 1.08, y, note, va="center", fontsize=8)
    ax1.set_xlabel("packets/s, whole process (fork to exit), log scale")
    ax1.set_title("Loom stages and peers, same capture", fontsize=11)
    ax1.grid(axis="x", which="both", alpha=0.25)

    # ---- right: Loom per stage, process wall vs Loom's own wall
    st = [e for e in STAGES if e in eng]
    x = list(range(len(st)))
    w = 0.38
    proc = [eng[e]["packets_per_s"] / 1e6 for e in st]
    own = [eng[e].get("loom_internal_packets_per_s", 0) / 1e6 for e in st]
    b1 = ax2.bar([i - w / 2 for i in x], proc, w, color=LOOM_COLOUR, label="whole process")
    b2 = ax2.bar([i + w / 2 for i in x], own, w, color=INTERNAL_COLOUR,
                 label="Loom's run (run.json, no EAL start-up)")
    for bs in (b1, b2):
        for b in bs:
            ax2.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{b.get_height():.2f}",
                     ha="center", va="bottom", fontsize=8)
    if "libnids" in eng:
        ax2.axhline(eng["libnids"]["packets_per_s"] / 1e6, color=PEER_COLOUR, ls="--", lw=1,
                    label="libnids, whole process")
    ax2.set_xticks(x)
    # One word per line: five stages side by side leave ~1 inch each.
    ax2.set_xticklabels([SHORT[e].replace("Loom ", "").replace("\n", " ").replace(" ", "\n")
                         for e in st], fontsize=8)
    ax2.set_ylabel("Mpps, one worker")
    ax2.set_title("Loom per stage", fontsize=11)
    ax2.legend(fontsize=8, loc="upper right")
    ax2.grid(axis="y", alpha=0.25)

    m = d["machine"]
    fig.suptitle(
        f"{truth['packets']:,} packets, {truth['connections']:,} connections, "
        f"{truth['messages']:,} HTTP messages, {d['capture']['ofo_pct']:g}% out of order; "
        f"median of {d['runs_per_engine']} run(s) (tshark {d['tshark_runs']}); "
        f"{m['cpu']} x{m['cpus']}, load {m['load_start'].split()[0]}; {d['date']}",
        fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"chart: wrote {a.out}")


if __name__ == "__main__":
    main()
