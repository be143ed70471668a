#!/usr/bin/env python3
"""Writes a SYN flood capture: N half-open connections (distinct client
addresses and ports towards one server), every RST_EVERY-th answered by the
server's RST-ACK, plus one complete HTTP exchange with payload, so that the
flood's summary can be told from the connection that must keep its records.
Plain struct packing (scapy takes minutes for 10^5 packets).

usage: syn_flood.py OUT.pcap N RST_EVERY"""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = struct.pack("!4s4sBBH", src, dst, 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + tcp


def main(path, n, rst_every):
    srv = bytes([198, 18, 0, 1])
    out = open(path, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    t = [1_700_000_000 * 10**6]

    def put(f):
        t[0] += 1
        out.write(struct.pack("<IIII", t[0] // 10**6, t[0] % 10**6, len(f), len(f)) + f)

    for i in range(n):
        cli = bytes([198, 19, (i >> 8) & 0xFF, i & 0xFF])
        sport = 1024 + (i % 60000)
        isn = (i * 2654435761) & 0xFFFFFFFF
        put(frame(cli, srv, sport, 80, isn, 0, 0x02))
        if rst_every and i % rst_every == 0:
            put(frame(srv, cli, 80, sport, 0, (isn + 1) & 0xFFFFFFFF, 0x14))
    # One real exchange: it carries payload, so it keeps its two records.
    cli, sport = bytes([198, 20, 0, 1]), 40000
    req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    put(frame(cli, srv, sport, 80, 100, 0, 0x02))
    put(frame(srv, cli, 80, sport, 500, 101, 0x12))
    put(frame(cli, srv, sport, 80, 101, 501, 0x10))
    put(frame(cli, srv, sport, 80, 101, 501, 0x18, req))
    put(frame(srv, cli, 80, sport, 501, 101 + len(req), 0x18, resp))
    put(frame(cli, srv, sport, 80, 101 + len(req), 501 + len(resp), 0x11))
    put(frame(srv, cli, 80, sport, 501 + len(resp), 102 + len(req), 0x11))
    put(frame(cli, srv, sport, 80, 102 + len(req), 502 + len(resp), 0x10))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
