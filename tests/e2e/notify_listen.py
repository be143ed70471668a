#!/usr/bin/python3
"""notify_listen.py SOCKET OUT: a stand-in for systemd's notification
socket. Binds a datagram socket at SOCKET and appends every message a
service sends (sd_notify) to OUT, one per line as "<seconds> <message with
newlines as |>", until SIGTERM."""
import os
import signal
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
if os.path.exists(path):
    os.unlink(path)
s.bind(path)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        f.write(f"{time.monotonic():.3f} {msg.strip().replace(chr(10), '|')}\n")
