"""Creating and deleting topics with each client's admin API (kcat: by auto-creation)."""

from __future__ import annotations

import json
import time

import pytest

from clients import CLIENT_TIMEOUT, REQUEST_TIMEOUT_MS, Rec, consume_confluent, kcat, produce_confluent, run_async, unique_topic
from conftest import DEFAULT_PARTITIONS
from kafka_wire import RawConnection

ADMIN_TIMEOUT = 15


def listed_topics(broker) -> dict[str, tuple[int, int]]:
    """Every topic, by a Metadata v1 request for all topics (which never auto-creates)."""
    with RawConnection(broker.host, broker.port) as conn:
        return conn.metadata(None)[1]


def confluent_admin(broker):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})


def kafka_python_admin(broker):
    from kafka import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS, api_version_auto_timeout_ms=REQUEST_TIMEOUT_MS)


def confluent_error_code(future) -> int:
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException) as caught:
        future.result(timeout=ADMIN_TIMEOUT)
    return caught.value.args[0].code()


def test_create_topic_confluent_kafka(broker, require):
    from confluent_kafka import KafkaError
    from confluent_kafka.admin import NewTopic

    require("CreateTopics")
    admin = confluent_admin(broker)
    name = unique_topic("create-ck")
    futures = admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)], request_timeout=10)
    assert futures[name].result(timeout=ADMIN_TIMEOUT) is None
    described = admin.list_topics(topic=name, timeout=10).topics[name]
    assert described.error is None and sorted(described.partitions) == [0, 1, 2]

    # Kafka's errors: a duplicate, a bad name, a replication factor this single broker cannot meet.
    again = admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)], request_timeout=10)
    assert confluent_error_code(again[name]) == KafkaError.TOPIC_ALREADY_EXISTS
    bad = "bad/name"
    assert confluent_error_code(admin.create_topics([NewTopic(bad, 1, 1)], request_timeout=10)[bad]) == KafkaError.TOPIC_EXCEPTION  # Kafka's INVALID_TOPIC_EXCEPTION (17)
    wide = unique_topic("create-rf3")
    assert confluent_error_code(admin.create_topics([NewTopic(wide, 1, 3)], request_timeout=10)[wide]) == KafkaError.INVALID_REPLICATION_FACTOR

    # validate_only checks without creating.
    dry = unique_topic("create-dry")
    assert admin.create_topics([NewTopic(dry, 2, 1)], validate_only=True, request_timeout=10)[dry].result(timeout=ADMIN_TIMEOUT) is None
    assert dry not in listed_topics(broker)


def test_create_topic_kafka_python(broker, require):
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    require("CreateTopics")
    admin = kafka_python_admin(broker)
    try:
        name = unique_topic("create-kp")
        response = admin.create_topics([NewTopic(name, 3, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
        errors = [t[1] for t in response.topic_errors] if hasattr(response, "topic_errors") else [0]
        assert errors == [0], response
        assert listed_topics(broker)[name] == (0, 3)
        with pytest.raises(TopicAlreadyExistsError):
            admin.create_topics([NewTopic(name, 3, 1)], timeout_ms=REQUEST_TIMEOUT_MS)
    finally:
        admin.close()


def test_create_topic_aiokafka(broker, require):
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    require("CreateTopics")
    name = unique_topic("create-aio")

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        await admin.start()
        try:
            response = await admin.create_topics([NewTopic(name, 3, 1)])
            assert [t[1] for t in response.topic_errors] == [0], response
            described = await admin.describe_topics([name])
            assert sorted(p.get("partition", p.get("partition_index")) for p in described[0]["partitions"]) == [0, 1, 2], described
        finally:
            await admin.close()

    run_async(scenario())
    assert listed_topics(broker)[name] == (0, 3)


def test_create_topic_kcat_by_auto_creation(broker):
    """kcat has no admin commands: asking for an unknown topic's metadata creates it with the
    broker's num.partitions (3 here)."""
    name = unique_topic("create-kcat")
    deadline = time.monotonic() + CLIENT_TIMEOUT
    while True:
        listing = json.loads(kcat(broker.bootstrap, "-L", "-J", "-t", name).stdout)
        [topic] = [t for t in listing["topics"] if t["topic"] == name]
        if "error" not in topic or time.monotonic() > deadline:
            break
        time.sleep(0.2)  # LEADER_NOT_AVAILABLE while being created, as Kafka answers
    assert "error" not in topic, topic
    assert sorted(p["partition"] for p in topic["partitions"]) == list(range(DEFAULT_PARTITIONS))
    assert listed_topics(broker)[name] == (0, DEFAULT_PARTITIONS)


def test_delete_topic_confluent_kafka(broker, require, new_topic):
    from confluent_kafka import KafkaError

    require("DeleteTopics")
    admin = confluent_admin(broker)
    name = new_topic("delete-ck")
    assert admin.delete_topics([name], request_timeout=10)[name].result(timeout=ADMIN_TIMEOUT) is None
    assert name not in listed_topics(broker)
    assert confluent_error_code(admin.delete_topics([name], request_timeout=10)[name]) == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_delete_topic_kafka_python(broker, require, new_topic):
    from kafka.errors import UnknownTopicOrPartitionError

    require("DeleteTopics")
    admin = kafka_python_admin(broker)
    try:
        name = new_topic("delete-kp")
        admin.delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)
        assert name not in listed_topics(broker)
        with pytest.raises(UnknownTopicOrPartitionError):
            admin.delete_topics([name], timeout_ms=REQUEST_TIMEOUT_MS)
    finally:
        admin.close()


def test_delete_topic_aiokafka(broker, require, new_topic):
    from aiokafka.admin import AIOKafkaAdminClient

    require("DeleteTopics")
    name = new_topic("delete-aio")

    async def scenario():
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        await admin.start()
        try:
            response = await admin.delete_topics([name])
            assert [t[1] for t in response.topic_error_codes] == [0], response
        finally:
            await admin.close()

    run_async(scenario())
    assert name not in listed_topics(broker)


def test_deleted_topic_comes_back_empty(broker, require, new_topic):
    """Deleting removes the data: a topic created again under the same name starts at offset 0."""
    require("DeleteTopics", "Produce", "Fetch")
    admin = confluent_admin(broker)
    name = new_topic("delete-data")
    produce_confluent(broker.bootstrap, name, [Rec(b"k", b"before delete")], partition=0)
    assert admin.delete_topics([name], request_timeout=10)[name].result(timeout=ADMIN_TIMEOUT) is None
    new_topic_name = name
    with RawConnection(broker.host, broker.port) as conn:
        conn.metadata([new_topic_name])  # auto-creates it again
    acknowledged = produce_confluent(broker.bootstrap, name, [Rec(b"k", b"after delete")], partition=0)
    assert acknowledged[0].offset == 0
    assert [r.value for r in consume_confluent(broker.bootstrap, name, 0)] == [b"after delete"]
