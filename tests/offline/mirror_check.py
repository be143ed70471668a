#!/usr/bin/env python3
"""Mirror output against the capture it came from.

Usage: mirror_check.py CAPTURE.pcap MIRROR.pcap ENCAP PORT

The run mirrored every connection with server port PORT (a flow rule, so
from its first packet) through ENCAP (vxlan, gre or erspan) towards
192.0.2.9 from 192.0.2.1, VNI 42 / session 7, with an MTU large enough
that nothing is cut. Decapsulated by hand from RFC 7348 (VXLAN), RFC 1701
/2784 (GRE, protocol 0x6558) and the ERSPAN type II draft (GRE 0x88BE with
a sequence number, 8-byte header), the mirror must hold exactly the
capture's frames of those connections, in order, byte for byte, and every
outer IPv4 header must be well formed (checksum, length, DF, addresses).
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from checks import Checks  # noqa: E402
from pcap_check import read_pcap  # noqa: E402
from steer_check import classify  # noqa: E402


def ip_checksum_ok(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def decap(frame, encap, c, n):
    ip = frame[14:34]
    c(struct.unpack("!H", frame[12:14])[0] == 0x0800 and ip_checksum_ok(ip), f"#{n}: outer IPv4 checksum")
    c(ip[12:16] == bytes([192, 0, 2, 1]) and ip[16:20] == bytes([192, 0, 2, 9]), f"#{n}: outer addresses")
    c(struct.unpack("!H", ip[2:4])[0] == len(frame) - 14, f"#{n}: outer total length")
    c(struct.unpack("!H", ip[6:8])[0] & 0x4000, f"#{n}: DF set")
    if encap == "vxlan":
        c(ip[9] == 17 and struct.unpack("!H", frame[36:38])[0] == 4789, f"#{n}: UDP to 4789")
        c(frame[42] == 0x08 and frame[46:49] == (42).to_bytes(3, "big"), f"#{n}: VXLAN flags and VNI 42")
        return frame[50:]
    c(ip[9] == 47, f"#{n}: GRE")
    flags, proto = struct.unpack("!HH", frame[34:38])
    if encap == "gre":
        c(flags == 0 and proto == 0x6558, f"#{n}: GRE TEB")
        return frame[38:]
    c(flags == 0x1000 and proto == 0x88BE, f"#{n}: GRE with sequence, ERSPAN II")
    ver_vlan, sess = struct.unpack("!HH", frame[42:46])
    c(ver_vlan >> 12 == 1 and sess & 0x3FF == 7, f"#{n}: ERSPAN version 1, session 7")
    return frame[50:]


def main():
    cap, mirror, encap, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    c = Checks("mirror")
    want = [f for _, _, f in read_pcap(cap) if classify(f, {port}) == "service"]
    got = [decap(f, encap, c, i) for i, (_, _, f) in enumerate(read_pcap(mirror))]
    c(len(want) > 0 and len(got) == len(want), f"{len(got)} frames mirrored, the capture has {len(want)} on port {port}")
    c(got == want, "the decapsulated frames are the capture's, in order")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
