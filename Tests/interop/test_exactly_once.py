"""Exactly once under failure: a consume-transform-produce application (eos_app.py, one
transaction per batch with send_offsets_to_transaction) copies keyed records from an input topic
to an output topic while the test kills it with SIGKILL, and separately kills the broker with
SIGKILL, at random points. In the end a read_committed consumer sees every input record exactly
once in the output, in order per partition, and the group's offsets are at the end of the input.

The kill points come from a seed, printed at the start (set SAMSA_TEST_SEED to run a seed
again): how many `event` lines the application prints before each kill, which of the two is
killed, and the application's batch size. Where in its work a process is when the signal lands
still varies between runs; the outcome must not.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from broker_process import BrokerProcess
from test_transactions import create_topics

PARTITIONS = 3
RECORDS = 1_200
APP = Path(__file__).with_name("eos_app.py")
MAX_APP_STARTS = 40


def run_seed() -> int:
    configured = os.environ.get("SAMSA_TEST_SEED")
    return int(configured) if configured else random.randrange(2**32)


def produce_input(bootstrap: str, topic: str) -> dict[int, list[bytes]]:
    """RECORDS keyed records, idempotent and acks=all; the values of each partition in offset order."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    delivered: dict[int, list[tuple[int, bytes]]] = {}
    failures: list[str] = []

    def report(error, message) -> None:
        if error is not None:
            failures.append(str(error))
        else:
            delivered.setdefault(message.partition(), []).append((message.offset(), message.value()))

    for index in range(RECORDS):
        producer.produce(topic, key=f"key-{index % 40}".encode(), value=f"{index}".encode(), on_delivery=report)
    assert producer.flush(30) == 0, "the input was not acknowledged in time"
    assert not failures, f"input produce failed: {failures[:3]}"
    return {partition: [value for _, value in sorted(records)] for partition, records in delivered.items()}


def read_committed(bootstrap: str, topic: str) -> dict[int, list[bytes]]:
    """Every committed value of every partition, in offset order, read to the end."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": bootstrap, "group.id": f"verify-{uuid.uuid4().hex[:8]}", "isolation.level": "read_committed",
        "enable.partition.eof": True, "enable.auto.commit": False,
    })
    consumer.assign([TopicPartition(topic, partition, 0) for partition in range(PARTITIONS)])
    values: dict[int, list[bytes]] = {partition: [] for partition in range(PARTITIONS)}
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(at_end) < PARTITIONS:
            assert time.monotonic() < deadline, f"the output's partitions {set(range(PARTITIONS)) - at_end} did not reach their end"
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                at_end.add(message.partition())
                continue
            at_end.discard(message.partition())
            values[message.partition()].append(message.value())
    finally:
        consumer.close()
    return values


def committed_offsets(bootstrap: str, group: str, topic: str) -> list[int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = [TopicPartition(topic, partition) for partition in range(PARTITIONS)]
        return [tp.offset for tp in consumer.committed(partitions, timeout=20)]
    finally:
        consumer.close()


@pytest.mark.timeout(240)
def test_exactly_once_while_the_application_and_the_broker_are_killed():
    seed = run_seed()
    print(f"\nexactly-once seed {seed} (run again with SAMSA_TEST_SEED={seed})", file=sys.stderr)
    rng = random.Random(seed)
    kills = ["app"] * 4 + ["broker"] * 3
    rng.shuffle(kills)
    plan = [(kind, rng.randint(1, 12)) for kind in kills]
    broker = BrokerProcess(["--partitions", str(PARTITIONS), "--log-level", os.environ.get("EOS_BROKER_LOG_LEVEL", "info")], name="eos")
    broker.start()
    app: subprocess.Popen | None = None
    app_log = broker.workdir / "app.log"
    history: list[str] = []
    try:
        source, sink, group = "eos-in", "eos-out", "eos-app"
        create_topics(broker, [source, sink], PARTITIONS)
        expected = produce_input(broker.bootstrap, source)
        starts = 0
        while True:
            starts += 1
            assert starts <= MAX_APP_STARTS, f"seed {seed}: the application did not finish in {MAX_APP_STARTS} starts ({history})"
            batch = rng.randint(5, 60)
            with open(app_log, "ab") as log:
                app = subprocess.Popen(
                    [sys.executable, str(APP), broker.bootstrap, source, sink, group, "eos-app", str(batch)],
                    stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
            events = 0
            killed = False
            for line in app.stdout:
                if not line.startswith("event "):
                    continue
                events += 1
                if not plan or events < plan[0][1]:
                    continue
                kind, _ = plan.pop(0)
                history.append(f"{kind} after '{line.strip()}'")
                events = 0
                if kind == "app":
                    app.kill()
                    killed = True
                    break
                broker.kill()
                broker.start()
            status = app.wait(timeout=60)
            app.stdout.close()
            app = None
            if status == 0 and not killed:
                break
            if not killed:
                history.append(f"app exited with {status}")
        assert not plan, f"seed {seed}: the application finished before every kill was made: {plan} left"
        output = read_committed(broker.bootstrap, sink)
        for partition in range(PARTITIONS):
            wanted = [b"out:" + value for value in expected.get(partition, [])]
            got = output[partition]
            duplicates = len(got) - len(set(got))
            missing = len(set(wanted) - set(got))
            assert got == wanted, (
                f"seed {seed}: output partition {partition} has {len(got)} records for {len(wanted)} inputs "
                f"({duplicates} duplicated, {missing} missing); kills: {history}"
            )
        ends = [len(expected.get(partition, [])) for partition in range(PARTITIONS)]
        assert committed_offsets(broker.bootstrap, group, source) == ends, f"seed {seed}: the group's offsets are not at the end"
        print(f"exactly-once seed {seed}: {starts} application starts, {broker.starts} broker starts; {history}", file=sys.stderr)
    except BaseException:
        print(f"\nseed {seed}; application log:\n{app_log.read_text(errors='replace')[-4000:] if app_log.exists() else ''}")
        print(f"broker log:\n{broker.log_tail(60)}")
        raise
    finally:
        if app is not None:
            app.kill()
            app.wait()
        broker.remove()
