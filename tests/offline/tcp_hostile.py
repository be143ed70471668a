#!/usr/bin/python3
"""Hostile and odd TCP, crafted with scapy, through `loom --pcap`.

  tcp_hostile.py make OUT.pcap      writes the capture, prints what must come out (JSON)
  tcp_hostile.py check EXPECT.json OUTDIR
                                    prints one line per check ("ok ..." / "FAIL ...")

Each scenario is its own connection, and in each the endpoints decide:
a forged or stale control packet that the receiver would drop must not
end Loom's view of a connection the endpoints went on using, and odd but
legitimate segmenting must lose nothing.
"""
import hashlib
import json
import struct
import sys

from scapy.all import IP, TCP, Ether, Raw  # noqa: E402

SRV = "198.18.2.9"
MAC_C, MAC_S = "02:00:00:00:00:01", "02:00:00:00:00:02"


class Conn:
    """One TCP connection's packets, with sequence bookkeeping."""

    def __init__(self, cport, client="198.18.1.9", sport=80):
        self.c, self.s, self.cp, self.sp = client, SRV, cport, sport
        self.cseq, self.sseq = 1000, 50000
        self.pkts = []
        self.c2s = b""

    def pkt(self, from_client, flags, seq, ack, data=b"", opts=None):
        if from_client:
            ip = Ether(src=MAC_C, dst=MAC_S) / IP(src=self.c, dst=self.s)
            t = TCP(sport=self.cp, dport=self.sp, flags=flags, seq=seq, ack=ack, window=65535)
        else:
            ip = Ether(src=MAC_S, dst=MAC_C) / IP(src=self.s, dst=self.c)
            t = TCP(sport=self.sp, dport=self.cp, flags=flags, seq=seq, ack=ack, window=65535)
        if opts:
            t.options = opts
        p = ip / t
        if data:
            p = p / Raw(load=data)
        self.pkts.append(p)

    def handshake(self):
        self.pkt(True, "S", self.cseq, 0)
        self.pkt(False, "SA", self.sseq, self.cseq + 1)
        self.cseq += 1
        self.sseq += 1
        self.pkt(True, "A", self.cseq, self.sseq)

    def send(self, from_client, data):
        if from_client:
            self.pkt(True, "PA", self.cseq, self.sseq, data)
            self.cseq += len(data)
            self.c2s += data
            self.pkt(False, "A", self.sseq, self.cseq)
        else:
            self.pkt(False, "PA", self.sseq, self.cseq, data)
            self.sseq += len(data)
            self.pkt(True, "A", self.cseq, self.sseq)

    def exchange(self, uri):
        self.send(True, b"GET " + uri.encode() + b" HTTP/1.1\r\nHost: h\r\n\r\n")
        self.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self):
        self.pkt(True, "FA", self.cseq, self.sseq)
        self.cseq += 1
        self.pkt(False, "FA", self.sseq, self.cseq)
        self.sseq += 1
        self.pkt(True, "A", self.cseq, self.sseq)


