#!/usr/bin/env python3
"""Runs one scenario of one Python Kafka client against the capturing listener.

    drive_clients.py CLIENT SCENARIO --bootstrap 127.0.0.1:PORT

CLIENT is confluent-kafka, kafka-python or aiokafka. SCENARIO is one of
metadata, produce-none, produce-gzip, produce-snappy, produce-lz4,
produce-zstd, produce-idempotent, admin, consume (not every client has every
one: see SCENARIOS). Every scenario uses the client id "<CLIENT>-<SCENARIO>",
so each captured frame says which client and scenario sent it, and the record
contents below, which the golden tests check. capture-all.sh bounds each run
with a timeout; the clients' own timeouts are kept short as well.
"""
import argparse
import asyncio
import sys

RECORD_COUNT = 3
HEADERS = [("trace", b"golden")]


def record(i):
    """The i-th record every driver sends: values repeat text so every codec really compresses them."""
    return b"key-%d" % i, b"value-%d " % i + b"golden-frame " * 10


def codec_of(scenario):
    codec = scenario.removeprefix("produce-")
    return None if codec in ("none", "idempotent") else codec


def topic_of(scenario):
    return "golden-" + scenario.removeprefix("produce-")


# --- confluent-kafka (librdkafka 2.x wheel) ---------------------------------

def confluent(scenario, bootstrap, client_id):
    from confluent_kafka import Consumer, OFFSET_BEGINNING, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    base = {"bootstrap.servers": bootstrap, "client.id": client_id, "socket.timeout.ms": 10000}
    if scenario == "metadata":
        metadata = AdminClient(base).list_topics(topic="golden-metadata", timeout=10)
        assert "golden-metadata" in metadata.topics
    elif scenario.startswith("produce-"):
        conf = dict(base, **{"linger.ms": 100, "message.timeout.ms": 10000,
                             "compression.type": codec_of(scenario) or "none",
                             "enable.idempotence": scenario == "produce-idempotent"})
        producer = Producer(conf)
        for i in range(RECORD_COUNT):
            key, value = record(i)
            producer.produce(topic_of(scenario), key=key, value=value, headers=HEADERS, partition=0)
        assert producer.flush(15) == 0, "records left unsent"
    elif scenario == "admin":
        admin = AdminClient(base)
        for future in admin.create_topics([NewTopic("golden-admin", 3, 1)], request_timeout=10).values():
            future.result(timeout=15)
        for future in admin.delete_topics(["golden-admin"], request_timeout=10).values():
            future.result(timeout=15)
    elif scenario == "consume":
        consumer = Consumer(dict(base, **{"group.id": "golden-group", "enable.auto.commit": False}))
        consumer.assign([TopicPartition("golden-consume", 0, OFFSET_BEGINNING)])
        consumer.poll(2.0)
        consumer.close()


# --- kafka-python -----------------------------------------------------------

def kafka_python(scenario, bootstrap, client_id):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import KafkaAdminClient, NewTopic

    # The consumer wants a request timeout above its 10 s session timeout.
    common = {"bootstrap_servers": bootstrap, "client_id": client_id, "request_timeout_ms": 15000}
    if scenario == "metadata":
        producer = KafkaProducer(**common, max_block_ms=10000)
        assert producer.partitions_for("golden-metadata") == {0, 1, 2}
        producer.close(5)
    elif scenario.startswith("produce-"):
        idempotent = scenario == "produce-idempotent"
        producer = KafkaProducer(**common, linger_ms=100, max_block_ms=10000, compression_type=codec_of(scenario),
                                 enable_idempotence=idempotent, acks="all" if idempotent else 1)
        futures = []
        for i in range(RECORD_COUNT):
            key, value = record(i)
            futures.append(producer.send(topic_of(scenario), key=key, value=value, headers=HEADERS, partition=0))
        producer.flush(15)
        for future in futures:
            future.get(timeout=5)
        producer.close(5)
    elif scenario == "admin":
        admin = KafkaAdminClient(**common)
        admin.create_topics([NewTopic("golden-admin", 3, 1)], timeout_ms=10000)
        admin.delete_topics(["golden-admin"], timeout_ms=10000)
        admin.close()
    elif scenario == "consume":
        consumer = KafkaConsumer(**common, group_id="golden-group", enable_auto_commit=False,
                                 auto_offset_reset="earliest", fetch_max_wait_ms=200)
        consumer.assign([TopicPartition("golden-consume", 0)])
        consumer.poll(timeout_ms=1000)
        consumer.poll(timeout_ms=1000)
        consumer.close(autocommit=False)


# --- aiokafka ---------------------------------------------------------------

async def aiokafka_scenario(scenario, bootstrap, client_id):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    common = {"bootstrap_servers": bootstrap, "client_id": client_id, "request_timeout_ms": 10000}
    if scenario == "metadata":
        producer = AIOKafkaProducer(**common)
        await producer.start()
        try:
            assert await producer.partitions_for("golden-metadata") == {0, 1, 2}
        finally:
            await producer.stop()
    elif scenario.startswith("produce-"):
        producer = AIOKafkaProducer(**common, linger_ms=100, compression_type=codec_of(scenario),
                                    enable_idempotence=scenario == "produce-idempotent")
        await producer.start()
        try:
            futures = []
            for i in range(RECORD_COUNT):
                key, value = record(i)
                futures.append(await producer.send(topic_of(scenario), value=value, key=key, partition=0,
                                                   headers=HEADERS))
            await asyncio.gather(*futures)
        finally:
            await producer.stop()
    elif scenario == "admin":
        admin = AIOKafkaAdminClient(**common)
        await admin.start()
        try:
            await admin.create_topics([NewTopic("golden-admin", 3, 1)], timeout_ms=10000)
            await admin.delete_topics(["golden-admin"], timeout_ms=10000)
        finally:
            await admin.close()
    elif scenario == "consume":
        consumer = AIOKafkaConsumer(**common, group_id="golden-group", enable_auto_commit=False,
                                    auto_offset_reset="earliest", fetch_max_wait_ms=200)
        await consumer.start()
        try:
            consumer.assign([TopicPartition("golden-consume", 0)])
            await consumer.getmany(timeout_ms=1500)
        finally:
            await consumer.stop()


def aiokafka(scenario, bootstrap, client_id):
    asyncio.run(asyncio.wait_for(aiokafka_scenario(scenario, bootstrap, client_id), 30))


CLIENTS = {"confluent-kafka": confluent, "kafka-python": kafka_python, "aiokafka": aiokafka}
SCENARIOS = ["metadata", "produce-none", "produce-gzip", "produce-snappy", "produce-lz4", "produce-zstd",
             "produce-idempotent", "admin", "consume"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("client", choices=sorted(CLIENTS))
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    args = parser.parse_args()
    CLIENTS[args.client](args.scenario, args.bootstrap, "%s-%s" % (args.client, args.scenario))
    print("%s %s: done" % (args.client, args.scenario), file=sys.stderr)


if __name__ == "__main__":
    main()
