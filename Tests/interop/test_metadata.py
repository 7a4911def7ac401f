"""ApiVersions and Metadata, as each client sees them."""

from __future__ import annotations

import json

from clients import REQUEST_TIMEOUT_MS, kcat, run_async
from conftest import API_KEYS, DEFAULT_PARTITIONS
from kafka_wire import RawConnection, frame, parse_api_versions_v0, request_header_v1


def test_api_versions_lists_itself_and_metadata(advertised):
    assert advertised[API_KEYS["ApiVersions"]][0] == 0, "ApiVersions must accept v0 (every client starts there)"
    assert advertised[API_KEYS["ApiVersions"]][1] >= 3, "ApiVersions v3+ (KIP-511) is what Java and kafka-python send"
    assert API_KEYS["Metadata"] in advertised


def test_api_versions_at_unknown_version_answers_error_35(broker):
    """KIP-511: a v0 body with UNSUPPORTED_VERSION and our ApiVersions range; the client retries lower."""
    with RawConnection(broker.host, broker.port) as conn:
        conn.send(frame(request_header_v1(18, 99, 7) + b"\x00"))
        error, keys = parse_api_versions_v0(conn.receive(7))
        assert error == 35
        assert 18 in keys and keys[18][0] == 0
        # The connection stays usable.
        assert 3 in conn.api_versions()


def test_advertised_ranges_switch_on_librdkafka_features(advertised):
    """librdkafka 2.0.2 (kcat) enables a feature only if one exact version lies inside the
    advertised range (protocol.md §1.3). Checked for every API the broker advertises."""
    needs = {
        "Produce": [0, 3, 7],  # 0: compression at all (< 2.11.1), 3: MsgVer2, 7: ZSTD
        "Fetch": [4, 10],
        "ListOffsets": [1],
        "InitProducerId": [0],
        "FindCoordinator": [0],  # also gates LZ4
        "JoinGroup": [0],
    }
    problems = []
    for name, versions in needs.items():
        key = API_KEYS[name]
        if key not in advertised:
            continue
        low, high = advertised[key]
        for version in versions:
            if not low <= version <= high:
                problems.append(f"{name} advertises {low}-{high}, which lacks v{version}")
    assert not problems, "; ".join(problems)


def _check_one_broker(host: str, port: int, broker) -> None:
    assert (host, port) == (broker.host, broker.port), f"advertised {host}:{port}, listening on {broker.bootstrap}"


def test_metadata_confluent_kafka(broker, new_topic):
    from confluent_kafka.admin import AdminClient

    topic = new_topic("meta-ck")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    cluster = admin.list_topics(timeout=10)
    assert len(cluster.brokers) == 1
    only = next(iter(cluster.brokers.values()))
    _check_one_broker(only.host, only.port, broker)
    assert cluster.controller_id == only.id
    assert topic in cluster.topics
    described = cluster.topics[topic]
    assert described.error is None
    assert sorted(described.partitions) == list(range(DEFAULT_PARTITIONS))
    for partition in described.partitions.values():
        assert partition.leader == only.id
        assert partition.replicas == [only.id] and partition.isrs == [only.id]


def test_metadata_kafka_python(broker, new_topic):
    from kafka import KafkaAdminClient, KafkaConsumer

    topic = new_topic("meta-kp")
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS, api_version_auto_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        assert topic in consumer.topics()
        assert consumer.partitions_for_topic(topic) == set(range(DEFAULT_PARTITIONS))
    finally:
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS, api_version_auto_timeout_ms=REQUEST_TIMEOUT_MS)
    try:
        cluster = admin.describe_cluster()
        assert len(cluster["brokers"]) == 1
        _check_one_broker(cluster["brokers"][0]["host"], cluster["brokers"][0]["port"], broker)
        [described] = admin.describe_topics([topic])
        assert described["error_code"] == 0
        assert sorted(p.get("partition_index", p.get("partition")) for p in described["partitions"]) == list(range(DEFAULT_PARTITIONS))
    finally:
        admin.close()


def test_metadata_aiokafka(broker, new_topic):
    from aiokafka import AIOKafkaConsumer

    topic = new_topic("meta-aio")

    async def scenario():
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, request_timeout_ms=REQUEST_TIMEOUT_MS)
        await consumer.start()
        try:
            assert topic in await consumer.topics()
            # The consumer's own cache holds only assigned topics: ask the client for all of them.
            cluster = await consumer._client.fetch_all_metadata()
            assert cluster.partitions_for_topic(topic) == set(range(DEFAULT_PARTITIONS))
            brokers = cluster.brokers()
            assert len(brokers) == 1
            only = next(iter(brokers))
            _check_one_broker(only.host, only.port, broker)
        finally:
            await consumer.stop()

    run_async(scenario())


def test_metadata_kcat(broker, new_topic):
    topic = new_topic("meta-kcat")
    listing = json.loads(kcat(broker.bootstrap, "-L", "-J").stdout)
    assert [b["name"] for b in listing["brokers"]] == [f"{broker.host}:{broker.port}"]
    topics = {t["topic"]: t for t in listing["topics"]}
    assert topic in topics
    partitions = topics[topic]["partitions"]
    assert sorted(p["partition"] for p in partitions) == list(range(DEFAULT_PARTITIONS))
    node = listing["brokers"][0]["id"]
    for p in partitions:
        assert p["leader"] == node
        assert [r["id"] for r in p["replicas"]] == [node]
        assert [r["id"] for r in p["isrs"]] == [node]
