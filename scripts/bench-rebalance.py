#!/usr/bin/env python3
"""Measures how long a consumer group of 3 takes to rebalance on `samsa serve`.

    .venv/bin/python scripts/bench-rebalance.py [--protocol classic|consumer] [--rounds N]

Starts the broker (SAMSA_BIN, default .build/release/samsa, else .build/debug/samsa) on a free
port with a temporary data directory, creates a 6-partition topic, and runs confluent-kafka
consumers in one group. It times (1) a third member joining a group of two, until all three hold
two partitions each, and (2) one of three leaving cleanly, until the two left hold three each.
Times are wall clock from the join (subscribe) or the leave (close) to the last assignment
callback; the heartbeat interval is 100 ms so that clients notice a rebalance quickly.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Member:
    def __init__(self, bootstrap: str, group: str, topic: str, protocol: str) -> None:
        config = {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
        if protocol == "consumer":
            config["group.protocol"] = "consumer"
        else:
            config.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 100})
        self.consumer = Consumer(config)
        self.assignment: set[int] = set()
        self.changed_at = 0.0
        self.lock = threading.Lock()
        self.running = True
        self.consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_assign(self, consumer, partitions) -> None:
        with self.lock:
            self.assignment |= {p.partition for p in partitions}
            self.changed_at = time.monotonic()

    def _on_revoke(self, consumer, partitions) -> None:
        with self.lock:
            self.assignment -= {p.partition for p in partitions}
            self.changed_at = time.monotonic()

    def _run(self) -> None:
        while self.running:
            self.consumer.poll(0.05)

    def snapshot(self) -> tuple[frozenset[int], float]:
        with self.lock:
            return frozenset(self.assignment), self.changed_at

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.consumer.close()


def wait_balanced(members: list[Member], partitions: int, timeout: float = 60.0) -> float:
    """Waits until the members hold disjoint, equal shares of every partition; returns the time
    of the last assignment change."""
    deadline = time.monotonic() + timeout
    share = partitions // len(members)
    while time.monotonic() < deadline:
        snapshots = [m.snapshot() for m in members]
        held = [s[0] for s in snapshots]
        if all(len(h) == share for h in held) and len(frozenset().union(*held)) == partitions:
            # Stable for a moment: no further change.
            time.sleep(0.3)
            if [m.snapshot() for m in members] == snapshots:
                return max(s[1] for s in snapshots)
        time.sleep(0.01)
    raise SystemExit(f"group did not balance within {timeout} s: {[sorted(m.snapshot()[0]) for m in members]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--protocol", choices=["classic", "consumer"], default="classic")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    binary = os.environ.get("SAMSA_BIN") or next(
        (p for p in (".build/release/samsa", ".build/debug/samsa") if os.path.exists(p)), None)
    if binary is None:
        raise SystemExit("no samsa binary: run `swift build -c release` (or set SAMSA_BIN)")
    data = tempfile.mkdtemp(prefix="samsa-rebalance-")
    port = free_port()
    broker = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data,
                               "--log-level", "warning"])
    try:
        bootstrap = f"127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("rebalance", num_partitions=6, replication_factor=1)])["rebalance"].result(10)

        joins, leaves = [], []
        for round in range(args.rounds):
            group = f"bench-{args.protocol}-{round}"
            members = [Member(bootstrap, group, "rebalance", args.protocol) for _ in range(2)]
            wait_balanced(members, 6)
            started = time.monotonic()
            members.append(Member(bootstrap, group, "rebalance", args.protocol))
            joins.append(wait_balanced(members, 6) - started)
            leaving = members.pop()
            started = time.monotonic()
            leaving.close()
            leaves.append(wait_balanced(members, 6) - started)
            for member in members:
                member.close()
        print(f"samsa serve ({binary}), confluent-kafka with group.protocol={args.protocol}, "
              f"6 partitions, {args.rounds} rounds")
        print(f"a third member joins: median {statistics.median(joins) * 1000:7.0f} ms "
              f"(all: {', '.join(f'{t * 1000:.0f}' for t in joins)})")
        print(f"one of three leaves:  median {statistics.median(leaves) * 1000:7.0f} ms "
              f"(all: {', '.join(f'{t * 1000:.0f}' for t in leaves)})")
    finally:
        broker.terminate()
        broker.wait(30)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
