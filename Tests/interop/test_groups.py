"""Consumer groups (issue 5) with real clients. Marked `groups`: conftest.py deselects them, with a
printed note, while the broker does not advertise JoinGroup; once it does they run, and fail like
any other test."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from clients import REQUEST_TIMEOUT_MS, Rec, create_topic, produce_confluent, run_async

pytestmark = pytest.mark.groups

PARTITIONS = 6
SESSION_TIMEOUT_MS = 6000  # Kafka's group.min.session.timeout.ms
REBALANCE_WAIT = 30.0


def six_partition_topic(broker) -> str:
    return create_topic(broker.bootstrap, "group", PARTITIONS)


def confluent_group_consumer(broker, group: str, protocol: str = "classic", **extra):
    from confluent_kafka import Consumer

    config = {
        "bootstrap.servers": broker.bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
        "group.protocol": protocol,
    }
    if protocol == "classic":
        config["session.timeout.ms"] = SESSION_TIMEOUT_MS
        config["heartbeat.interval.ms"] = 500
    config.update(extra)
    return Consumer(config)


def _poll_all(consumers, seconds: float, sink: list | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for consumer in consumers:
            message = consumer.poll(0.05)
            if message is not None and not message.error() and sink is not None:
                sink.append((message.partition(), message.offset(), message.value()))


def _wait_for_assignment(consumers, sizes: list[int], sink: list | None = None) -> list[set[int]]:
    """Polls until the consumers hold disjoint assignments of these sizes (all partitions when
    the sizes add up to PARTITIONS)."""
    deadline = time.monotonic() + REBALANCE_WAIT
    while True:
        _poll_all(consumers, 0.3, sink)
        assigned = [{tp.partition for tp in c.assignment()} for c in consumers]
        union = set().union(*assigned)
        if sorted(len(a) for a in assigned) == sorted(sizes) and len(union) == sum(sizes) and union <= set(range(PARTITIONS)):
            return assigned
        assert time.monotonic() < deadline, f"assignments {assigned} are not {sizes} within {REBALANCE_WAIT}s"


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_confluent_group_shares_partitions_and_rebalances(broker, require, protocol):
    require("FindCoordinator", "JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup", "OffsetFetch", "Fetch")
    if protocol == "consumer":
        require("ConsumerGroupHeartbeat")
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumers = [confluent_group_consumer(broker, group, protocol) for _ in range(3)]
    try:
        for consumer in consumers:
            consumer.subscribe([topic])
        _wait_for_assignment(consumers, [2, 2, 2])
        consumers.pop().close()  # leaves the group cleanly
        _wait_for_assignment(consumers, [3, 3])
    finally:
        for consumer in consumers:
            consumer.close()


_KILLABLE = textwrap.dedent(
    """
    import sys, time
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2], "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    c.subscribe([sys.argv[3]])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        c.poll(0.2)
        if c.assignment():
            print("assigned", flush=True)
    """
)


def test_killed_member_partitions_move_within_session_timeout(broker, require):
    require("JoinGroup", "SyncGroup", "Heartbeat", "Fetch")
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    victim = subprocess.Popen([sys.executable, "-c", _KILLABLE, broker.bootstrap, group, topic], stdout=subprocess.PIPE)
    consumers = [confluent_group_consumer(broker, group) for _ in range(2)]
    try:
        for consumer in consumers:
            consumer.subscribe([topic])
        _wait_for_assignment(consumers, [2, 2])  # the victim holds the other two
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        killed_at = time.monotonic()
        _wait_for_assignment(consumers, [3, 3])
        assert time.monotonic() - killed_at < SESSION_TIMEOUT_MS / 1000 + 10
    finally:
        if victim.poll() is None:
            victim.kill()
        for consumer in consumers:
            consumer.close()


def _commit_and_resume(broker, restart_between: bool) -> None:
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"v{i}".encode()) for i in range(30)], partition=0)
    consumer = confluent_group_consumer(broker, group)
    seen = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + REBALANCE_WAIT
        while len(seen) < 10:
            assert time.monotonic() < deadline, f"read {len(seen)} of 10 records"
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                seen.append(message.offset())
        consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    if restart_between:
        broker.restart()
    consumer = confluent_group_consumer(broker, group)
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + REBALANCE_WAIT
        while True:
            assert time.monotonic() < deadline, "no record after resuming"
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                assert message.offset() == seen[-1] + 1, f"resumed at {message.offset()}, committed {seen[-1] + 1}"
                break
    finally:
        consumer.close()


def test_committed_offsets_resume_group(broker, require):
    require("OffsetCommit", "OffsetFetch", "JoinGroup", "Produce", "Fetch")
    _commit_and_resume(broker, restart_between=False)


def test_committed_offsets_survive_broker_restart(broker, require):
    require("OffsetCommit", "OffsetFetch", "JoinGroup", "Produce", "Fetch")
    _commit_and_resume(broker, restart_between=True)


def test_two_groups_read_independently(broker, require):
    require("JoinGroup", "Produce", "Fetch")
    topic = six_partition_topic(broker)
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"v{i}".encode()) for i in range(12)], partition=3)
    for _ in range(2):
        consumer = confluent_group_consumer(broker, f"g-{uuid.uuid4().hex[:8]}")
        values = []
        try:
            consumer.subscribe([topic])
            deadline = time.monotonic() + REBALANCE_WAIT
            while len(values) < 12:
                assert time.monotonic() < deadline, f"read {len(values)} of 12"
                message = consumer.poll(0.2)
                if message is not None and not message.error():
                    values.append(message.value())
        finally:
            consumer.close()
        assert values == [f"v{i}".encode() for i in range(12)]


def test_kafka_python_group(broker, require):
    from kafka import KafkaConsumer

    require("JoinGroup", "SyncGroup", "Heartbeat", "Fetch")
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumers = [
        KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, request_timeout_ms=REQUEST_TIMEOUT_MS,
                      session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=500, enable_auto_commit=False)
        for _ in range(3)
    ]
    try:
        deadline = time.monotonic() + REBALANCE_WAIT
        while True:
            for consumer in consumers:
                consumer.poll(timeout_ms=100)
            sizes = sorted(len(c.assignment()) for c in consumers)
            if sizes == [2, 2, 2]:
                break
            assert time.monotonic() < deadline, f"assignment sizes {sizes}"
    finally:
        for consumer in consumers:
            consumer.close()


def test_aiokafka_group(broker, require):
    from aiokafka import AIOKafkaConsumer

    require("JoinGroup", "SyncGroup", "Heartbeat", "Fetch")
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"

    async def scenario():
        consumers = [
            AIOKafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id=group, request_timeout_ms=REQUEST_TIMEOUT_MS,
                             session_timeout_ms=SESSION_TIMEOUT_MS, heartbeat_interval_ms=500, enable_auto_commit=False)
            for _ in range(3)
        ]
        for consumer in consumers:
            await consumer.start()
        try:
            while sorted(len(c.assignment()) for c in consumers) != [2, 2, 2]:
                await asyncio.gather(*(c.getmany(timeout_ms=100) for c in consumers))
        finally:
            for consumer in consumers:
                await consumer.stop()

    run_async(scenario(), REBALANCE_WAIT)


def test_admin_lists_and_describes_groups(broker, require):
    from confluent_kafka.admin import AdminClient

    require("ListGroups", "DescribeGroups", "JoinGroup")
    topic = six_partition_topic(broker)
    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = confluent_group_consumer(broker, group)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    try:
        consumer.subscribe([topic])
        _wait_for_assignment([consumer], [PARTITIONS])
        listed = admin.list_consumer_groups(request_timeout=10).result(timeout=15)
        assert group in {g.group_id for g in listed.valid}
        described = admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        assert len(described.members) == 1
        assert str(described.state).endswith("STABLE")
    finally:
        consumer.close()
