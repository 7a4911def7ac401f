"""Keyed records land on the partition Java's murmur2 partitioner picks (protocol.md §2.7).

The partitioner runs in the client; what the broker decides is the partition count and order in
Metadata, and that each record is stored (and read back) where it was sent.
"""

from __future__ import annotations

import pytest

from clients import CLIENTS, Rec, consume_confluent, kcat
from conftest import DEFAULT_PARTITIONS
from kafka_wire import java_partition, murmur2

KEYS = [f"key-{i}".encode() for i in range(48)] + [
    b"",  # an empty key is hashed, not spread at random
    bytes(range(256)),
    "ключ".encode(),
    b"\x00\x01\x02",
    b"21",
    b"foobar",
]


def test_murmur2_matches_kafka_test_vectors():
    vectors = {
        "21": -973932308,
        "foobar": -790332482,
        "a-little-bit-long-string": -985981536,
        "a-little-bit-longer-string": -1486304829,
        "abc": 479470107,
        "0": 971027396,
        "1": -1993445489,
        "100:48069": 1009543857,
    }
    assert {key: murmur2(key.encode()) for key in vectors} == vectors


def _check_stored(broker, topic: str, keys: list[bytes]) -> None:
    """Reads every partition back and checks each key sits where Java would have put it."""
    found = {}
    for partition in range(DEFAULT_PARTITIONS):
        for rec in consume_confluent(broker.bootstrap, topic, partition):
            found[rec.key] = partition
    expected = {key: java_partition(key, DEFAULT_PARTITIONS) for key in keys}
    assert found == expected


@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python", "aiokafka"])
def test_keys_land_on_java_partitions(broker, require, new_topic, client):
    require("Produce", "Fetch")
    topic = new_topic(f"keys-{client}")
    records = [Rec(key, b"value of " + key) for key in KEYS]
    acknowledged = CLIENTS[client].produce(broker.bootstrap, topic, records)
    wrong = [
        (r.key, r.partition, java_partition(r.key, DEFAULT_PARTITIONS))
        for r in acknowledged
        if r.partition != java_partition(r.key, DEFAULT_PARTITIONS)
    ]
    assert not wrong, f"{client} put keys on other partitions than Java would (key, got, java): {wrong[:5]}"
    _check_stored(broker, topic, KEYS)


def test_keys_land_on_java_partitions_kcat(broker, require, new_topic):
    """kcat (librdkafka 2.0.2) with partitioner=murmur2_random; keys and values from stdin."""
    require("Produce", "Fetch")
    topic = new_topic("keys-kcat")
    text_keys = [k for k in KEYS if k and all(0x21 <= b <= 0x7E for b in k)]
    lines = b"".join(key + b"\t" + b"value of " + key + b"\n" for key in text_keys)
    kcat(broker.bootstrap, "-P", "-t", topic, "-K", "\t", "-X", "partitioner=murmur2_random", input=lines)
    _check_stored(broker, topic, text_keys)
