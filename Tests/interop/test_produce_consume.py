"""Produce with each client, consume by partition from the beginning with each client (assign, no
groups), and compare byte for byte: binary values with all 256 byte values, empty and null keys,
null values, headers (duplicate names, empty and null values)."""

from __future__ import annotations

import random

import pytest

from clients import CLIENTS, Rec, kcat_safe_headers, unique_topic
from conftest import create_topic_via_metadata

ALL_BYTES = bytes(range(256))
_random = random.Random(20240917)
BIG = bytes(_random.getrandbits(8) for _ in range(200 * 1024))

# What every client (kcat too) can produce: kcat takes keys from argv (no NUL byte), values from
# files (any byte), header values as text.
COMMON = [
    Rec(b"plain-key", b"plain value", (("h1", b"v1"),)),
    Rec(None, b"null key"),
    Rec(b"tombstone", None),
    Rec(b"binary\x01\x7f\x80\xff", ALL_BYTES, (("dup", b"1"), ("dup", b"2"), ("empty", b""))),
    Rec(b"all-bytes-reversed", ALL_BYTES[::-1] * 64),
    Rec(b"big", BIG),
    Rec(b"newlines", b"\n\r\n\x00\x00\n", (("text", b"spaces are fine"),)),
]
# kafka-python and aiokafka refuse a record with neither key nor value ("Need at least one: key or value").
BOTH_NULL = [Rec(None, None)]
# kafka-python refuses null header values (it asserts bytes).
NULL_HEADER = [Rec(b"null header", b"v", (("null", None), ("after", b"x")))]
# What the Python clients add: empty keys and values, NUL in keys, binary header values.
PYTHON_EXTRA = [
    Rec(b"", b"empty key"),
    Rec(b"empty value", b""),
    Rec(b"", b""),
    Rec(ALL_BYTES, ALL_BYTES, (("bin", ALL_BYTES), ("", b"empty name"))),
    Rec("ключ".encode(), "значение ✓".encode(), (("utf8-заголовок", "значение".encode()),)),
]


def records_for(producer: str) -> list[Rec]:
    return {
        "kcat": COMMON + BOTH_NULL,
        "kafka-python": COMMON + PYTHON_EXTRA,
        "aiokafka": COMMON + PYTHON_EXTRA + NULL_HEADER,
        "confluent-kafka": COMMON + BOTH_NULL + PYTHON_EXTRA + NULL_HEADER,
    }[producer]


_produced: dict[str, tuple[str, list[Rec]]] = {}


@pytest.fixture
def produced(broker, require):
    """Produces each client's record set once (to partition 1 of its own topic) and caches it,
    so the consume tests of every client read the same data. A produce failure fails every test
    that needs it."""

    def get(producer: str) -> tuple[str, list[Rec]]:
        require("Produce")
        if producer not in _produced:
            topic = unique_topic(f"pc-{producer}")
            create_topic_via_metadata(broker, topic)
            records = records_for(producer)
            result = CLIENTS[producer].produce(broker.bootstrap, topic, records, partition=1)
            if result is not None:  # kcat reports no offsets
                assert [r.partition for r in result] == [1] * len(records)
                assert [r.offset for r in result] == list(range(len(records))), "offsets not consecutive from 0"
            _produced[producer] = (topic, records)
        return _produced[producer]

    return get


@pytest.mark.parametrize("consumer", list(CLIENTS))
@pytest.mark.parametrize("producer", list(CLIENTS))
def test_produce_then_consume_from_beginning(broker, require, produced, producer, consumer):
    topic, expected = produced(producer)
    require("Fetch", "ListOffsets")
    got = CLIENTS[consumer].consume(broker.bootstrap, topic, 1, len(expected))
    assert [r.offset for r in got] == list(range(len(expected))), f"{consumer} read offsets {[r.offset for r in got]}"
    assert all(r.partition == 1 for r in got)
    for index, (want, have) in enumerate(zip(expected, got)):
        assert have.key == want.key, f"record {index}: key {have.key!r:.80} != {want.key!r:.80}"
        assert have.value == want.value, f"record {index}: value differs ({_describe(have.value)} vs {_describe(want.value)})"
        if consumer != "kcat" or kcat_safe_headers(want.headers):
            # kcat prints headers as `k=v,...` text: compared where that text is unambiguous.
            assert list(have.headers) == list(want.headers), f"record {index}: headers {have.headers!r:.200} != {want.headers!r:.200}"
        assert have.timestamp is not None and have.timestamp > 0


def _describe(value: bytes | None) -> str:
    return "null" if value is None else f"{len(value)} bytes"


def test_empty_partitions_read_empty(broker, require):
    """The partitions nobody produced to are empty for every consumer (here: confluent-kafka and kcat)."""
    require("Fetch")
    topic = unique_topic("pc-empty")
    create_topic_via_metadata(broker, topic)
    assert CLIENTS["confluent-kafka"].consume(broker.bootstrap, topic, 0, 0) == []
    assert CLIENTS["kcat"].consume(broker.bootstrap, topic, 2, 0) == []
