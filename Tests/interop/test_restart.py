"""Restart the broker between produce and consume: every acknowledged record is still there, and
the topics keep their partition counts."""

from __future__ import annotations

import pytest

from clients import CLIENTS, Rec, consume_confluent, unique_topic
from conftest import DEFAULT_PARTITIONS, create_topic_via_metadata
from kafka_wire import RawConnection

PRODUCERS = {
    "confluent-kafka": {"acks": "all"},
    "kafka-python": {"acks": "all"},
    "aiokafka": {"acks": "all"},
}


def _produce_everywhere(broker, topic: str) -> list[Rec]:
    acknowledged = []
    for client, config in PRODUCERS.items():
        records = [Rec(f"{client}-{i}".encode(), f"{client} record {i} ".encode() * 10) for i in range(100)]
        acknowledged += CLIENTS[client].produce(broker.bootstrap, topic, records, **config)
    return acknowledged


def _check_after_restart(broker, topic: str, acknowledged: list[Rec]) -> None:
    with RawConnection(broker.host, broker.port) as conn:
        _brokers, topics = conn.metadata(None)
    assert topics.get(topic) == (0, DEFAULT_PARTITIONS), f"after the restart the topic is {topics.get(topic)}"
    for partition in range(DEFAULT_PARTITIONS):
        stored = {(r.offset, r.key, r.value) for r in consume_confluent(broker.bootstrap, topic, partition)}
        wanted = {(r.offset, r.key, r.value) for r in acknowledged if r.partition == partition}
        lost = wanted - stored
        assert not lost, f"{len(lost)} acknowledged records of partition {partition} are gone after the restart, e.g. {sorted(lost)[:3]}"


def test_clean_restart_keeps_acknowledged_records(broker, require):
    require("Produce", "Fetch")
    topic = unique_topic("restart")
    create_topic_via_metadata(broker, topic)
    acknowledged = _produce_everywhere(broker, topic)
    broker.restart()
    _check_after_restart(broker, topic, acknowledged)
    # And the log goes on after the restart, at the next offsets.
    more = CLIENTS["confluent-kafka"].produce(broker.bootstrap, topic, [Rec(b"after", b"restart")], partition=0)
    before = max(r.offset for r in acknowledged if r.partition == 0)
    assert more[0].offset == before + 1


def test_kill_restart_keeps_acks_all_records(broker, require):
    """SIGKILL right after the acknowledgements: acks=all means the data was fsynced first."""
    require("Produce", "Fetch")
    topic = unique_topic("crash")
    create_topic_via_metadata(broker, topic)
    acknowledged = _produce_everywhere(broker, topic)
    broker.restart(hard=True)
    _check_after_restart(broker, topic, acknowledged)


@pytest.mark.parametrize("hard", [False, True], ids=["sigterm", "sigkill"])
def test_restart_keeps_topics(broker, hard):
    """Topic metadata (names, partition counts) survives a restart even with no data in it."""
    names = [unique_topic("meta-restart") for _ in range(3)]
    for name in names:
        create_topic_via_metadata(broker, name)
    broker.restart(hard=hard)
    with RawConnection(broker.host, broker.port) as conn:
        topics = conn.metadata(None)[1]
    for name in names:
        assert topics.get(name) == (0, DEFAULT_PARTITIONS)
