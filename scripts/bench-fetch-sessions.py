#!/usr/bin/env python3
"""What incremental fetch sessions (KIP-227) save a consumer of many partitions: a kafka-python
consumer assigned every partition of a topic, caught up, then polling an idle topic (every fetch
waits 100 ms for data that does not come), with and without `enable_incremental_fetch_sessions`,
alternating, ROUNDS rounds of SECONDS each. Prints per mode the fetches per second and the CPU
time of the broker and of the consumer per fetch.

    .venv/bin/python scripts/bench-fetch-sessions.py [PARTITIONS] [ROUNDS] [SECONDS]   # 1000 3 10

Needs the test venv's kafka-python; builds samsa in release mode.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

start_module = import_module("bench-start")
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def measure(bootstrap: str, topic: str, partitions: int, sessions: bool, seconds: float, broker_pid: int) -> dict[str, float]:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100,
        enable_incremental_fetch_sessions=sessions)
    try:
        assigned = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        received = 0
        deadline = time.monotonic() + 60
        while received < partitions:
            if time.monotonic() > deadline:
                raise SystemExit(f"caught up with {received} of {partitions} records only")
            received += sum(len(batch) for batch in consumer.poll(timeout_ms=200).values())
        # Counts the answers kafka-python handles (its fetch-rate metric averages over a minute).
        answers = [0]
        handle = consumer._fetcher._handle_fetch_response

        def counting(*arguments, **keywords):
            answers[0] += 1
            return handle(*arguments, **keywords)

        consumer._fetcher._handle_fetch_response = counting
        broker_before, client_before, began = start_module.cpu_seconds(broker_pid), time.process_time(), time.monotonic()
        while time.monotonic() - began < seconds:
            consumer.poll(timeout_ms=100)
        elapsed = time.monotonic() - began
        broker, client = start_module.cpu_seconds(broker_pid) - broker_before, time.process_time() - client_before
        return {
            "fetches per s": answers[0] / elapsed,
            "broker CPU per fetch (ms)": broker / max(1, answers[0]) * 1000,
            "consumer CPU per fetch (ms)": client / max(1, answers[0]) * 1000,
        }
    finally:
        consumer.close()


def main(partitions: int, rounds: int, seconds: float) -> None:
    subprocess.run(["swift", "build", "-c", "release", "--product", "samsa"], cwd=ROOT, check=True, capture_output=True)
    from kafka import KafkaProducer

    with tempfile.TemporaryDirectory() as data:
        port = start_module.free_port()
        process, _ = start_module.start(port, data)
        bootstrap = f"127.0.0.1:{port}"
        try:
            start_module.samsa(port, "topic", "create", "idle", "-p", str(partitions))
            producer = KafkaProducer(bootstrap_servers=bootstrap)
            for partition in range(partitions):
                producer.send("idle", value=b"x", partition=partition)
            producer.flush()
            producer.close()
            results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
            for _ in range(rounds):
                for sessions in (True, False):
                    results[sessions].append(measure(bootstrap, "idle", partitions, sessions, seconds, process.pid))
        finally:
            process.terminate()
            process.wait()
    print(f"kafka-python consumer of {partitions} idle partitions, fetch_max_wait_ms 100, {rounds} rounds of {seconds:.0f} s")
    print("| | with fetch sessions | without |")
    print("|---|---:|---:|")
    for name in results[True][0]:
        cells = []
        for sessions in (True, False):
            values = [result[name] for result in results[sessions]]
            cells.append(f"{statistics.median(values):,.1f} ({min(values):,.1f}-{max(values):,.1f})")
        print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(int(arguments[0]) if arguments else 1000, int(arguments[1]) if len(arguments) > 1 else 3,
         float(arguments[2]) if len(arguments) > 2 else 10)
