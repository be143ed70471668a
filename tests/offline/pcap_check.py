#!/usr/bin/env python3
"""packets.pcap against the capture it came from.

Usage: pcap_check.py ORIGINAL.pcap MESSAGES.jsonl PART [PART ...]

The parts (packets.pcap, or packets_0.pcap.gz, packets_1.pcap.gz, ... in
order) are read as one stream. Checks, written from the pcap format and the
selection rule in docs/configuration.md, not from Loom's code:
  - every part starts with a nanosecond pcap header, link type Ethernet;
  - the connections in the output are exactly those with a message in
    messages.jsonl;
  - each of them has every TCP packet the original has for it, in order,
    byte for byte, with the original's timestamp.
"""
import gzip
import ipaddress
import json
import struct
import sys

sys.path.insert(0, __import__("os").path.dirname(__file__))
from checks import Checks  # noqa: E402


def read_pcap(path, c=None):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    ns = magic == 0xA1B23C4D
    if c:
        c(ns, f"{path}: nanosecond magic (got {magic:#x})")
        c(struct.unpack("<I", data[20:24])[0] == 1, f"{path}: link type Ethernet")
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        out.append((sec * 10**9 + (frac if ns else frac * 1000), wirelen,
                    data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return out


def endpoint(ip, port):
    a = ipaddress.ip_address(ip)
    return f"[{a}]:{port}" if a.version == 6 else f"{a}:{port}"


def conn_key(frame):
    """The connection a frame belongs to (both directions alike), or None."""
    off, etype = 14, struct.unpack("!H", frame[12:14])[0]
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if etype == 0x0800 and frame[off + 9] == 6:
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        off += (frame[off] & 15) * 4
    elif etype == 0x86DD and frame[off + 6] == 6:
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        off += 40
    else:
        return None
    sp, dp = struct.unpack("!HH", frame[off:off + 4])
    return frozenset((endpoint(src, sp), endpoint(dst, dp)))


def main():
    orig, messages, parts = sys.argv[1], sys.argv[2], sys.argv[3:]
    c = Checks("pcap")
    want = {}
    for ts, wirelen, frame in read_pcap(orig):
        k = conn_key(frame)
        if k:
            want.setdefault(k, []).append((ts, wirelen, frame))
    got = {}
    for p in parts:
        for ts, wirelen, frame in read_pcap(p, c):
            got.setdefault(conn_key(frame), []).append((ts, wirelen, frame))
    selected = set()
    with open(messages) as f:
        for line in f:
            m = json.loads(line)
            selected.add(frozenset((m["client"], m["server"])))
    c(set(got) == selected,
      f"connections: {len(got)} in the pcap, {len(selected)} with messages; "
      f"extra {sorted(map(sorted, set(got) - selected))[:3]} "
      f"missing {sorted(map(sorted, selected - set(got)))[:3]}")
    for k in sorted(selected & set(got), key=sorted):
        w, g = want.get(k, []), got[k]
        # Snaplen may cut a frame; the rest must be the original's.
        same = len(w) == len(g) and all(
            gt == wt and gl == wl and wf[:len(gf)] == gf and len(gf) == min(len(wf), len(gf))
            for (gt, gl, gf), (wt, wl, wf) in zip(g, w))
        c(same, f"{sorted(k)}: {len(g)} packets in the pcap, {len(w)} in the capture, "
                "or different bytes/order/timestamps")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
