"""Produce and consume with each real client, always with timeouts, in one record shape.

Every function raises (an AssertionError with the client's own words) when the client reports an
error or does not finish in time, so a test fails instead of hanging or passing vacuously.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field

CLIENT_TIMEOUT = 20.0  # seconds for one produce or consume call of a test
REQUEST_TIMEOUT_MS = 10_000

Headers = list  # list[tuple[str, bytes | None]]


@dataclass(frozen=True)
class Rec:
    """A record to produce or a record consumed (offset and partition are filled in on consume)."""

    key: bytes | None
    value: bytes | None
    headers: tuple = ()
    timestamp: int | None = None
    partition: int | None = None
    offset: int | None = None

    def content(self) -> tuple:
        return (self.key, self.value, tuple(self.headers))


def unique_topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create_topic(bootstrap: str, prefix: str, partitions: int) -> str:
    """A new topic named after `prefix`, with `partitions` partitions, created with confluent-kafka's admin client."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = unique_topic(prefix)
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    assert admin.create_topics([NewTopic(name, partitions, 1)], request_timeout=10)[name].result(timeout=15) is None
    return name


def run_async(coro, timeout: float = CLIENT_TIMEOUT):
    """Runs one aiokafka scenario on a fresh event loop, bounded by `timeout`."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


# --- confluent-kafka (librdkafka 2.x) --------------------------------------------------------------


def confluent_producer_config(bootstrap: str, **extra) -> dict:
    config = {
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",  # Java's partitioner, see protocol.md §2.7
        "message.timeout.ms": 15_000,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
        "linger.ms": 5,
    }
    config.update(extra)
    return config


def produce_confluent(bootstrap: str, topic: str, records: list[Rec], partition: int | None = None, **config) -> list[Rec]:
    """Produces `records` in order; returns them with the partition and offset each was acknowledged at."""
    from confluent_kafka import Producer

    producer = Producer(confluent_producer_config(bootstrap, **config))
    reports: list = [None] * len(records)

    def on_delivery(index):
        def callback(error, message):
            # A Message has a length (its value's), so an empty or null value makes it falsy: test for None.
            reports[index] = (error, message.partition() if message is not None else None, message.offset() if message is not None else None)

        return callback

    for index, rec in enumerate(records):
        kwargs = {"key": rec.key, "value": rec.value, "on_delivery": on_delivery(index)}
        if rec.headers:
            kwargs["headers"] = list(rec.headers)
        if rec.timestamp is not None:
            kwargs["timestamp"] = rec.timestamp
        target = rec.partition if rec.partition is not None else partition
        if target is not None:
            kwargs["partition"] = target
        producer.produce(topic, **kwargs)
        producer.poll(0)
    left = producer.flush(CLIENT_TIMEOUT)
    assert left == 0, f"confluent-kafka: {left} of {len(records)} records not delivered within {CLIENT_TIMEOUT}s"
    acknowledged = []
    for rec, report in zip(records, reports):
        assert report is not None, "confluent-kafka: no delivery report"
        error, got_partition, offset = report
        assert error is None, f"confluent-kafka delivery failed: {error}"
        acknowledged.append(Rec(rec.key, rec.value, tuple(rec.headers), rec.timestamp, got_partition, offset))
    return acknowledged


def consume_confluent(bootstrap: str, topic: str, partition: int, timeout: float = CLIENT_TIMEOUT, **extra) -> list[Rec]:
    """Everything in one partition from the beginning to its end (partition EOF), by assignment."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    config = {
        "bootstrap.servers": bootstrap,
        # confluent-kafka insists on a group id; with assign() and no commits the group is never joined.
        "group.id": f"interop-assign-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "enable.partition.eof": True,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
        "fetch.wait.max.ms": 100,
    }
    config.update(extra)
    consumer = Consumer(config)
    records: list[Rec] = []
    try:
        consumer.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, f"confluent-kafka: no end of partition {topic}[{partition}] within {timeout}s, got {len(records)} records"
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    break
                raise AssertionError(f"confluent-kafka consume error: {message.error()}")
            _kind, ts = message.timestamp()
            records.append(
                Rec(message.key(), message.value(), tuple(message.headers() or ()), ts, message.partition(), message.offset())
            )
    finally:
        consumer.close()
    return records


# --- kafka-python ----------------------------------------------------------------------------------


def kafka_python_common(bootstrap: str) -> dict:
    return {
        "bootstrap_servers": bootstrap,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
        "api_version_auto_timeout_ms": REQUEST_TIMEOUT_MS,
    }


