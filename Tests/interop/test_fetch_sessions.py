"""Incremental fetch sessions (KIP-227) with kafka-python, which opens one when the broker
offers it: records of many partitions arrive whole and in order while later fetches name only
what changed."""

from __future__ import annotations

import time

from clients import CLIENT_TIMEOUT, Rec, create_topic, kafka_python_common, produce_kafka_python

PARTITIONS = 8


def poll_until(consumer, count: int) -> dict[int, list[bytes]]:
    """Values by partition, polling until `count` records arrived (and half a second more, to see extras)."""
    values: dict[int, list[bytes]] = {}
    deadline = time.monotonic() + CLIENT_TIMEOUT
    extra_until = None
    while extra_until is None or time.monotonic() < extra_until:
        assert time.monotonic() < deadline, f"kafka-python: {sum(map(len, values.values()))} of {count} records"
        for batch in consumer.poll(timeout_ms=100).values():
            for message in batch:
                values.setdefault(message.partition, []).append(message.value)
        if extra_until is None and sum(map(len, values.values())) >= count:
            extra_until = time.monotonic() + 0.5
    return values


def session_ids(consumer) -> list[int]:
    return [handler.next_metadata.session_id for handler in consumer._fetcher._session_handlers.values()]


def test_kafka_python_consumes_many_partitions_through_a_session(broker):
    from kafka import KafkaConsumer, TopicPartition

    topic = create_topic(broker.bootstrap, "sessions", PARTITIONS)
    produce_kafka_python(
        broker.bootstrap, topic, [Rec(None, f"{p}-{i}".encode(), partition=p) for p in range(PARTITIONS) for i in range(5)]
    )
    consumer = KafkaConsumer(**kafka_python_common(broker.bootstrap), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        first = poll_until(consumer, PARTITIONS * 5)
        assert first == {p: [f"{p}-{i}".encode() for i in range(5)] for p in range(PARTITIONS)}
        ids = session_ids(consumer)
        assert ids and all(ids), f"kafka-python fetches through a session, got session ids {ids}"

        # Records in one partition only: the session's answers bring them, and nothing else.
        produce_kafka_python(broker.bootstrap, topic, [Rec(None, f"5-{i}".encode(), partition=5) for i in range(5, 8)])
        second = poll_until(consumer, 3)
        assert second == {5: [b"5-5", b"5-6", b"5-7"]}
        assert session_ids(consumer) == ids, "the same session went on"
        epochs = [handler.next_metadata.epoch for handler in consumer._fetcher._session_handlers.values()]
        assert all(epoch > 1 for epoch in epochs), f"incremental fetches were sent, epochs {epochs}"
    finally:
        consumer.close()
