"""Idempotent produce: each client gets a producer id (InitProducerId), sends sequenced batches,
and the broker stores them once, in order, with the producer id and sequences intact."""

from __future__ import annotations

import pytest

from clients import Rec, consume_confluent, kcat, produce_aiokafka, produce_confluent, produce_kafka_python
from conftest import DEFAULT_PARTITIONS
from kafka_wire import RawConnection

COUNT = 300


def _records() -> list[Rec]:
    return [Rec(f"key-{i % 11}".encode(), f"idempotent {i}".encode()) for i in range(COUNT)]


def _check(broker, topic: str, expected: list[Rec]) -> None:
    by_partition: dict[int, list[bytes]] = {}
    for rec in expected:
        if rec.partition is not None:
            by_partition.setdefault(rec.partition, []).append(rec.value)
    producer_ids = set()
    total = 0
    with RawConnection(broker.host, broker.port) as conn:
        for partition in range(DEFAULT_PARTITIONS):
            batches = conn.stored_batches(topic, partition)
            sequence = 0
            for batch in batches:
                assert batch.producer_id >= 0 and batch.producer_epoch >= 0, f"batch at {batch.base_offset} is not idempotent"
                assert batch.base_sequence == sequence, f"{topic}[{partition}] batch at {batch.base_offset}: sequence {batch.base_sequence}, expected {sequence}"
                sequence += batch.record_count
                producer_ids.add(batch.producer_id)
            values = [r.value for r in consume_confluent(broker.bootstrap, topic, partition)]
            total += len(values)
            if by_partition:
                assert values == by_partition.get(partition, []), f"{topic}[{partition}] holds other records than were acknowledged"
    assert len(producer_ids) == 1, f"expected one producer id, found {producer_ids}"
    assert total == COUNT


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python", "aiokafka"])
def test_idempotent_produce(broker, require, new_topic, client):
    require("InitProducerId", "Produce", "Fetch")
    topic = new_topic(f"idem-{client}")
    if client == "confluent-kafka":
        acknowledged = produce_confluent(broker.bootstrap, topic, _records(), **{"enable.idempotence": True})
    elif client == "kafka-python":
        acknowledged = produce_kafka_python(broker.bootstrap, topic, _records(), enable_idempotence=True, acks="all")
    else:
        acknowledged = produce_aiokafka(broker.bootstrap, topic, _records(), enable_idempotence=True, acks="all")
    _check(broker, topic, acknowledged)


def test_idempotent_produce_kcat(broker, require, new_topic):
    require("InitProducerId", "Produce", "Fetch")
    topic = new_topic("idem-kcat")
    lines = b"".join(r.key + b"\t" + r.value + b"\n" for r in _records())
    kcat(broker.bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "enable.idempotence=true", "-X", "partitioner=murmur2_random", input=lines)
    _check(broker, topic, [])
