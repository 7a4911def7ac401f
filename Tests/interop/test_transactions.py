"""Transactions with real clients against samsa serve: atomic across partitions and topics,
invisible to read_committed consumers until committed, gone for them when aborted, and
zombie producers fenced, consumed offsets committed with the transaction (send_offsets_to_transaction).
Crashes of the application and of the broker are in test_exactly_once.py."""

from __future__ import annotations

import time
import uuid

import pytest

from clients import CLIENT_TIMEOUT, REQUEST_TIMEOUT_MS, run_async, unique_topic


def create_topics(broker, names: list[str], partitions: int) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    for name, future in admin.create_topics([NewTopic(name, partitions, 1) for name in names], request_timeout=10).items():
        assert future.result(timeout=15) is None, name


def read_all(broker, topics: list[str], partitions: int, isolation: str) -> list[str]:
    """Every value in the topics from the start, read until the end of every partition."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap, "group.id": f"reader-{uuid.uuid4().hex[:8]}", "isolation.level": isolation,
        "enable.partition.eof": True, "enable.auto.commit": False, "socket.timeout.ms": REQUEST_TIMEOUT_MS,
    })
    assigned = [TopicPartition(topic, partition, 0) for topic in topics for partition in range(partitions)]
    consumer.assign(assigned)
    values: list[str] = []
    at_end: set[tuple[str, int]] = set()
    deadline = time.monotonic() + CLIENT_TIMEOUT
    try:
        while len(at_end) < len(assigned):
            assert time.monotonic() < deadline, f"did not reach the end of {len(assigned) - len(at_end)} partitions"
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                at_end.add((message.topic(), message.partition()))
                continue
            at_end.discard((message.topic(), message.partition()))
            values.append(message.value().decode())
    finally:
        consumer.close()
    return sorted(values)


def transactional_producer(broker, transactional_id: str):
    from confluent_kafka import Producer

    producer = Producer({
        "bootstrap.servers": broker.bootstrap, "transactional.id": transactional_id, "transaction.timeout.ms": 60_000,
        "socket.timeout.ms": REQUEST_TIMEOUT_MS,
    })
    producer.init_transactions(CLIENT_TIMEOUT)
    return producer


def test_confluent_commit_abort_commit(broker, require):
    """One transaction over 3 partitions of 2 topics is committed; the next is aborted and a
    later one committed: read_committed sees exactly the committed records (and no control
    record), read_uncommitted sees the aborted ones too, as in Kafka."""
    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    first, second = unique_topic("txn-a"), unique_topic("txn-b")
    create_topics(broker, [first, second], 3)
    producer = transactional_producer(broker, f"app-{uuid.uuid4().hex[:8]}")
    producer.begin_transaction()
    for index in range(6):
        producer.produce(first if index % 2 == 0 else second, key=str(index), value=f"committed-{index}", partition=index % 3)
    producer.commit_transaction(CLIENT_TIMEOUT)
    producer.begin_transaction()
    for index in range(3):
        producer.produce(first, value=f"aborted-{index}", partition=index)
    producer.flush(CLIENT_TIMEOUT)
    producer.abort_transaction(CLIENT_TIMEOUT)
    producer.begin_transaction()
    producer.produce(first, value="later", partition=0)
    producer.commit_transaction(CLIENT_TIMEOUT)

    committed = read_all(broker, [first, second], 3, "read_committed")
    assert committed == sorted([f"committed-{index}" for index in range(6)] + ["later"])
    everything = read_all(broker, [first, second], 3, "read_uncommitted")
    assert everything == sorted(committed + [f"aborted-{index}" for index in range(3)])


def test_confluent_zombie_is_fenced(broker, require):
    """Two producers share a transactional id: the newer one fences the older, whose later
    writes never become visible."""
    from confluent_kafka import KafkaException

    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    topic = unique_topic("txn-zombie")
    create_topics(broker, [topic], 1)
    transactional_id = f"zombie-{uuid.uuid4().hex[:8]}"
    zombie = transactional_producer(broker, transactional_id)
    zombie.begin_transaction()
    zombie.produce(topic, value="zombie-open", partition=0)
    zombie.flush(CLIENT_TIMEOUT)
    # The new producer's InitProducerId aborts the zombie's open transaction and bumps the epoch.
    successor = transactional_producer(broker, transactional_id)
    with pytest.raises(KafkaException) as failure:
        zombie.produce(topic, value="zombie-late", partition=0)
        zombie.commit_transaction(CLIENT_TIMEOUT)
    assert failure.value.args[0].fatal() or failure.value.args[0].txn_requires_abort(), failure.value
    successor.begin_transaction()
    successor.produce(topic, value="successor", partition=0)
    successor.commit_transaction(CLIENT_TIMEOUT)
    assert read_all(broker, [topic], 1, "read_committed") == ["successor"]


def test_aiokafka_transaction(broker, require):
    """aiokafka's transactional producer: a committed and an aborted transaction."""
    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    from aiokafka import AIOKafkaProducer

    topic = unique_topic("txn-aio")
    create_topics(broker, [topic], 2)

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=f"aio-{uuid.uuid4().hex[:8]}")
        await producer.start()
        try:
            async with producer.transaction():
                for index in range(4):
                    await producer.send(topic, f"kept-{index}".encode(), partition=index % 2)
            await producer.begin_transaction()
            await producer.send(topic, b"dropped", partition=0)
            await producer.abort_transaction()
        finally:
            await producer.stop()

    run_async(scenario())
    assert read_all(broker, [topic], 2, "read_committed") == [f"kept-{index}" for index in range(4)]
    assert "dropped" in read_all(broker, [topic], 2, "read_uncommitted")


