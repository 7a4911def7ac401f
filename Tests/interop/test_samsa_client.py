"""SamsaClient (through `samsa produce` and `samsa consume`) against the clients Kafka users
already have: keyed records land on the partitions Java's partitioner picks (as confluent-kafka
with murmur2_random and kafka-python do), records cross between clients byte for byte whatever
the codec and headers, and a SamsaClient transaction reads right with confluent-kafka."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from broker_process import broker_binary
from clients import CLIENT_TIMEOUT, Rec, consume_confluent, produce_confluent, produce_kafka_python
from conftest import DEFAULT_PARTITIONS
from kafka_wire import java_partition


def samsa(broker, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Runs `samsa ARGS -b BROKER`; fails the test with its stderr if it exits non-zero."""
    command = [str(broker_binary()), *args, "-b", broker.bootstrap]
    result = subprocess.run(command, input=input, capture_output=True, timeout=CLIENT_TIMEOUT)
    assert result.returncode == 0, f"{' '.join(args)} exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    return result


def all_records(broker, topic: str, **extra) -> list[Rec]:
    records: list[Rec] = []
    for partition in range(DEFAULT_PARTITIONS):
        records += consume_confluent(broker.bootstrap, topic, partition, **extra)
    return records


def test_keyed_records_land_on_java_partitions(broker, new_topic, require):
    require("Produce", "Fetch", "Metadata")
    keys = [f"user-{index}".encode() for index in range(60)]
    swift_topic, confluent_topic, python_topic = new_topic("keys-swift"), new_topic("keys-confluent"), new_topic("keys-python")
    samsa(broker, "produce", swift_topic, "-K", ":", input=b"".join(key + b":v\n" for key in keys))
    confluent = produce_confluent(broker.bootstrap, confluent_topic, [Rec(key, b"v") for key in keys])
    python = produce_kafka_python(broker.bootstrap, python_topic, [Rec(key, b"v") for key in keys])
    swift = {record.key: record.partition for record in all_records(broker, swift_topic)}
    assert len(swift) == len(keys)
    for key in keys:
        expected = java_partition(key, DEFAULT_PARTITIONS)
        assert swift[key] == expected, f"{key!r}: SamsaClient put it in {swift[key]}, Java's partitioner in {expected}"
    assert {r.key: r.partition for r in confluent} == swift, "confluent-kafka (murmur2_random) and SamsaClient disagree"
    assert {r.key: r.partition for r in python} == swift, "kafka-python and SamsaClient disagree"


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_records_cross_clients_byte_for_byte(broker, new_topic, require, codec):
    require("Produce", "Fetch")
    # confluent-kafka writes, SamsaClient reads.
    topic = new_topic(f"cross-{codec}")
    values = [f"value {index} \u00e9\u00e8 {'x' * index}".encode() for index in range(30)]
    produce_confluent(
        broker.bootstrap, topic,
        [Rec(f"k{index}".encode(), value, (("h", f"{index}".encode()),)) for index, value in enumerate(values)],
        partition=0, **{"compression.type": codec},
    )
    printed = samsa(broker, "consume", topic, "-p", "0", "-e", "-f", "%k|%s|%h\\n").stdout
    expected = b"".join(f"k{index}|".encode() + value + f"|h={index}\n".encode() for index, value in enumerate(values))
    assert printed == expected
    # SamsaClient writes, confluent-kafka reads.
    back = new_topic(f"back-{codec}")
    samsa(broker, "produce", back, "-p", "1", "-K", "|", "-H", "origin=swift", "-z", codec,
          input=b"".join(f"k{index}|".encode() + value + b"\n" for index, value in enumerate(values)))
    read = consume_confluent(broker.bootstrap, back, 1)
    assert [(r.key, r.value) for r in read] == [(f"k{index}".encode(), value) for index, value in enumerate(values)]
    assert all(r.headers == (("origin", b"swift"),) for r in read)


def test_samsa_transactions_read_right_with_confluent(broker, new_topic, require):
    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    topic = new_topic("swift-txn")
    samsa(broker, "produce", topic, "-p", "0", "--transactional-id", "swift-a", input=b"c1\nc2\n")
    samsa(broker, "produce", topic, "-p", "0", "--transactional-id", "swift-a", "--abort", input=b"aborted\n")
    samsa(broker, "produce", topic, "-p", "0", "--transactional-id", "swift-a", input=b"c3\n")
    committed = [r.value for r in consume_confluent(broker.bootstrap, topic, 0, **{"isolation.level": "read_committed"})]
    assert committed == [b"c1", b"c2", b"c3"], "read_committed sees the committed records only, in order"
    uncommitted = [r.value for r in consume_confluent(broker.bootstrap, topic, 0, **{"isolation.level": "read_uncommitted"})]
    assert b"aborted" in uncommitted
    # And SamsaClient's own read_committed consumer agrees.
    printed = samsa(broker, "consume", topic, "-p", "0", "-e", "--read-committed").stdout
    assert printed == b"c1\nc2\nc3\n"


def test_mixed_range_group_shares_partitions(broker, new_topic, require):
    """A classic group with a SamsaClient member (`samsa consume --group`) and a confluent-kafka
    member, both with the range assignor: each partition goes to exactly one of them, both get
    some, and every record produced after the split is read once."""
    require("JoinGroup", "SyncGroup", "Heartbeat")
    mixed_group(
        broker, new_topic("mixed"),
        ["-X", "partition.assignment.strategy=range", "-X", "heartbeat.interval.ms=100", "-X", "session.timeout.ms=6000"],
        {"partition.assignment.strategy": "range", "heartbeat.interval.ms": 100, "session.timeout.ms": 6000},
    )


