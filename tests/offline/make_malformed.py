#!/usr/bin/env python3
"""Writes a capture of deliberately broken frames, one per malformed
reason Loom counts, plus two good ones, and prints the expected counters
as JSON. Standard library only."""
import json
import struct
import sys


def eth(etype, vlan=False):
    h = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02"
    if vlan:
        h += struct.pack("!HH", 0x8100, 100)
    return h + struct.pack("!H", etype)


def ipv4(payload, proto=6, ihl=5, total=None, version=4):
    total = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, total, 1, 0, 64, proto, 0,
                      bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return hdr + b"\x00" * (ihl * 4 - 20) + payload


def ipv6(payload, nxt=6, plen=None, version=6):
    plen = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", version << 28, plen, nxt, 64, b"\x20\x01" + b"\x00" * 13 + b"\x01",
                       b"\x20\x01" + b"\x00" * 13 + b"\x02") + payload


def tcp(payload=b"", doff=5):
    return struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, doff << 4, 0x18, 65535, 0, 0) + \
        b"\x00" * max(0, doff * 4 - 20) + payload


frames = [
    ("good", eth(0x0800) + ipv4(tcp(b"GET / HTTP/1.1\r\n\r\n"))),
    ("good", eth(0x86DD, vlan=True) + ipv6(tcp(b"x" * 10))),
    ("truncated_l2", b"\x02" * 10),
    ("truncated_ipv4", eth(0x0800) + ipv4(tcp())[:12]),
    ("bad_ipv4_version", eth(0x0800) + ipv4(tcp(), version=5)),
    ("bad_ipv4_ihl", eth(0x0800) + ipv4(tcp(), ihl=3)),
    ("bad_ipv4_total_len", eth(0x0800) + ipv4(tcp(), total=400)),
    ("truncated_ipv6", eth(0x86DD) + ipv6(tcp())[:30]),
    ("bad_ipv6_version", eth(0x86DD) + ipv6(tcp(), version=4)),
    ("bad_ipv6_payload_len", eth(0x86DD) + ipv6(tcp(), plen=900)),
    ("truncated_tcp", eth(0x0800) + ipv4(b"\x00" * 8)),
    ("bad_tcp_doff", eth(0x0800) + ipv4(tcp(doff=3))),
    ("bad_tcp_doff", eth(0x0800) + ipv4(tcp()[:12] + b"\xf0" + tcp()[13:])),  # options past end
    ("truncated_udp", eth(0x0800) + ipv4(b"\x00" * 4, proto=17)),
]

with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, (_, fr) in enumerate(frames):
        f.write(struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)))
        f.write(fr)

expected = {}
for kind, _ in frames:
    if kind != "good":
        expected[kind] = expected.get(kind, 0) + 1
print(json.dumps({"packets": len(frames), "malformed": expected, "tcp": 2}))