def test_confluent_send_offsets_to_transaction(broker, require):
    """Consume-transform-produce: the output records and the input offsets commit together
    (send_offsets_to_transaction); an aborted transaction moves neither."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    require("InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn", "TxnOffsetCommit", "EndTxn")
    source, sink = unique_topic("txn-in"), unique_topic("txn-out")
    create_topics(broker, [source, sink], 1)
    plain = Producer({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    for index in range(6):
        plain.produce(source, value=f"in-{index}", partition=0)
    assert plain.flush(CLIENT_TIMEOUT) == 0
    group = f"ctp-{uuid.uuid4().hex[:8]}"
    consumer = Consumer({
        "bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "isolation.level": "read_committed", "socket.timeout.ms": REQUEST_TIMEOUT_MS,
    })
    consumer.assign([TopicPartition(source, 0, 0)])
    producer = transactional_producer(broker, f"ctp-{uuid.uuid4().hex[:8]}")
    try:
        def batch(count: int) -> list:
            messages: list = []
            deadline = time.monotonic() + CLIENT_TIMEOUT
            while len(messages) < count:
                assert time.monotonic() < deadline, f"read {len(messages)} of {count}"
                message = consumer.poll(0.2)
                if message is not None and not message.error():
                    messages.append(message)
            return messages

        def committed_offset() -> int:
            return consumer.committed([TopicPartition(source, 0)], timeout=CLIENT_TIMEOUT)[0].offset

        producer.begin_transaction()
        for message in batch(4):
            producer.produce(sink, value=message.value().decode().replace("in", "out"), partition=0)
        producer.send_offsets_to_transaction(consumer.position([TopicPartition(source, 0)]), consumer.consumer_group_metadata(), CLIENT_TIMEOUT)
        producer.commit_transaction(CLIENT_TIMEOUT)
        assert committed_offset() == 4

        producer.begin_transaction()
        for message in batch(2):
            producer.produce(sink, value="never", partition=0)
        producer.send_offsets_to_transaction(consumer.position([TopicPartition(source, 0)]), consumer.consumer_group_metadata(), CLIENT_TIMEOUT)
        producer.abort_transaction(CLIENT_TIMEOUT)
        assert committed_offset() == 4, "an aborted transaction does not move the group's offset"
    finally:
        consumer.close()
    assert read_all(broker, [sink], 1, "read_committed") == [f"out-{index}" for index in range(4)]


def test_kafka_python_transaction(broker, require):
    """kafka-python's transactional producer: a committed and an aborted transaction."""
    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    from kafka import KafkaProducer

    topic = unique_topic("txn-kp")
    create_topics(broker, [topic], 2)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id=f"kp-{uuid.uuid4().hex[:8]}",
                             request_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        producer.init_transactions()
        producer.begin_transaction()
        for index in range(4):
            producer.send(topic, f"kept-{index}".encode(), partition=index % 2)
        producer.commit_transaction()
        producer.begin_transaction()
        producer.send(topic, b"dropped", partition=1)
        producer.flush()
        producer.abort_transaction()
    finally:
        producer.close(timeout=CLIENT_TIMEOUT)
    assert read_all(broker, [topic], 2, "read_committed") == [f"kept-{index}" for index in range(4)]
    assert "dropped" in read_all(broker, [topic], 2, "read_uncommitted")


def test_confluent_transaction_timeout(broker, require):
    """A producer begins a transaction, writes and goes silent: after transaction.timeout.ms the
    coordinator aborts it, read_committed consumers move past it, and the producer's commit fails."""
    from confluent_kafka import KafkaException, Producer

    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    topic = unique_topic("txn-timeout")
    create_topics(broker, [topic], 1)
    producer = Producer({
        "bootstrap.servers": broker.bootstrap, "transactional.id": f"silent-{uuid.uuid4().hex[:8]}", "transaction.timeout.ms": 3_000,
        "socket.timeout.ms": 3_000,
    })
    producer.init_transactions(CLIENT_TIMEOUT)
    producer.begin_transaction()
    producer.produce(topic, value="abandoned", partition=0)
    assert producer.flush(CLIENT_TIMEOUT) == 0
    plain = Producer({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    plain.produce(topic, value="after", partition=0)
    assert plain.flush(CLIENT_TIMEOUT) == 0
    # read_committed reaches "after" only once the abandoned transaction is aborted (its marker
    # moves the last stable offset past it): wait for that event.
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while (seen := read_all(broker, [topic], 1, "read_committed")) != ["after"]:
        assert seen == [], f"read_committed saw {seen}"
        assert time.monotonic() < deadline, "the abandoned transaction was not aborted"
    assert "abandoned" in read_all(broker, [topic], 1, "read_uncommitted")
    with pytest.raises(KafkaException):
        producer.commit_transaction(CLIENT_TIMEOUT)
