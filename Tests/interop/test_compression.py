"""Produce with every compression codec from every client; the broker keeps the client's
compressed batches (checked with raw Fetch: codec bits and CRC) and every record reads back exactly."""

from __future__ import annotations

import pytest

from clients import Rec, consume_confluent, produce_aiokafka, produce_confluent, produce_kafka_python, produce_kcat
from kafka_wire import RawConnection

CODECS = {"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}

# Compressible on purpose: librdkafka sends a batch uncompressed when compression would not shrink it.
RECORDS = [Rec(f"key-{i % 7}".encode(), (f"record {i} " + "compressible text " * 20).encode(), (("n", str(i).encode()),)) for i in range(60)]
RECORDS += [Rec(None, bytes(range(256)) * 8), Rec(b"null value", None)]


def produce_with_codec(client: str, bootstrap: str, topic: str, codec: str) -> None:
    if client == "confluent-kafka":
        produce_confluent(bootstrap, topic, RECORDS, partition=0, **{"compression.type": codec})
    elif client == "kafka-python":
        produce_kafka_python(bootstrap, topic, RECORDS, partition=0, compression_type=None if codec == "none" else codec)
    elif client == "aiokafka":
        produce_aiokafka(bootstrap, topic, RECORDS, partition=0, compression_type=None if codec == "none" else codec)
    elif client == "kcat":
        # One kcat run per record would make one batch per record; stdin lines keep them in batches.
        from clients import kcat

        text = [r for r in RECORDS if r.key is not None and r.value is not None and b"\n" not in r.value]
        lines = b"".join(r.key + b"\t" + r.value + b"\n" for r in text)
        kcat(bootstrap, "-P", "-t", topic, "-p", "0", "-K", "\t", "-X", f"compression.codec={codec}", "-X", "linger.ms=50", input=lines)
        return text
    return RECORDS


@pytest.mark.parametrize("codec", list(CODECS))
@pytest.mark.parametrize("client", ["confluent-kafka", "kafka-python", "aiokafka", "kcat"])
def test_produce_with_codec(broker, require, new_topic, client, codec):
    require("Produce", "Fetch")
    topic = new_topic(f"codec-{codec}")
    expected = produce_with_codec(client, broker.bootstrap, topic, codec)

    with RawConnection(broker.host, broker.port) as conn:
        batches = conn.stored_batches(topic, 0)
    assert batches, "no batches stored"
    assert sum(b.record_count for b in batches) == len(expected)
    assert all(b.magic == 2 for b in batches)
    assert all(b.crc_ok for b in batches), "a stored batch fails its CRC"
    codecs = sorted({b.codec for b in batches})
    assert codecs == [CODECS[codec]], f"{client} asked for {codec} but the stored batches use codec ids {codecs}"

    got = consume_confluent(broker.bootstrap, topic, 0)
    assert [(r.key, r.value) for r in got] == [(r.key, r.value) for r in expected]
    if client != "kcat":
        assert [r.headers for r in got] == [r.headers for r in expected]
