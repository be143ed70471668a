#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets under tests/fuzz/corpus/
(checked in; run again only to change them):
  pkt_parse/  one data frame per link type and encapsulation the offline
              decapsulation test builds (tests/offline/decap_test.py), and
              frames from the bundled capture, each behind the target's
              3-byte settings prefix
  reasm/      segment scripts: in order, reordered, retransmitted and
              overlapping, a hole, the 2^32 wrap, mid-stream pickup
  config/     the ready startup files (drivers_cfg/) and the offline
              tests' rules file
  pcap/       the bundled capture's first records (both byte orders,
              nsec), a cut last record, a damaged header, a small pcapng
usage: /usr/bin/python3 tests/fuzz/make_seeds.py"""
import os
import shutil
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, os.path.join(root, "tests", "offline"))
import decap_test  # noqa: E402  (its frame builders; scapy)

LINKS = [0, 1, 9, 12, 14, 50, 101, 104, 108, 113, 228, 229, 276]  # pkt_parse_fuzz.cc's order
corpus = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(data)


def sample_frames(n):
    d = open(os.path.join(root, "tests", "data", "sample.pcap"), "rb").read()
    pos, out = 24, []
    while pos + 16 <= len(d) and len(out) < n:
        incl = struct.unpack("<I", d[pos + 8:pos + 12])[0]
        out.append(d[pos + 16:pos + 16 + incl])
        pos += 16 + incl
    return d[:24], out


def pkt_seeds():
    for name, (link, build, v6, *_rest) in decap_test.frame_builders().items():
        pkts, _, _ = decap_test.exchange(name, v6=v6)
        c, ip = pkts[3]  # the request: headers and payload
        put("pkt_parse", name, bytes([LINKS.index(link), 4, 0]) + build(c, ip))
    _, frames = sample_frames(4)
    for i, f in enumerate(frames):
        put("pkt_parse", f"sample-{i}", bytes([1, 4, 0]) + f)
        put("pkt_parse", f"sample-{i}-cut", bytes([1, 4 | 8 | 16, 128]) + f[:60])


def reasm_seeds():
    def op(what, stream, off, ln, conflict=False, dt=0):
        return bytes([what | stream << 3 | (32 if conflict else 0) | dt << 6]) + struct.pack("<hB", off, ln)
    syn = lambda s, isn: op(2, s, isn, 0)  # noqa: E731
    limits = 0x03 | 0x0C | 0x20  # many segments, 1 MiB, 16 nodes
    put("reasm", "in-order", bytes([limits]) + syn(0, -1) + op(0, 0, 0, 100) + op(0, 0, 100, 100)
        + op(3, 0, 200, 0) + op(4, 1, 200, 0))
    put("reasm", "reordered", bytes([limits]) + syn(0, -1) + op(0, 0, 200, 100) + op(0, 0, 100, 100)
        + op(0, 0, 0, 100) + op(3, 0, 300, 0))
    put("reasm", "overlap", bytes([limits]) + syn(2, -1) + op(0, 2, 0, 100) + op(0, 2, 50, 100)
        + op(0, 2, 120, 60, conflict=True) + op(0, 2, 100, 120) + op(7, 2, 0, 0))
    put("reasm", "hole-timeout", bytes([limits]) + syn(1, -1) + op(0, 1, 0, 10) + op(0, 1, 50, 10)
        + op(4, 0, 60, 0, dt=3) + op(5, 1, 0, 0, dt=3) + op(0, 1, 60, 10))
    put("reasm", "wrap", bytes([limits]) + syn(3, 4000) + op(0, 3, 4001, 200) + op(0, 3, 4201, 255)
        + op(0, 3, 4456, 230) + op(6, 3, 6000, 100) + op(0, 3, 6100, 50))
    put("reasm", "pickup", bytes([0x10 | 0x01]) + op(0, 0, 300, 40) + op(0, 0, 200, 100) + op(0, 0, 340, 20)
        + op(1, 1, 0, 8) + op(1, 1, 8, 8))
    put("reasm", "small-pool", bytes([0x00]) + b"".join(op(0, s, 400 - 40 * i, 30) for i in range(8) for s in (0, 2)))


def config_seeds():
    for f in sorted(os.listdir(os.path.join(root, "drivers_cfg"))):
        if f.endswith(".toml"):
            shutil.copy(os.path.join(root, "drivers_cfg", f), os.path.join(corpus, "config", f))
    shutil.copy(os.path.join(root, "tests", "offline", "rules.toml"), os.path.join(corpus, "config", "rules.toml"))
    put("config", "offline-outputs.toml", b'mode = "offline"\n[outputs]\npcap = true\nempty_connections = "all"\n'
        b'[flow]\nmax_flows_per_worker = 1024\n[reassembly]\nmemcap_mb = 8\n[decap]\nvxlan_ports = [4789, 8472]\n')


def pcap_seeds():
    hdr, frames = sample_frames(5)
    body = b"".join(struct.pack("<IIII", 1700000000, i, len(f), len(f)) + f for i, f in enumerate(frames))
    put("pcap", "sample-head", hdr + body)
    be = struct.pack(">IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1) + b"".join(
        struct.pack(">IIII", 1700000000, i, len(f), len(f)) + f for i, f in enumerate(frames[:2]))
    put("pcap", "big-endian-nsec", be)
    put("pcap", "cut-last", hdr + body[:-20])
    dmg = bytearray(hdr + body)
    off = 24 + 16 + len(frames[0])
    dmg[off + 8:off + 12] = struct.pack("<I", 0xFFFFFFF0)
    put("pcap", "damaged", bytes(dmg))
    snapped = hdr[:16] + struct.pack("<I", 96) + hdr[20:] + b"".join(
        struct.pack("<IIII", 1700000000, i, min(96, len(f)), len(f)) + f[:96] for i, f in enumerate(frames))
    put("pcap", "snapped", snapped)

    def block(t, body):
        ln = 12 + len(body)
        return struct.pack("<II", t, ln) + body + struct.pack("<I", ln)
    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = block(1, struct.pack("<HHI", 1, 0, 65535))
    f = frames[0] + b"\0" * (-len(frames[0]) % 4)
    epb = block(6, struct.pack("<IIIII", 0, 0, 0, len(frames[0]), len(frames[0])) + f)
    put("pcap", "pcapng", shb + idb + epb)
    put("pcap", "pcapng-two-links", shb + idb + block(1, struct.pack("<HHI", 101, 0, 65535)) + epb)


if __name__ == "__main__":
    os.makedirs(os.path.join(corpus, "config"), exist_ok=True)
    pkt_seeds()
    reasm_seeds()
    config_seeds()
    pcap_seeds()
    for t in sorted(os.listdir(corpus)):
        print(t, len(os.listdir(os.path.join(corpus, t))))
