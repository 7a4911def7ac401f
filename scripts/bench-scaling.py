#!/usr/bin/env python3
"""How `samsa serve`'s produce throughput degrades with more partitions and more producer
connections: 1 KiB records at acks=1 and acks=all, over 1, 12, 100 and 1,000 partitions of one
topic from one connection, then from 1, 4 and 16 connections (one librdkafka producer process
each) on 12 partitions. Medians of ROUNDS rounds with the range, and each row as a ratio to the
first row of its kind.

    scripts/bench-scaling.py [ROUNDS] [RECORDS]  # default 3 rounds of 500,000 records

Needs Debian's librdkafka-dev and a C compiler; builds samsa in release mode. With several
connections each process produces RECORDS / N records and the throughput is all records over the
longest process's time (each process times itself from its first record, so this is the rate
while they all run).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

start_module = import_module("bench-start")
SIZE = 1024


def produce(generator: str, brokers: str, topic: str, records: int, acks: str, partitions: int, connections: int) -> float:
    """MB/s of `connections` generator processes sharing `records` records."""
    each = records // connections
    processes = [
        subprocess.Popen(
            [generator, "produce", brokers, topic, str(each), str(SIZE), acks, str(partitions)],
            stdout=subprocess.PIPE, text=True)
        for _ in range(connections)
    ]
    seconds = []
    for process in processes:
        output, _ = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"rdkafka-bench exited with {process.returncode}")
        seconds.append(float(output.split()[1]))
    return each * connections * SIZE / max(seconds) / 1e6


def main(rounds: int, records: int) -> None:
    subprocess.run(["swift", "build", "-c", "release", "--product", "samsa"], cwd=ROOT, check=True, capture_output=True)
    work = tempfile.mkdtemp()
    generator = os.path.join(work, "rdkafka-bench")
    subprocess.run(["cc", "-O2", os.path.join(ROOT, "scripts/bench/rdkafka-bench.c"), "-lrdkafka", "-o", generator], check=True)
    port = start_module.free_port()
    process, _ = start_module.start(port, os.path.join(work, "data"))
    brokers = f"127.0.0.1:{port}"
    rows: dict[tuple[str, str, int, int], list[float]] = {}
    shapes = [(p, 1) for p in (1, 12, 100, 1000)] + [(12, c) for c in (4, 16)]
    try:
        for round_ in range(rounds):
            for acks in ("1", "all"):
                for partitions, connections in shapes:
                    # A new topic per run, deleted after it: deleting drops the run's dirty pages,
                    # so no run is slowed down by the writeback of the runs before it.
                    topic = f"scale-{partitions}-{connections}"
                    start_module.samsa(port, "topic", "create", topic, "-p", str(partitions))
                    rate = produce(generator, brokers, topic, records, acks, partitions, connections)
                    start_module.samsa(port, "topic", "delete", topic)
                    rows.setdefault((acks, "partitions" if connections == 1 else "connections", partitions, connections), []).append(rate)
                    print(f"round {round_ + 1}: acks={acks}, {partitions} partitions, {connections} connections: {rate:.0f} MB/s",
                          file=sys.stderr)
        rss = start_module.rss_kb(process.pid) / 1024
    finally:
        process.terminate()
        process.wait()
        subprocess.run(["rm", "-rf", work])

    print(f"| acks | partitions | connections | MB/s, median of {rounds} (range) | ratio to 1 partition, 1 connection |")
    print("|---|---:|---:|---:|---:|")
    for acks in ("1", "all"):
        base = statistics.median(rows[(acks, "partitions", 1, 1)])
        for partitions, connections in shapes:
            values = rows[(acks, "partitions" if connections == 1 else "connections", partitions, connections)]
            median = statistics.median(values)
            print(f"| {acks} | {partitions:,} | {connections} | {median:.0f} ({min(values):.0f}-{max(values):.0f}) | {median / base:.2f} |")
    print(f"broker RSS at the end: {rss:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, int(sys.argv[2]) if len(sys.argv) > 2 else 500_000)
