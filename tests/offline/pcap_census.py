#!/usr/bin/env python3
"""Independent reference for Loom's offline counters: reads a classic
libpcap file with the standard library only and counts frames by kind the
way docs/operations.md defines Loom's "pkt" counters. Prints JSON.

It is deliberately written from the RFCs, not from Loom's parser, so the
offline test compares two implementations."""
import json
import struct
import sys


def census(path):
    c = dict(packets=0, bytes=0, ipv4=0, ipv6=0, tcp=0, udp=0, vlan_tagged=0)
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    pos = 24
    while pos + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(endian + "IIII", data[pos:pos + 16])
        frame = data[pos + 16:pos + 16 + caplen]
        if len(frame) < caplen:
            break
        pos += 16 + caplen
        c["packets"] += 1
        c["bytes"] += caplen
        off = 12
        etype = struct.unpack("!H", frame[off:off + 2])[0] if len(frame) >= 14 else 0
        tags = 0
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 6:
            tags += 1
            off += 4
            etype = struct.unpack("!H", frame[off:off + 2])[0]
        if tags:
            c["vlan_tagged"] += 1
        l3 = off + 2
        proto = None
        if etype == 0x0800 and len(frame) >= l3 + 20:
            c["ipv4"] += 1
            flags_frag = struct.unpack("!H", frame[l3 + 6:l3 + 8])[0]
            if flags_frag & 0x3FFF == 0:
                proto = frame[l3 + 9]
        elif etype == 0x86DD and len(frame) >= l3 + 40:
            c["ipv6"] += 1
            proto = frame[l3 + 6]
            p = l3 + 40
            while proto in (0, 43, 60) and len(frame) >= p + 8:
                proto, p = frame[p], p + (frame[p + 1] + 1) * 8
        if proto == 6:
            c["tcp"] += 1
        elif proto == 17:
            c["udp"] += 1
    return c


if __name__ == "__main__":
    print(json.dumps(census(sys.argv[1]), sort_keys=True))