def produce_kafka_python(bootstrap: str, topic: str, records: list[Rec], partition: int | None = None, **config) -> list[Rec]:
    from kafka import KafkaProducer

    options = {**kafka_python_common(bootstrap), "max_block_ms": REQUEST_TIMEOUT_MS, "linger_ms": 5, **config}
    producer = KafkaProducer(**options)
    try:
        futures = []
        for rec in records:
            target = rec.partition if rec.partition is not None else partition
            futures.append(
                producer.send(
                    topic, value=rec.value, key=rec.key, headers=list(rec.headers) or None, partition=target, timestamp_ms=rec.timestamp
                )
            )
        producer.flush(timeout=CLIENT_TIMEOUT)
        acknowledged = []
        for rec, future in zip(records, futures):
            metadata = future.get(timeout=CLIENT_TIMEOUT)
            acknowledged.append(Rec(rec.key, rec.value, tuple(rec.headers), rec.timestamp, metadata.partition, metadata.offset))
        return acknowledged
    finally:
        producer.close(timeout=5)


def consume_kafka_python(bootstrap: str, topic: str, partition: int, count: int, timeout: float = CLIENT_TIMEOUT) -> list[Rec]:
    """`count` records from the beginning of one partition (then half a second more, to catch extras)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        **kafka_python_common(bootstrap), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100
    )
    records: list[Rec] = []
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        deadline = time.monotonic() + timeout
        extra_until = None
        while True:
            now = time.monotonic()
            if extra_until is not None and now >= extra_until:
                break
            assert now < deadline, f"kafka-python: {len(records)} of {count} records from {topic}[{partition}] within {timeout}s"
            for batch in consumer.poll(timeout_ms=200).values():
                for m in batch:
                    records.append(Rec(m.key, m.value, tuple(m.headers or ()), m.timestamp, m.partition, m.offset))
            if len(records) >= count and extra_until is None:
                extra_until = time.monotonic() + 0.5
    finally:
        consumer.close()
    return records


# --- aiokafka ---------------------------------------------------------------------------------------------


def aiokafka_common(bootstrap: str) -> dict:
    return {"bootstrap_servers": bootstrap, "request_timeout_ms": REQUEST_TIMEOUT_MS}


def produce_aiokafka(bootstrap: str, topic: str, records: list[Rec], partition: int | None = None, **config) -> list[Rec]:
    from aiokafka import AIOKafkaProducer

    async def scenario():
        producer = AIOKafkaProducer(**aiokafka_common(bootstrap), linger_ms=5, **config)
        await producer.start()
        try:
            futures = []
            for rec in records:
                target = rec.partition if rec.partition is not None else partition
                futures.append(
                    await producer.send(
                        topic, value=rec.value, key=rec.key, partition=target, timestamp_ms=rec.timestamp, headers=list(rec.headers) or None
                    )
                )
            await producer.flush()
            acknowledged = []
            for rec, future in zip(records, futures):
                metadata = await future
                acknowledged.append(Rec(rec.key, rec.value, tuple(rec.headers), rec.timestamp, metadata.partition, metadata.offset))
            return acknowledged
        finally:
            await producer.stop()

    return run_async(scenario())


def consume_aiokafka(bootstrap: str, topic: str, partition: int, count: int, timeout: float = CLIENT_TIMEOUT) -> list[Rec]:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    async def scenario():
        consumer = AIOKafkaConsumer(**aiokafka_common(bootstrap), group_id=None, enable_auto_commit=False, fetch_max_wait_ms=100)
        await consumer.start()
        records: list[Rec] = []
        try:
            tp = TopicPartition(topic, partition)
            consumer.assign([tp])
            await consumer.seek_to_beginning(tp)
            extra_until = None
            while extra_until is None or time.monotonic() < extra_until:
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    for m in batch:
                        records.append(Rec(m.key, m.value, tuple(m.headers or ()), m.timestamp, m.partition, m.offset))
                if len(records) >= count and extra_until is None:
                    extra_until = time.monotonic() + 0.5
            return records
        finally:
            await consumer.stop()

    try:
        return run_async(scenario(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError(f"aiokafka: fewer than {count} records from {topic}[{partition}] within {timeout}s") from None


# --- kcat (librdkafka 2.0.2 from Debian) --------------------------------------------------------------------


def kcat(bootstrap: str, *args, input: bytes | None = None, timeout: float = CLIENT_TIMEOUT, check: bool = True) -> subprocess.CompletedProcess:
    command = ["kcat", "-b", bootstrap, "-X", f"socket.timeout.ms={REQUEST_TIMEOUT_MS}", *args]
    try:
        result = subprocess.run(command, input=input, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(
            f"kcat did not finish within {timeout}s: {' '.join(map(str, command))}\nstderr: {(error.stderr or b'').decode(errors='replace')[-2000:]}"
        ) from None
    if check and result.returncode != 0:
        raise AssertionError(
            f"kcat exited with {result.returncode}: {' '.join(map(str, command))}\nstderr: {result.stderr.decode(errors='replace')[-2000:]}"
        )
    return result


def _kcat_header_args(headers) -> list[str]:
    args = []
    for key, value in headers:
        assert value is not None, "kcat cannot produce null header values"
        args += ["-H", f"{key}={value.decode()}"]
    return args


def produce_kcat(bootstrap: str, topic: str, records: list[Rec], partition: int | None = None, extra: tuple = ()) -> None:
    """One kcat run per record. A value comes from a file (a file is one message, so it may hold
    any byte); a null value from an empty stdin line with -Z (kcat skips empty files). kcat prints
    no offsets; a zero exit status means every message was delivered."""
    with tempfile.TemporaryDirectory() as directory:
        for index, rec in enumerate(records):
            args = ["-P", "-t", topic, *extra]
            target = rec.partition if rec.partition is not None else partition
            if target is not None:
                args += ["-p", str(target)]
            args += _kcat_header_args(rec.headers)
            if rec.value is None:
                # `key<TAB>` with -Z: an empty key and an empty value both become NULL.
                assert rec.key is None or (rec.key and b"\t" not in rec.key and b"\n" not in rec.key)
                kcat(bootstrap, *args, "-K", "\t", "-Z", input=(rec.key or b"") + b"\t\n")
                continue
            assert rec.value, "kcat cannot send an empty value (it skips empty files)"
            path = os.path.join(directory, f"value-{index}")
            with open(path, "wb") as file:
                file.write(rec.value)
            if rec.key is not None:
                args += ["-k", rec.key]
            kcat(bootstrap, *args, path)


# Lengths first, so keys and values may hold any byte; headers last, closed by a marker that
# no test header contains (kcat renders headers as `k=v,k2=v2` with no lengths).
KCAT_HEADERS_END = b"\x1e\x1f~END~\n"
# (kcat reads up to three hex digits after \\x, so the marker continues with a non-hex character.)
KCAT_FORMAT = "%p %o %K %S %T\\n%k%s\\n%h\\x1e\\x1f~END~\\n"


def kcat_safe_headers(headers) -> bool:
    """Whether kcat's `k=v,...` rendering of these headers can be read back unambiguously."""
    for key, value in headers:
        if value is None or any(c in key for c in ",=\n"):
            return False
        if any(b < 0x20 or b > 0x7E or b in b",=" for b in value):
            return False
    return True


