#!/usr/bin/python3
"""Capture link types and encapsulations, end to end: crafts one small
capture per link type and encapsulation Loom decodes (python3-scapy for
the IP/TCP/UDP layers, the tunnel headers packed by hand from their RFCs
so the test does not lean on one decoder's view of them), each carrying
one HTTP exchange with its handshake, runs `loom --pcap X --out D` on it
and checks that
  - the run exits 0 with no frame counted malformed,
  - messages.jsonl has the request (its URI) and the 200 response,
  - streams.jsonl has both directions with the byte count and SHA-256 of
    the payload bytes computed here,
  - tunnelled records name the outer encapsulation and tunnel id,
  - two tenants with the same 5-tuple in two VNIs stay two connections,
  - a capture of an unknown link type stops the run, naming the number.
Usage: tests/offline/decap_test.py [BUILD_DIR]. Ends with "N passed, M failed"."""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Dot1AD, Dot1Q, Ether

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build")
loom = os.path.join(build, "app", "loom")
passed = failed = 0


def check(name, expected, actual):
    global passed, failed
    if expected == actual:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {name}: expected {expected!r}, got {actual!r}")


CLIENT4, SERVER4 = "10.1.0.1", "10.1.0.2"
CLIENT6, SERVER6 = "2001:db8::1", "2001:db8::2"


def exchange(tag, v6=False, cport=40000, sport=80, body=b"hello"):
    """One HTTP exchange as (from_client, ip_packet) pairs, and the two
    directions' payloads."""
    req = b"GET /" + tag.encode() + b" HTTP/1.1\r\nHost: decap.test\r\n\r\n"
    resp = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    c, s = (CLIENT6, SERVER6) if v6 else (CLIENT4, SERVER4)
    L3 = IPv6 if v6 else IP

    def pkt(from_client, flags, seq, ack, data=b""):
        src, dst = (c, s) if from_client else (s, c)
        sp, dp = (cport, sport) if from_client else (sport, cport)
        return from_client, L3(src=src, dst=dst) / TCP(sport=sp, dport=dp, flags=flags, seq=seq,
                                                       ack=ack, window=65535) / data
    ci, si = 1000, 5000
    pkts = [
        pkt(True, "S", ci, 0),
        pkt(False, "SA", si, ci + 1),
        pkt(True, "A", ci + 1, si + 1),
        pkt(True, "PA", ci + 1, si + 1, req),
        pkt(False, "PA", si + 1, ci + 1 + len(req), resp),
        pkt(True, "FA", ci + 1 + len(req), si + 1 + len(resp)),
        pkt(False, "FA", si + 1 + len(resp), ci + 2 + len(req)),
        pkt(True, "A", ci + 2 + len(req), si + 2 + len(resp)),
    ]
    return pkts, req, resp


MAC_A, MAC_B = "02:00:00:00:00:0a", "02:00:00:00:00:0b"


def eth(ip, from_client=True):
    return Ether(src=MAC_A if from_client else MAC_B, dst=MAC_B if from_client else MAC_A) / ip


def l3type(ip):
    return 0x86DD if ip.version == 6 else 0x0800


# Tunnel headers, packed by hand.
def vxlan(vni):
    return struct.pack("!BBHI", 0x08, 0, 0, vni << 8)


