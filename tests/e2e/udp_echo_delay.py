#!/usr/bin/env python3
"""Mirror collectors stand-in for tests/e2e/collectors_ns_test.sh.

serve: one process, select()-based, run inside the collectors' network
namespace. For every IP of --ips it binds

  * UDP --echo-port (7007): each datagram is sent back unchanged, to the
    sender's address and port, from the same socket (so from IP:7007),
    after a delay read from DIR/delay_<ip> (milliseconds) when the datagram
    arrives: the test changes it live. A missing file, "stop", or anything
    that is not a number means: no answer.
  * UDP --count-port (4789): counts the datagrams (Loom's VXLAN mirror
    copies) into DIR/vxlan_<ip> (a decimal count, rewritten atomically at
    least every --flush-ms while it changes).

DIR/responder.json (same cadence) has the details per IP: echo datagrams
received / answered / not answered, VXLAN count, the VNIs and outer source
addresses seen, datagrams that were not VXLAN (flags byte 0x08), and
self-test datagrams (payload starting with SELFTEST_MAGIC, counted apart,
never as VXLAN). DIR/ready appears once every socket is bound. The process
ends after --lifetime seconds, or on SIGTERM/SIGINT (files flushed first).

probe: from the current namespace, one UDP datagram to every IP:PORT from
--src, and the round-trip time of each reply ("IP RTT_MS" or "IP timeout"
per line); with --selftest also one SELFTEST_MAGIC datagram to every
IP:--count-port.
"""

import argparse
import heapq
import json
import os
import select
import signal
import socket
import sys
import time

SELFTEST_MAGIC = b"LOOM-E2E-SELFTEST"


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_delay_ms(path):
    """The delay in ms, or None (no answer)."""
    try:
        with open(path) as f:
            s = f.read().strip()
    except OSError:
        return None
    try:
        v = float(s)
    except ValueError:
        return None  # "stop" or garbage
    return v if v >= 0 else None


def serve(args):
    ips = [ip for ip in args.ips.split(",") if ip]
    stats = {
        ip: {
            "echo_rx": 0, "echo_tx": 0, "echo_ignored": 0,
            "vxlan": 0, "not_vxlan": 0, "vnis": set(), "vxlan_src": set(),
            "selftest": 0,
        }
        for ip in ips
    }
    role = {}  # fd -> (kind, ip, socket)
    for ip in ips:
        for kind, port in (("echo", args.echo_port), ("count", args.count_port)):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((ip, port))
            s.setblocking(False)
            role[s.fileno()] = (kind, ip, s)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(1))

    written = {}

    def flush(force=False):
        for ip in ips:
            n = stats[ip]["vxlan"]
            if force or written.get(ip) != n:
                write_atomic(os.path.join(args.dir, "vxlan_" + ip), "%d\n" % n)
                written[ip] = n
        out = {ip: {k: (sorted(v) if isinstance(v, set) else v) for k, v in st.items()}
               for ip, st in stats.items()}
        write_atomic(os.path.join(args.dir, "responder.json"), json.dumps(out, sort_keys=True) + "\n")

    flush(force=True)
    write_atomic(os.path.join(args.dir, "ready"), "%d\n" % os.getpid())

    pending = []  # heap of (due, seq, socket, data, addr, ip)
    seq = 0
    t_end = time.monotonic() + args.lifetime
    flush_every = args.flush_ms / 1000.0
    next_flush = time.monotonic() + flush_every
    fds = list(role)
    while not stopping:
        now = time.monotonic()
        if now >= t_end:
            break
        wake = min(t_end, next_flush)
        if pending:
            wake = min(wake, pending[0][0])
        try:
            readable, _, _ = select.select(fds, [], [], max(0.0, wake - now))
        except InterruptedError:
            continue
        for fd in readable:
            kind, ip, s = role[fd]
            for _ in range(256):  # drain, bounded
                try:
                    data, addr = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                st = stats[ip]
                if data.startswith(SELFTEST_MAGIC):
                    st["selftest"] += 1
                    if kind == "echo":
                        st["echo_rx"] += 1
                    else:
                        continue
                if kind == "count":
                    st["vxlan"] += 1
                    if len(data) >= 8 and data[0] & 0x08:
                        st["vnis"].add(int.from_bytes(data[4:7], "big"))
                    else:
                        st["not_vxlan"] += 1
                    st["vxlan_src"].add(addr[0])
                    continue
                if not data.startswith(SELFTEST_MAGIC):
                    st["echo_rx"] += 1
                d = read_delay_ms(os.path.join(args.dir, "delay_" + ip))
                if d is None:
                    st["echo_ignored"] += 1
                    continue
                seq += 1
                heapq.heappush(pending, (time.monotonic() + d / 1000.0, seq, s, data, addr, ip))
        now = time.monotonic()
        while pending and pending[0][0] <= now:
            _, _, s, data, addr, ip = heapq.heappop(pending)
            try:
                s.sendto(data, addr)
                stats[ip]["echo_tx"] += 1
            except OSError as e:
                print("udp_echo_delay: sendto %s from %s: %s" % (addr, ip, e), file=sys.stderr)
        if now >= next_flush:
            flush()
            next_flush = now + flush_every
    flush(force=True)
    return 0


def probe(args):
    ips = [ip for ip in args.ips.split(",") if ip]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.src, 0))
    s.settimeout(args.timeout)
    rc = 0
    for ip in ips:
        payload = SELFTEST_MAGIC + b" probe " + ip.encode()
        t0 = time.monotonic()
        s.sendto(payload, (ip, args.port))
        rtt = None
        while time.monotonic() - t0 < args.timeout:
            try:
                data, addr = s.recvfrom(65535)
            except socket.timeout:
                break
            if addr == (ip, args.port) and data == payload:
                rtt = (time.monotonic() - t0) * 1000.0
                break
        if rtt is None:
            print("%s timeout" % ip)
            rc = 1
        else:
            print("%s %.1f" % (ip, rtt))
        if args.selftest:
            s.sendto(SELFTEST_MAGIC + b" count", (ip, args.count_port))
    return rc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--dir", required=True)
    sv.add_argument("--ips", required=True, help="comma-separated IPv4 addresses")
    sv.add_argument("--echo-port", type=int, default=7007)
    sv.add_argument("--count-port", type=int, default=4789)
    sv.add_argument("--lifetime", type=float, required=True, help="seconds, then exit")
    sv.add_argument("--flush-ms", type=float, default=100)
    pr = sub.add_parser("probe")
    pr.add_argument("--src", required=True)
    pr.add_argument("--ips", required=True)
    pr.add_argument("--port", type=int, default=7007)
    pr.add_argument("--count-port", type=int, default=4789)
    pr.add_argument("--timeout", type=float, default=1.0)
    pr.add_argument("--selftest", action="store_true")
    args = p.parse_args()
    return serve(args) if args.cmd == "serve" else probe(args)


if __name__ == "__main__":
    sys.exit(main())
