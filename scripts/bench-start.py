#!/usr/bin/env python3
"""Start time of `samsa serve` with many partitions: after a clean shutdown (SIGTERM) and after
kill -9 (recovery), from the process start to the first answered request (ApiVersions).

    scripts/bench-start.py [PARTITIONS ...]      # default: 1000 10000

Builds nothing: run `swift build -c release --product samsa` first, or name another binary in
$SAMSA_BIN. Each figure is the median of 3 starts, with the range; RSS after the start is the
broker's resident memory once idle, and the memory per partition is its growth over the RSS of
the same broker started without them.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

BINARY = os.environ.get("SAMSA_BIN", os.path.join(os.path.dirname(__file__), "..", ".build", "release", "samsa"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_versions_answered(port: int) -> bool:
    """One ApiVersions v0 request; True once the broker answers it."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            client = b"bench"
            body = struct.pack(">hhih", 18, 0, 1, len(client)) + client
            s.sendall(struct.pack(">i", len(body)) + body)
            size = s.recv(4)
            return len(size) == 4
    except OSError:
        return False


def start(port: int, data: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, float]:
    began = time.monotonic()
    process = subprocess.Popen(
        [BINARY, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data, "--log-level", "warning", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # A benchmark, not a test: it polls, 1 ms apart, to see the first answer.
    while not api_versions_answered(port):
        if process.poll() is not None:
            raise SystemExit(f"samsa serve exited with {process.returncode}")
        time.sleep(0.001)
    return process, time.monotonic() - began


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def samsa(port: int, *args: str) -> None:
    subprocess.run([BINARY, *args, "-b", f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)


def measure(partitions: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        process, _ = start(port, data)
        time.sleep(0.5)
        empty_rss = rss_kb(process.pid)
        began = time.monotonic()
        samsa(port, "topic", "create", "starts", "-p", str(partitions))
        created = time.monotonic() - began
        # One record in every partition, so every log has data to open or recover.
        records = "".join(f"{i}:x\n" for i in range(partitions))
        subprocess.run([BINARY, "produce", "starts", "-b", f"127.0.0.1:{port}", "-K", ":", "-X", "partitioner=consistent_random"],
                       input=records.encode(), check=True)
        results = {}
        for kind, sig in (("after a clean shutdown", signal.SIGTERM), ("after kill -9", signal.SIGKILL)):
            times = []
            rss = []
            for _ in range(3):
                process.send_signal(sig)
                process.wait()
                process, seconds = start(port, data)
                times.append(seconds)
                time.sleep(0.5)
                rss.append(rss_kb(process.pid))
            results[kind] = (times, rss)
        process.send_signal(signal.SIGTERM)
        process.wait()
    print(f"{partitions:>6} partitions: topic created in {created:.2f} s; RSS {empty_rss / 1024:.1f} MB without them")
    for kind, (times, rss) in results.items():
        per_partition = (statistics.median(rss) - empty_rss) * 1024 / partitions
        print(f"{partitions:>6} partitions, start {kind}: {statistics.median(times):.3f} s "
              f"(range {min(times):.3f}-{max(times):.3f}), RSS {statistics.median(rss) / 1024:.1f} MB, "
              f"{per_partition / 1024:.1f} KiB per partition")


if __name__ == "__main__":
    for count in [int(arg) for arg in sys.argv[1:]] or [1000, 10000]:
        measure(count)