def geneve(vni, proto=0x6558):
    opt = struct.pack("!HBB", 0x0102, 0x03, 1) + b"\xde\xad\xbe\xef"  # one 4-byte option
    return struct.pack("!BBHI", len(opt) // 4, 0, proto, vni << 8) + opt


def gre(proto, key=None, seq=None, csum=False):
    flags = (0x80 if csum else 0) | (0x20 if key is not None else 0) | (0x10 if seq is not None else 0)
    h = struct.pack("!BBH", flags, 0, proto)
    if csum:
        h += b"\x00" * 4
    if key is not None:
        h += struct.pack("!I", key)
    if seq is not None:
        h += struct.pack("!I", seq)
    return h


def erspan2(session):
    return struct.pack("!HHI", 0x1000 | 10, session, 0)


def erspan3(session, platform=True):
    h = struct.pack("!HHIHH", 0x2000, session, 123456, 0, 1 if platform else 0)  # FT 0: Ethernet
    return h + (b"\x0c" + b"\x00" * 7 if platform else b"")


def outer4(payload_or_layer, from_client, proto=None, udp_dport=None, sport=49152):
    src, dst = ("192.0.2.1", "192.0.2.2") if from_client else ("192.0.2.2", "192.0.2.1")
    if udp_dport is not None:
        return IP(src=src, dst=dst) / UDP(sport=sport, dport=udp_dport) / payload_or_layer
    return IP(src=src, dst=dst, proto=proto) / payload_or_layer


def outer6(payload, from_client, nh):
    src, dst = ("2001:db8:ff::1", "2001:db8:ff::2") if from_client else ("2001:db8:ff::2", "2001:db8:ff::1")
    return IPv6(src=src, dst=dst, nh=nh) / payload


def frame_builders():
    """name -> (link type, frame(from_client, inner_ip) -> bytes, v6 inner,
    expected encap, expected tunnel_id, expected vlan_inner)."""
    b = {}
    b["null"] = (0, lambda c, ip: struct.pack("<I", 2) + bytes(ip), False, None, None, None)
    b["loop6"] = (108, lambda c, ip: struct.pack("!I", 30) + bytes(ip), True, None, None, None)
    b["raw"] = (101, lambda c, ip: bytes(ip), False, None, None, None)
    b["raw6"] = (229, lambda c, ip: bytes(ip), True, None, None, None)
    b["sll"] = (113, lambda c, ip: struct.pack("!HHH8sH", 0 if c else 4, 1, 6, b"\x02" * 8, l3type(ip)) + bytes(ip),
                False, None, None, None)
    b["sll2"] = (276, lambda c, ip: struct.pack("!HHIHBB8s", l3type(ip), 0, 2, 1, 0 if c else 4, 6, b"\x02" * 8)
                 + bytes(ip), True, None, None, None)
    b["ppp"] = (9, lambda c, ip: b"\xff\x03" + struct.pack("!H", 0x21) + bytes(ip), False, None, None, None)
    b["ppp-hdlc"] = (50, lambda c, ip: b"\xff\x03" + struct.pack("!H", 0x57) + bytes(ip), True, None, None, None)
    b["hdlc"] = (104, lambda c, ip: struct.pack("!BBH", 0x0F, 0, l3type(ip)) + bytes(ip), False, None, None, None)
    b["qinq"] = (1, lambda c, ip: bytes(Ether(src=MAC_A, dst=MAC_B) / Dot1AD(vlan=100) / Dot1Q(vlan=200) / ip),
                 False, None, None, 200)
    b["mpls"] = (1, lambda c, ip: bytes(Ether(src=MAC_A, dst=MAC_B, type=0x8847))
                 + struct.pack("!II", 16 << 12 | 64, 17 << 12 | 0x100 | 64) + bytes(ip), False, "mpls", 0, None)
    b["mpls-pw"] = (1, lambda c, ip: bytes(Ether(src=MAC_A, dst=MAC_B, type=0x8847))
                    + struct.pack("!II", 18 << 12 | 0x100 | 64, 0) + bytes(eth(ip, c)), False, "mpls", 0, None)
    b["pppoe"] = (1, lambda c, ip: bytes(Ether(src=MAC_A, dst=MAC_B, type=0x8864))
                  + struct.pack("!BBHHH", 0x11, 0, 0x0042, len(bytes(ip)) + 2, 0x21) + bytes(ip),
                  False, "pppoe", 0, None)
    b["vxlan"] = (1, lambda c, ip: bytes(eth(outer4(vxlan(5000) + bytes(eth(ip, c)), c, udp_dport=4789,
                                                    sport=50000 if c else 51000), c)), False, "vxlan", 5000, None)
    b["geneve"] = (1, lambda c, ip: bytes(eth(outer4(geneve(77) + bytes(eth(ip, c)), c, udp_dport=6081), c)),
                   True, "geneve", 77, None)
    b["gre"] = (1, lambda c, ip: bytes(eth(outer4(gre(l3type(ip), key=4242, csum=True) + bytes(ip), c, proto=47), c)),
                False, "gre", 4242, None)
    b["gre-teb"] = (1, lambda c, ip: bytes(eth(outer4(gre(0x6558, key=7, seq=1) + bytes(eth(ip, c)), c, proto=47), c)),
                    False, "gre", 7, None)
    b["erspan2"] = (1, lambda c, ip: bytes(eth(outer4(gre(0x88BE, seq=1) + erspan2(33) + bytes(eth(ip, c)), c,
                                                      proto=47), c)), False, "erspan2", 33, None)
    b["erspan3"] = (1, lambda c, ip: bytes(eth(outer4(gre(0x22EB, seq=1) + erspan3(44) + bytes(eth(ip, c)), c,
                                                      proto=47), c)), False, "erspan3", 44, None)
    b["ipip"] = (1, lambda c, ip: bytes(eth(outer4(bytes(ip), c, proto=4), c)), False, "ipip", 0, None)
    b["6in4"] = (1, lambda c, ip: bytes(eth(outer4(bytes(ip), c, proto=41), c)), True, "ip6in4", 0, None)
    b["4in6"] = (1, lambda c, ip: bytes(eth(outer6(bytes(ip), c, 4), c)), False, "ip4in6", 0, None)
    return b


def write_pcap(path, link, frames, big_endian=False, nsec=False):
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    with open(path, "wb") as f:
        f.write(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, 65535, link))
        for i, fr in enumerate(frames):
            sub = i * 1000 * (1000 if nsec else 1)
            f.write(struct.pack(e + "IIII", 1700000000, sub, len(fr), len(fr)))
            f.write(fr)


def run_loom(pcap, out):
    return subprocess.run([loom, "--pcap", pcap, "--out", out], capture_output=True, text=True, timeout=120)