def scenarios():
    out = []  # (name, Conn, expected uris)
    # A blind RST a billion outside the window.
    c = Conn(41001); c.handshake(); c.exchange("/a")
    c.pkt(False, "R", c.sseq + 1_000_000_000, 0)
    c.exchange("/b"); c.close(); out.append(("blind_rst", c, ["/a", "/b"]))
    # An RST in window but not exact: the endpoints went on.
    c = Conn(41002); c.handshake(); c.exchange("/a")
    c.pkt(False, "R", c.sseq + 5000, 0)
    c.exchange("/b"); c.close(); out.append(("inwindow_rst", c, ["/a", "/b"]))
    # An exact RST with a TCP-MD5 option the connection never negotiated.
    c = Conn(41003); c.handshake(); c.exchange("/a")
    c.pkt(False, "R", c.sseq, 0, opts=[("MD5", b"\xab" * 16), ("NOP", None), ("NOP", None)])
    c.exchange("/b"); c.close(); out.append(("md5_rst", c, ["/a", "/b"]))
    # An exact RST with a wrong TCP checksum: the receiver drops it.
    c = Conn(41009); c.handshake(); c.exchange("/a")
    c.pkt(False, "R", c.sseq, 0)
    c.pkts[-1][TCP].chksum = 0x1234
    c.exchange("/b"); c.close(); out.append(("bad_checksum_rst", c, ["/a", "/b"]))
    # A stale FIN, below what the client already sent.
    c = Conn(41004); c.handshake(); c.exchange("/a")
    c.pkt(True, "FA", c.cseq - 10, c.sseq)
    c.exchange("/b"); c.close(); out.append(("stale_fin", c, ["/a", "/b"]))
    # A FIN at exactly the next byte, forged: the client goes on sending.
    c = Conn(41008); c.handshake(); c.exchange("/a")
    c.pkt(True, "FA", c.cseq, c.sseq)
    c.exchange("/b"); c.close(); out.append(("forged_exact_fin", c, ["/a", "/b"]))
    # A SYN with a new ISN on the live connection (no SYN-ACK answers it).
    c = Conn(41005); c.handshake(); c.exchange("/a")
    c.pkt(True, "S", 777777, 0)
    c.pkt(False, "A", c.sseq, c.cseq)  # the server's challenge ACK
    c.exchange("/b"); c.close(); out.append(("syn_new_isn", c, ["/a", "/b"]))
    # A request body in 2,000 one-byte segments, in reverse order.
    c = Conn(41006); c.handshake()
    body = bytes(range(256)) * 8
    req = b"POST /tiny HTTP/1.1\r\nHost: h\r\nContent-Length: 2048\r\n\r\n" + body
    head, tail = req[:-2000], req[-2000:]
    c.send(True, head)
    base = c.cseq
    for i in reversed(range(len(tail))):
        c.pkt(True, "PA", base + i, c.sseq, tail[i:i + 1])
    c.cseq += len(tail)
    c.c2s += tail
    c.pkt(False, "A", c.sseq, c.cseq)
    c.send(False, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    c.close(); out.append(("reverse_tiny", c, ["/tiny"]))
    # A client on port 53, no handshake captured: the request line says who is who.
    c = Conn(53, client="198.18.1.10")
    c.exchange("/from53"); out.append(("port53_midstream", c, ["/from53"]))
    return out


def flood_then_good():
    """31,000 one-byte segments of 31,000 handshake-less connections, then a
    well-behaved connection whose first data segment comes last."""
    # Built from one template (scapy per packet takes ~20 s for 31,000):
    # each copy gets its own source address, so each is its own connection.
    tmpl = bytearray(bytes(Ether(src=MAC_C, dst=MAC_S) / IP(src="198.19.0.1", dst=SRV) /
                           TCP(sport=30000, dport=80, flags="PA", seq=7, ack=9) / Raw(load=b"x")))
    pkts = []
    for i in range(31000):
        b = bytearray(tmpl)
        b[28], b[29] = 10 + i // 250, 1 + i % 250  # IPv4 source, last two bytes
        pkts.append(bytes(b))
    c = Conn(41007); c.handshake()
    req = b"POST /good HTTP/1.1\r\nHost: h\r\nContent-Length: 6000\r\n\r\n" + b"g" * 6000
    segs = [(i, req[i:i + 1000]) for i in range(0, len(req), 1000)]
    for off, d in segs[1:] + segs[:1]:
        c.pkt(True, "PA", c.cseq + off, c.sseq, d)
    c.cseq += len(req)
    c.c2s += req
    c.pkt(False, "A", c.sseq, c.cseq)
    c.send(False, b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    c.close()
    return pkts, c


def make(path):
    sc = scenarios()
    flood, good = flood_then_good()
    pkts = []
    for _, c, _ in sc:
        pkts += c.pkts
    frames = [bytes(p) for p in pkts] + flood + [bytes(p) for p in good.pkts]
    with open(path, "wb") as f:  # libpcap, microseconds, Ethernet
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            t = 1_800_000_000_000_000 + 100 * i  # microseconds
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(fr), len(fr)) + fr)
    expect = {"connections": {}}
    # What each connection's stream records must flag (tcp_anomalies).
    flagged = {"blind_rst": ["rst_ignored"], "inwindow_rst": ["rst_held"], "md5_rst": ["rst_ignored"],
               "bad_checksum_rst": ["rst_ignored"], "stale_fin": ["fin_ignored"],
               "syn_new_isn": ["syn_ignored"]}
    for name, c, uris in sc + [("flood_then_good", good, ["/good"])]:
        expect["connections"][name] = {"client": f"{c.c}:{c.cp}", "uris": uris,
                                       "anomalies": flagged.get(name, []),
                                       "c2s_bytes": len(c.c2s),
                                       "c2s_sha256": hashlib.sha256(c.c2s).hexdigest()}
    expect["tcp"] = {"bad_checksum": 1, "rst_out_of_window": 1, "rst_bad_auth": 1, "fin_stale": 1, "syn_on_open": 1,
                     "rst_held": 1, "rst_held_then_used": 1}
    print(json.dumps(expect))


def check(expect_path, outdir):
    exp = json.load(open(expect_path))
    msgs = [json.loads(l) for l in open(f"{outdir}/messages.jsonl")]
    streams = [json.loads(l) for l in open(f"{outdir}/streams.jsonl")]
    stats = json.load(open(f"{outdir}/stats.json"))
    res = []

    def ok(cond, what):
        res.append(("ok " if cond else "FAIL ") + what)

    for name, e in exp["connections"].items():
        reqs = [m for m in msgs if m["kind"] == "request" and m["client"] == e["client"]]
        resps = [m for m in msgs if m["kind"] == "response" and m["client"] == e["client"]]
        ok([m["uri"] for m in reqs] == e["uris"], f"{name}: requests {[m['uri'] for m in reqs]}")
        ok(len(resps) == len(e["uris"]) and all(m["paired"] for m in resps),
           f"{name}: {len(resps)} paired responses")
        ok(all(m["complete"] for m in reqs + resps), f"{name}: messages complete")
        c2s = [s for s in streams if s["src"] == e["client"]]
        ok(len(c2s) == 1, f"{name}: one client stream (got {len(c2s)})")
        if c2s:
            ok(c2s[0]["bytes"] == e["c2s_bytes"] and c2s[0]["sha256"] == e["c2s_sha256"]
               and c2s[0]["gaps"] == 0, f"{name}: client stream bytes and sha256")
            got = c2s[0].get("tcp_anomalies", [])
            ok(got == e["anomalies"], f"{name}: flagged {got} (want {e['anomalies']})")
    tcp = stats["totals"].get("tcp", {})
    for k, v in exp["tcp"].items():
        ok(tcp.get(k) == v, f"tcp.{k} = {tcp.get(k)} (want {v})")
    ok(stats["totals"]["reasm"].get("ofo_reclaimed", 0) > 0, "memcap reclaimed from the flood")
    for r in res:
        print(r)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3])
