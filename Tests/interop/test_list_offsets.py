"""ListOffsets: earliest, latest and by timestamp, through each client's API for it."""

from __future__ import annotations

import time

import pytest

from clients import REQUEST_TIMEOUT_MS, Rec, kcat, produce_confluent, run_async

COUNT = 10


@pytest.fixture
def timed_topic(broker, require, new_topic):
    """A topic whose partition 2 holds COUNT records with timestamps base, base+1000, ...; returns (topic, base)."""
    require("Produce")
    topic = new_topic("offsets")
    base = (int(time.time()) - 3600) * 1000
    records = [Rec(b"k", f"v{i}".encode(), timestamp=base + 1000 * i) for i in range(COUNT)]
    acknowledged = produce_confluent(broker.bootstrap, topic, records, partition=2)
    assert [r.offset for r in acknowledged] == list(range(COUNT))
    return topic, base


# (timestamp asked for, offset expected): the first offset whose timestamp is >= the one asked for,
# and -1 (no such record) past the last one.
def by_time_cases(base: int) -> list[tuple[int, int]]:
    return [(base - 5000, 0), (base, 0), (base + 1, 1), (base + 4500, 5), (base + 9000, 9), (base + 9001, -1)]


def test_list_offsets_confluent_kafka(broker, require, timed_topic):
    from confluent_kafka import Consumer, TopicPartition

    require("ListOffsets")
    topic, base = timed_topic
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "interop-offsets", "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    try:
        assert consumer.get_watermark_offsets(TopicPartition(topic, 2), timeout=10, cached=False) == (0, COUNT)
        assert consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10, cached=False) == (0, 0)
        for asked, expected in by_time_cases(base):
            [answer] = consumer.offsets_for_times([TopicPartition(topic, 2, asked)], timeout=10)
            assert answer.error is None
            assert answer.offset == expected, f"offsets_for_times({asked - base:+d} ms from the first record) = {answer.offset}, expected {expected}"
    finally:
        consumer.close()


def test_list_offsets_confluent_kafka_admin(broker, require, timed_topic):
    """AdminClient.list_offsets (ListOffsets v1+ through the admin path, with max-timestamp)."""
    from confluent_kafka import IsolationLevel, TopicPartition
    from confluent_kafka.admin import AdminClient, OffsetSpec

    require("ListOffsets")
    topic, base = timed_topic
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    tp = TopicPartition(topic, 2)
    specs = {
        "earliest": (OffsetSpec.earliest(), 0),
        "latest": (OffsetSpec.latest(), COUNT),
        "by time": (OffsetSpec.for_timestamp(base + 4500), 5),
        "max timestamp": (OffsetSpec.max_timestamp(), COUNT - 1),
    }
    for name, (spec, expected) in specs.items():
        futures = admin.list_offsets({tp: spec}, isolation_level=IsolationLevel.READ_UNCOMMITTED, request_timeout=10)
        result = futures[tp].result(timeout=15)
        assert result.offset == expected, f"{name}: {result.offset}, expected {expected}"


def test_list_offsets_kafka_python(broker, require, timed_topic):
    from kafka import KafkaConsumer, TopicPartition

    require("ListOffsets")
    topic, base = timed_topic
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS, api_version_auto_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        tp = TopicPartition(topic, 2)
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp, TopicPartition(topic, 0)]) == {tp: COUNT, TopicPartition(topic, 0): 0}
        for asked, expected in by_time_cases(base):
            answer = consumer.offsets_for_times({tp: asked})[tp]
            if expected < 0:
                assert answer is None, f"offsets_for_times past the last record: {answer}"
            else:
                assert answer is not None and answer.offset == expected, f"offsets_for_times({asked - base:+d} ms) = {answer}, expected {expected}"
                assert answer.timestamp == base + 1000 * expected
    finally:
        consumer.close()


def test_list_offsets_aiokafka(broker, require, timed_topic):
    from aiokafka import AIOKafkaConsumer, TopicPartition

    require("ListOffsets")
    topic, base = timed_topic

    async def scenario():
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        await consumer.start()
        try:
            tp = TopicPartition(topic, 2)
            assert await consumer.beginning_offsets([tp]) == {tp: 0}
            assert await consumer.end_offsets([tp]) == {tp: COUNT}
            for asked, expected in by_time_cases(base):
                answer = (await consumer.offsets_for_times({tp: asked}))[tp]
                if expected < 0:
                    assert answer is None, f"offsets_for_times past the last record: {answer}"
                else:
                    assert answer is not None and answer.offset == expected, f"offsets_for_times({asked - base:+d} ms) = {answer}, expected {expected}"
        finally:
            await consumer.stop()

    run_async(scenario())


def test_list_offsets_kcat(broker, require, timed_topic):
    """`kcat -Q -t topic:partition:timestamp` (ListOffsets by time)."""
    require("ListOffsets")
    topic, base = timed_topic
    for asked, expected in by_time_cases(base):
        out = kcat(broker.bootstrap, "-Q", "-t", f"{topic}:2:{asked}").stdout.decode()
        # "<topic> [2]  offset <n>"
        words = out.split()
        assert "offset" in words, out
        offset = int(words[words.index("offset") + 1])
        assert offset == expected, f"kcat -Q at {asked - base:+d} ms: {out.strip()!r}, expected offset {expected}"
