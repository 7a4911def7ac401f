#!/usr/bin/env python3
"""What idle consumers cost `samsa serve`: N connections long-poll an empty partition (Fetch v4,
MaxWaitMs WAIT, MinBytes 1), each sending its next fetch as soon as the last is answered, for
SECONDS. Prints the fetches answered, the broker's CPU time, and its threads' context switches
(from /proc), per second and per fetch.

    scripts/bench-long-polls.py [N] [WAIT_MS] [SECONDS]     # default 1000 500 10

Builds nothing: run `swift build -c release --product samsa` first (SAMSA_BIN picks another
binary).
"""

from __future__ import annotations

import os
import resource
import selectors
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from importlib import import_module

start_module = import_module("bench-start")
TOPIC = b"quiet"


def fetch_request(wait_ms: int) -> bytes:
    client = b"bench"
    header = struct.pack(">hhih", 1, 4, 1, len(client)) + client
    body = struct.pack(">iiiib", -1, wait_ms, 1, 1 << 20, 0)
    body += struct.pack(">ih", 1, len(TOPIC)) + TOPIC + struct.pack(">iiqi", 1, 0, 0, 1 << 20)
    message = header + body
    return struct.pack(">i", len(message)) + message


def context_switches(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as status:
                for line in status:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def main(count: int, wait_ms: int, seconds: float) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = fetch_request(wait_ms)
    with tempfile.TemporaryDirectory() as data:
        port = start_module.free_port()
        process, _ = start_module.start(port, data)
        try:
            subprocess.run([start_module.BINARY, "topic", "create", TOPIC.decode(), "-p", "1", "-b", f"127.0.0.1:{port}"],
                           check=True, stdout=subprocess.DEVNULL)
            selector = selectors.DefaultSelector()
            pending: dict[socket.socket, bytearray] = {}
            for _ in range(count):
                s = socket.create_connection(("127.0.0.1", port))
                s.setblocking(False)
                selector.register(s, selectors.EVENT_READ)
                pending[s] = bytearray()
                s.sendall(request)
            answered = 0
            began = time.monotonic()
            cpu_before, switches = start_module.cpu_seconds(process.pid), context_switches(process.pid)
            while time.monotonic() - began < seconds:
                for key, _ in selector.select(timeout=0.1):
                    s = key.fileobj
                    buffer = pending[s]
                    chunk = s.recv(65536)
                    if not chunk:
                        raise SystemExit("the broker closed a connection")
                    buffer += chunk
                    while len(buffer) >= 4 and len(buffer) >= (end := 4 + struct.unpack(">i", buffer[:4])[0]):
                        del buffer[:end]
                        answered += 1
                        s.sendall(request)
            elapsed = time.monotonic() - began
            cpu = start_module.cpu_seconds(process.pid) - cpu_before
            switched = context_switches(process.pid) - switches
        finally:
            process.terminate()
            process.wait()
    print(f"{count} connections long-polling with MaxWaitMs {wait_ms} for {elapsed:.1f} s: "
          f"{answered / elapsed:.0f} fetches/s, broker CPU {cpu / elapsed * 1000:.1f} ms/s "
          f"({cpu / max(answered, 1) * 1e6:.1f} us per fetch), "
          f"{switched / elapsed:.0f} context switches/s ({switched / max(answered, 1):.2f} per fetch)")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(int(arguments[0]) if arguments else 1000,
         int(arguments[1]) if len(arguments) > 1 else 500,
         float(arguments[2]) if len(arguments) > 2 else 10)