def consume_kcat(bootstrap: str, topic: str, partition: int, timeout: float = CLIENT_TIMEOUT) -> list[Rec]:
    """One partition from the beginning to its end (-e). Headers come back as kcat's rendering,
    parsed into (name, value) pairs; callers compare them only where `kcat_safe_headers` holds."""
    result = kcat(bootstrap, "-C", "-t", topic, "-p", str(partition), "-o", "beginning", "-e", "-f", KCAT_FORMAT, timeout=timeout)
    out = result.stdout
    records = []
    pos = 0
    while pos < len(out):
        newline = out.index(b"\n", pos)
        p, o, key_len, value_len, ts = (int(x) for x in out[pos:newline].split(b" "))
        pos = newline + 1
        key = None if key_len < 0 else out[pos : pos + key_len]
        pos += max(key_len, 0)
        value = None if value_len < 0 else out[pos : pos + value_len]
        pos += max(value_len, 0)
        assert out[pos : pos + 1] == b"\n", f"kcat output out of step at byte {pos}"
        end = out.index(KCAT_HEADERS_END, pos + 1)
        rendered = out[pos + 1 : end]
        pos = end + len(KCAT_HEADERS_END)
        headers = []
        if rendered:
            for pair in rendered.split(b","):
                name, _, header_value = pair.partition(b"=")
                headers.append((name.decode(errors="replace"), header_value))
        records.append(Rec(key, value, tuple(headers), ts, p, o))
    return records


@dataclass
class Client:
    """One client's produce and consume, for parametrized tests."""

    name: str
    produce: object
    consume: object  # (bootstrap, topic, partition, count) -> list[Rec]
    codecs: tuple = ("none", "gzip", "snappy", "lz4", "zstd")
    notes: dict = field(default_factory=dict)


def _consume_confluent_count(bootstrap, topic, partition, count, timeout=CLIENT_TIMEOUT):
    return consume_confluent(bootstrap, topic, partition, timeout)


def _consume_kcat_count(bootstrap, topic, partition, count, timeout=CLIENT_TIMEOUT):
    return consume_kcat(bootstrap, topic, partition, timeout)


CLIENTS = {
    "confluent-kafka": Client("confluent-kafka", produce_confluent, _consume_confluent_count),
    "kafka-python": Client("kafka-python", produce_kafka_python, consume_kafka_python),
    "aiokafka": Client("aiokafka", produce_aiokafka, consume_aiokafka),
    "kcat": Client("kcat", produce_kcat, _consume_kcat_count),
}
