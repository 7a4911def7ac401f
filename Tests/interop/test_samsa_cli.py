"""The `samsa` client commands against a real broker, checked with confluent-kafka: group lag,
offset resets (dry run, then --execute), and one clear line with a non-zero exit for bad input."""

from __future__ import annotations

import subprocess
import uuid

from broker_process import broker_binary
from clients import CLIENT_TIMEOUT, Rec, produce_confluent
from conftest import DEFAULT_PARTITIONS


def samsa(broker, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([str(broker_binary()), *args, "-b", broker.bootstrap], capture_output=True, timeout=CLIENT_TIMEOUT)
    if check:
        assert result.returncode == 0, f"samsa {' '.join(args)} exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    return result


def commit_with_confluent(broker, group: str, offsets: dict[tuple[str, int], int]) -> None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def committed_with_confluent(broker, group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.committed([TopicPartition(topic, p) for p in range(DEFAULT_PARTITIONS)], timeout=CLIENT_TIMEOUT)
        return {tp.partition: tp.offset for tp in partitions}
    finally:
        consumer.close()


def test_group_describe_lag_matches_confluent(broker, new_topic, require):
    require("OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups")
    topic, group = new_topic("lag"), f"lag-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=i % DEFAULT_PARTITIONS) for i in range(30)])
    commit_with_confluent(broker, group, {(topic, 0): 2, (topic, 1): 7, (topic, 2): 10})
    printed = samsa(broker, "group", "describe", group).stdout.decode()
    rows = {int(line.split()[1]): line.split() for line in printed.splitlines() if line.startswith(topic)}
    assert {partition: int(row[4]) for partition, row in rows.items()} == {0: 8, 1: 3, 2: 0}
    assert "total lag 11" in printed


def test_reset_offsets_dry_run_then_execute(broker, new_topic, require):
    require("OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups")
    from confluent_kafka import Consumer, TopicPartition

    topic, group = new_topic("reset"), f"reset-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"r{i}".encode(), partition=0) for i in range(10)])
    commit_with_confluent(broker, group, {(topic, 0): 9})
    dry = samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--shift-by", "-4").stdout.decode()
    assert "dry run" in dry
    assert committed_with_confluent(broker, group, topic)[0] == 9, "the dry run changed nothing"
    samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--shift-by", "-4", "--execute")
    assert committed_with_confluent(broker, group, topic)[0] == 5
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0)])  # no offset: the group's committed one
        message = None
        for _ in range(100):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                break
        assert message is not None and message.offset() == 5 and message.value() == b"r5"
    finally:
        consumer.close()


def test_bad_input_is_one_clear_line(broker):
    missing = samsa(broker, "consume", f"missing-{uuid.uuid4().hex[:8]}", "-e", check=False)
    assert missing.returncode != 0 and b"does not exist" in missing.stderr and len(missing.stderr.splitlines()) == 1
    unreachable = subprocess.run(
        [str(broker_binary()), "topic", "list", "-b", "127.0.0.1:1"], capture_output=True, timeout=CLIENT_TIMEOUT)
    assert unreachable.returncode != 0 and b"cannot reach 127.0.0.1:1" in unreachable.stderr
    malformed = samsa(broker, "topic", "list", "-X", "nonsense", check=False)
    assert malformed.returncode != 0 and b"key=value" in malformed.stderr
    bad_time = samsa(broker, "consume", "t", "--from", "@yesterday", "-e", check=False)
    assert bad_time.returncode != 0 and b"--from" in bad_time.stderr


def test_cluster_and_offsets(broker, new_topic):
    topic = new_topic("offsets")
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=1, timestamp=1_000 + i) for i in range(5)])
    cluster = samsa(broker, "cluster").stdout.decode()
    assert "controller 1" in cluster and "Produce" in cluster and "ApiVersions" in cluster
    rows = {line.split()[0]: line.split() for line in samsa(broker, "offsets", topic, "--at", "1003").stdout.decode().splitlines()[1:]}
    assert rows["1"] == ["1", "0", "5", "3"], "earliest 0, latest 5, first at or after t=1003 is offset 3"
    assert rows["0"][1:3] == ["0", "0"]
