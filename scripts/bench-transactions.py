#!/usr/bin/env python3
"""Transactional produce against `samsa serve`, compared with the plain idempotent producer in
the same run (confluent-kafka / librdkafka): 1 KiB records, N records per transaction, and the
commit latency (commit_transaction) p50/p99. Also measures this disk's fsync time, since a
commit waits for the markers' fsyncs.

    .venv/bin/python scripts/bench-transactions.py [--records 100000] [--rounds 3] [--binary .build/release/samsa]

The modes run interleaved, round after round, and the medians are reported, so a machine that
gets busier during the run weighs on every mode alike.

Builds nothing: run `swift build -c release --product samsa` first.
"""

import argparse
import logging
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fsync_ms(directory: str, count: int = 50) -> float:
    """Median time of a 4 KiB write plus fdatasync on this disk."""
    path = os.path.join(directory, "fsync-probe")
    samples = []
    with open(path, "wb") as f:
        for _ in range(count):
            f.write(b"x" * 4096)
            f.flush()
            started = time.perf_counter()
            os.fdatasync(f.fileno())
            samples.append((time.perf_counter() - started) * 1000)
    os.remove(path)
    return statistics.median(samples)


def idempotent(bootstrap: str, topic: str, records: int, value: bytes) -> float:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    started = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value=value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    return records * len(value) / (time.perf_counter() - started) / 1e6


def transactional(bootstrap: str, topic: str, records: int, per_transaction: int, value: bytes) -> tuple[float, list[float]]:
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"bench-{uuid.uuid4().hex[:8]}", "linger.ms": 5})
    producer.init_transactions(30)
    commits = []
    started = time.perf_counter()
    sent = 0
    while sent < records:
        producer.begin_transaction()
        for _ in range(min(per_transaction, records - sent)):
            while True:
                try:
                    producer.produce(topic, value=value, partition=0)
                    break
                except BufferError:
                    producer.poll(0.01)
            sent += 1
        commit_started = time.perf_counter()
        producer.commit_transaction(60)
        commits.append((time.perf_counter() - commit_started) * 1000)
    return records * len(value) / (time.perf_counter() - started) / 1e6, commits


class EndTxnRoundTrips(logging.Handler):
    """Collects the round trip of every EndTxn librdkafka reports (debug=protocol): the time
    from the request leaving the client to its answer, so the broker's part of a commit without
    the client's own flushing and bookkeeping."""

    pattern = re.compile(r"Received EndTxnResponse .*rtt ([0-9.]+)ms")

    def __init__(self) -> None:
        super().__init__()
        self.round_trips: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = self.pattern.search(record.getMessage())
        if match:
            self.round_trips.append(float(match.group(1)))


def end_txn_round_trips(bootstrap: str, topic: str, transactions: int, per_transaction: int, value: bytes) -> list[float]:
    """EndTxn round trips of `transactions` commits (a separate pass: debug logging slows the client)."""
    handler = EndTxnRoundTrips()
    logger = logging.getLogger("bench-rdkafka")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    producer = Producer({
        "bootstrap.servers": bootstrap, "transactional.id": f"bench-rtt-{uuid.uuid4().hex[:8]}", "linger.ms": 5,
        "debug": "protocol", "logger": logger,
    })
    producer.init_transactions(30)
    for _ in range(transactions):
        producer.begin_transaction()
        for _ in range(per_transaction):
            producer.produce(topic, value=value, partition=0)
        producer.commit_transaction(60)
    producer.poll(0)  # delivers the queued log lines
    logger.removeHandler(handler)
    return sorted(handler.round_trips)


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--binary", default=".build/release/samsa")
    args = parser.parse_args()
    value = b"x" * 1024
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        broker = subprocess.Popen([args.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", f"{work}/data",
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
            topics = ["bench-idem", "bench-txn-100", "bench-txn-1000"]
            for future in admin.create_topics([NewTopic(t, 1, 1) for t in topics]).values():
                future.result(30)
            fsync = fsync_ms(work)
            print(f"fsync (4 KiB + fdatasync) on this disk: median {fsync:.2f} ms")
            idempotent(bootstrap, "bench-idem", args.records // 5, value)  # warm-up: connections, first segment
            rates: dict[str, list[float]] = {"idempotent": [], "100": [], "1000": []}
            commits: dict[str, list[float]] = {"100": [], "1000": []}
            for round_number in range(1, args.rounds + 1):
                rates["idempotent"].append(idempotent(bootstrap, "bench-idem", args.records, value))
                for per in (100, 1000):
                    rate, latencies = transactional(bootstrap, f"bench-txn-{per}", args.records, per, value)
                    rates[str(per)].append(rate)
                    commits[str(per)] += latencies
                print(f"round {round_number}: idempotent {rates['idempotent'][-1]:.1f} MB/s, "
                      f"100 per txn {rates['100'][-1]:.1f} MB/s, 1000 per txn {rates['1000'][-1]:.1f} MB/s")
            base = statistics.median(rates["idempotent"])
            print(f"idempotent producer:            {base:8.1f} MB/s (median of {args.rounds})")
            for per in ("100", "1000"):
                rate = statistics.median(rates[per])
                latencies = sorted(commits[per])
                p50 = latencies[len(latencies) // 2]
                p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
                print(f"transactional, {per:>4} per txn:    {rate:8.1f} MB/s ({rate / base * 100:5.1f} % of idempotent), "
                      f"commit_transaction p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(latencies)} commits")
            round_trips = end_txn_round_trips(bootstrap, "bench-txn-100", 500, 100, value)
            print(f"EndTxn round trip (broker side of a commit), 100 per txn: p50 {percentile(round_trips, 0.5):.2f} ms, "
                  f"p99 {percentile(round_trips, 0.99):.2f} ms = {percentile(round_trips, 0.99) / fsync:.1f} fsyncs "
                  f"over {len(round_trips)} commits")
        finally:
            broker.terminate()
            broker.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