def lines(path):
    try:
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    except FileNotFoundError:
        return []


def check_exchange(name, out, tag, req, resp, encap, tunnel_id, vlan_inner, streams=None, msgs=None):
    streams = lines(os.path.join(out, "streams.jsonl")) if streams is None else streams
    msgs = lines(os.path.join(out, "messages.jsonl")) if msgs is None else msgs
    reqs = [m for m in msgs if m["kind"] == "request" and m.get("uri") == "/" + tag]
    check(f"{name}: request /{tag}", 1, len(reqs))
    if not reqs:
        return
    resps = [m for m in msgs if m["kind"] == "response" and m["id"] == reqs[0]["id"]]
    check(f"{name}: its 200 response", [200], [m["status"] for m in resps])
    for m in reqs + resps:
        check(f"{name}: message encap", encap, m.get("encap"))
        check(f"{name}: message tunnel_id", tunnel_id, m.get("tunnel_id"))
        check(f"{name}: message vlan_inner", vlan_inner, m.get("vlan_inner"))
        check(f"{name}: message complete", True, m["complete"])
    client = reqs[0]["client"]
    for payload, direction in ((req, "c2s"), (resp, "s2c")):
        want = hashlib.sha256(payload).hexdigest()
        got = [s for s in streams if s["dir"] == direction and s["sha256"] == want and
               (s["src"] if direction == "c2s" else s["dst"]) == client and
               s.get("tunnel_id") == tunnel_id]
        check(f"{name}: {direction} stream sha256 and bytes", [len(payload)], [s["bytes"] for s in got])
        for s in got:
            check(f"{name}: stream encap", encap, s.get("encap"))
            check(f"{name}: stream gaps", 0, s["gaps"])


def main():
    tmp = tempfile.mkdtemp(prefix="loom-decap.")
    variants = {"sll": dict(big_endian=True), "vxlan": dict(nsec=True), "raw": dict(big_endian=True, nsec=True)}
    for name, (link, build_frame, v6, encap, tunnel_id, vlan_inner) in frame_builders().items():
        pkts, req, resp = exchange(name, v6=v6)
        frames = [build_frame(c, ip) for c, ip in pkts]
        pcap = os.path.join(tmp, name + ".pcap")
        write_pcap(pcap, link, frames, **variants.get(name, {}))
        out = os.path.join(tmp, name)
        r = run_loom(pcap, out)
        check(f"{name}: exit", 0, r.returncode)
        if r.returncode != 0:
            print(r.stderr[-2000:])
            continue
        with open(os.path.join(out, "stats.json")) as f:
            st = json.load(f)["totals"]
        check(f"{name}: nothing malformed", {}, {k: v for k, v in st["malformed"].items() if v})
        check(f"{name}: every frame TCP", len(frames), st["pkt"]["tcp"])
        if encap:
            check(f"{name}: encap counter", len(frames), st["encap"][encap])
        check_exchange(name, out, name, req, resp, encap, tunnel_id, vlan_inner)

    # Two tenants, one 5-tuple: VNI 100 and VNI 200, interleaved, each
    # direction from a different outer source port.
    frames, ex = [], []
    for vni, body in ((100, b"tenant-a"), (200, b"tenant-b-longer")):
        pkts, req, resp = exchange("tenant", body=body)
        ex.append((vni, req, resp))
        frames.append([bytes(eth(outer4(vxlan(vni) + bytes(eth(ip, c)), c, udp_dport=4789,
                                        sport=50000 + vni + (0 if c else 7)), c)) for c, ip in pkts])
    mixed = [f for pair in zip(*frames) for f in pair]
    pcap = os.path.join(tmp, "tenants.pcap")
    write_pcap(pcap, 1, mixed)
    out = os.path.join(tmp, "tenants")
    r = run_loom(pcap, out)
    check("tenants: exit", 0, r.returncode)
    streams = lines(os.path.join(out, "streams.jsonl"))
    msgs = lines(os.path.join(out, "messages.jsonl"))
    check("tenants: two connections, four streams", 4, len(streams))
    for vni, req, resp in ex:
        mine = [m for m in msgs if m.get("tunnel_id") == vni]
        check_exchange(f"tenant {vni}", out, "tenant", req, resp, "vxlan", vni, None,
                       streams=streams, msgs=mine)

    # A link type Loom does not decode (147, LINKTYPE_USER0) stops the run
    # before any processing, and says which.
    pkts, _, _ = exchange("user0")
    pcap = os.path.join(tmp, "user0.pcap")
    write_pcap(pcap, 147, [bytes(ip) for _, ip in pkts])
    r = run_loom(pcap, os.path.join(tmp, "user0"))
    check("unknown link type: exit non-zero", True, r.returncode != 0)
    check("unknown link type: named", True, "link type 147" in r.stderr)
    check("unknown link type: nothing written", False,
          os.path.exists(os.path.join(tmp, "user0", "streams.jsonl")))

    subprocess.run(["rm", "-rf", tmp])
    print(f"decap: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
