#!/usr/bin/env python3
"""Memory per idle connection of `samsa serve`: the broker's resident memory before and after
N clients connect and each gets one ApiVersions answer, then stay idle.

    scripts/bench-connections.py [N]             # default 10000 (needs ulimit -n above 2N)

Builds nothing: run `swift build -c release --product samsa` first.
"""

from __future__ import annotations

import os
import resource
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from importlib import import_module

start_module = import_module("bench-start")


def api_versions(s: socket.socket) -> None:
    client = b"bench"
    body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
    s.sendall(struct.pack(">i", len(body)) + body)
    size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
    s.recv(size, socket.MSG_WAITALL)


def main(count: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as data:
        port = start_module.free_port()
        process, _ = start_module.start(port, data)
        time.sleep(1)
        idle = start_module.rss_kb(process.pid)
        sockets = []
        try:
            for _ in range(count):
                s = socket.create_connection(("127.0.0.1", port))
                api_versions(s)
                sockets.append(s)
            time.sleep(1)
            loaded = start_module.rss_kb(process.pid)
        finally:
            for s in sockets:
                s.close()
            process.terminate()
            process.wait()
    print(f"RSS idle {idle / 1024:.1f} MB, with {count} idle connections {loaded / 1024:.1f} MB: "
          f"{(loaded - idle) / count:.1f} KiB per connection")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
