#!/usr/bin/env python3
"""Software steering against the capture and an unsteered run.

Usage: steer_check.py CAPTURE.pcap FULL_OUT STEERED_OUT PORT [PORT ...]

STEERED_OUT ran with [steering] service_ports = PORTS, other = "drop";
FULL_OUT ran on the same capture without steering. Written from the
[steering] rules in docs/configuration.md:
  - every IP frame that is not TCP to or from a service port is dropped
    (worker drop steer_drop), the rest of the frames are not;
  - TCP frames outside the service ports are counted as unsteered;
  - streams.jsonl and messages.jsonl hold exactly the unsteered run's lines
    for the service-port connections (same bytes, SHA-256, ids).
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(__file__))
from checks import Checks  # noqa: E402
from pcap_check import read_pcap  # noqa: E402


def classify(frame, ports):
    """'service', 'other_tcp', 'other_ip' or 'non_ip'."""
    off, etype = 14, struct.unpack("!H", frame[12:14])[0]
    while etype in (0x8100, 0x88A8):
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if etype == 0x0800:
        proto, frag = frame[off + 9], struct.unpack("!H", frame[off + 6:off + 8])[0] & 0x3FFF
        l4 = off + (frame[off] & 15) * 4
    elif etype == 0x86DD:
        proto, frag, l4 = frame[off + 6], 0, off + 40
    else:
        return "non_ip"
    if proto != 6 or frag:
        return "other_ip"
    sp, dp = struct.unpack("!HH", frame[l4:l4 + 4])
    return "service" if sp in ports or dp in ports else "other_tcp"


def port_of(endpoint):
    return int(endpoint.rsplit(":", 1)[1])


def lines(path, keep):
    with open(path) as f:
        return sorted(line for line in f if keep(json.loads(line)))


def main():
    cap, full, steered = sys.argv[1:4]
    ports = {int(p) for p in sys.argv[4:]}
    c = Checks("steer")
    kinds = {"service": 0, "other_tcp": 0, "other_ip": 0, "non_ip": 0}
    for _, _, frame in read_pcap(cap):
        kinds[classify(frame, ports)] += 1
    st = json.load(open(os.path.join(steered, "stats.json")))
    drops = st["workers"][0]["drops"]
    c(drops["steer_drop"] == kinds["other_tcp"] + kinds["other_ip"],
      f"steer_drop {drops['steer_drop']}, capture has {kinds['other_tcp']} TCP frames "
      f"outside {sorted(ports)} and {kinds['other_ip']} other IP frames")
    c(st["totals"]["streams"]["unsteered_packets"] == kinds["other_tcp"],
      f"unsteered_packets {st['totals']['streams']['unsteered_packets']} vs {kinds['other_tcp']}")
    c(st["totals"]["streams"]["tcp_packets"] == kinds["service"],
      f"tcp_packets {st['totals']['streams']['tcp_packets']} vs {kinds['service']} on service ports")
    c(kinds["service"] > 0 and kinds["other_tcp"] > 0, f"the capture mixes ports: {kinds}")
    for name, fields in (("streams.jsonl", ("src", "dst")), ("messages.jsonl", ("client", "server"))):
        def on_service(rec, fields=fields):
            return any(port_of(rec[f]) in ports for f in fields)
        want = lines(os.path.join(full, name), on_service)
        got = lines(os.path.join(steered, name), lambda r: True)
        c(len(want) > 0 and got == want,
          f"{name}: {len(got)} lines steered, {len(want)} service-port lines unsteered, or they differ")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