def test_mixed_cooperative_sticky_group_shares_partitions(broker, new_topic, require):
    """The same with cooperative-sticky on both members (incremental rebalancing)."""
    require("JoinGroup", "SyncGroup", "Heartbeat")
    mixed_group(
        broker, new_topic("mixedcoop"),
        ["-X", "partition.assignment.strategy=cooperative-sticky", "-X", "heartbeat.interval.ms=100", "-X", "session.timeout.ms=6000"],
        {"partition.assignment.strategy": "cooperative-sticky", "heartbeat.interval.ms": 100, "session.timeout.ms": 6000},
    )


def test_mixed_kip848_group_shares_partitions(broker, new_topic, require):
    """The same with KIP-848 (group.protocol=consumer) on both members: the coordinator splits
    the partitions between the SamsaClient member and the confluent-kafka member."""
    require("ConsumerGroupHeartbeat")
    mixed_group(broker, new_topic("mixed848"), ["-X", "group.protocol=consumer"], {"group.protocol": "consumer"})


def mixed_group(broker, topic: str, swift_options: list[str], confluent_options: dict) -> None:
    import queue
    import threading
    import time
    import uuid

    from confluent_kafka import Consumer

    group = f"mixed-{uuid.uuid4().hex[:8]}"
    swift = subprocess.Popen(
        [str(broker_binary()), "consume", topic, "-b", broker.bootstrap, "--group", group, "-f", "%p %o\\n", *swift_options],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    printed: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [printed.put(tuple(map(int, line.split()))) for line in swift.stdout], daemon=True)
    reader.start()
    confluent = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "auto.offset.reset": "earliest", **confluent_options})
    try:
        confluent.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT
        # Both members joined once the confluent-kafka member holds some partitions but not all.
        while not 0 < len(confluent.assignment()) < DEFAULT_PARTITIONS:
            assert time.monotonic() < deadline, f"the group never split: confluent-kafka holds {confluent.assignment()}"
            assert swift.poll() is None, f"samsa consume exited: {swift.stderr.read().decode(errors='replace')}"
            confluent.poll(0.1)
        mine = {tp.partition for tp in confluent.assignment()}
        assert 0 < len(mine) < DEFAULT_PARTITIONS, f"confluent-kafka got {sorted(mine)}: the SamsaClient member should hold the rest"
        # Records produced now are split by partition between the two members.
        produce_confluent(broker.bootstrap, topic, [Rec(None, f"r{i}".encode(), partition=i % DEFAULT_PARTITIONS) for i in range(30)])
        got: list[int] = []
        while len(got) < 10 * len(mine):
            assert time.monotonic() < deadline, f"confluent-kafka read {len(got)} of {10 * len(mine)} records"
            message = confluent.poll(0.1)
            if message is not None and not message.error():
                got.append(message.partition())
        theirs = set(range(DEFAULT_PARTITIONS)) - mine
        swift_lines: list[tuple[int, int]] = []
        while len(swift_lines) < 10 * len(theirs):
            # Waits for the member's next printed record (each line is one).
            try:
                swift_lines.append(printed.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"the SamsaClient member read {len(swift_lines)} of {10 * len(theirs)} records") from None
        assert set(got) == mine
        assert {partition for partition, _ in swift_lines} == theirs, "each partition went to exactly one member"
        assert len(set(swift_lines)) == len(swift_lines) == 10 * len(theirs), "every record read once"
    finally:
        confluent.close()
        swift.terminate()
        swift.wait(10)


def test_group_consumer_resumes_from_committed_offsets_after_broker_kill(broker, new_topic, require):
    """A SamsaClient group member (`samsa consume -g`) keeps running while the broker is killed
    (SIGKILL) and started again: it rejoins and carries on from the group's committed offsets,
    so every record is printed once, the ones produced after the restart included."""
    require("JoinGroup", "SyncGroup", "Heartbeat", "OffsetCommit", "OffsetFetch")
    from test_samsa_cli import committed_with_confluent

    topic, group = new_topic("killed"), f"killed-{os.urandom(4).hex()}"
    before = [Rec(None, f"before-{i}".encode()) for i in range(50)]
    after = [Rec(None, f"after-{i}".encode()) for i in range(50)]
    produce_confluent(broker.bootstrap, topic, before, partition=0)
    consumer = subprocess.Popen(
        [str(broker_binary()), "consume", topic, "-g", group, "-c", "100", "-b", broker.bootstrap,
         "-X", "auto.commit.interval.ms=100", "-X", "retry.backoff.max.ms=200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # The event to wait for: the group has committed everything produced so far.
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while committed_with_confluent(broker, group, topic).get(0) != len(before):
            assert consumer.poll() is None, f"the consumer exited early: {consumer.stderr.read().decode(errors='replace')}"
            assert time.monotonic() < deadline, "the consumer never committed the first 50 records"
            time.sleep(0.05)
        broker.restart(hard=True)
        produce_confluent(broker.bootstrap, topic, after, partition=0)
        output, errors = consumer.communicate(timeout=CLIENT_TIMEOUT)
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
    assert consumer.returncode == 0, errors.decode(errors="replace")
    printed = output.decode().splitlines()
    assert printed == [r.value.decode() for r in before + after], f"printed {len(printed)} records, e.g. {printed[48:53]}"
    assert committed_with_confluent(broker, group, topic)[0] == len(before) + len(after)
