"""Client quotas (issue 12): AlterClientQuotas over the wire, then a confluent-kafka producer
over its producer_byte_rate gets throttle times back."""

from __future__ import annotations

import struct
import uuid

from confluent_kafka import Producer

from clients import CLIENT_TIMEOUT
from kafka_wire import RawConnection, Reader, frame, int16, int32, request_header_v1, string

ALTER_CLIENT_QUOTAS = 49


def alter_client_quotas_v0(correlation_id: int, client_id: str, key: str, value: float) -> bytes:
    entity = int32(1) + string("client-id") + string(client_id)
    ops = int32(1) + string(key) + struct.pack(">d", value) + b"\x00"
    body = int32(1) + entity + ops + b"\x00"  # one entry; validate_only false
    return frame(request_header_v1(ALTER_CLIENT_QUOTAS, 0, correlation_id) + body)


def test_producer_over_its_byte_rate_quota_is_throttled(broker, new_topic):
    topic = new_topic("quota")
    client_id = f"throttled-{uuid.uuid4().hex[:6]}"
    with RawConnection(broker.host, broker.port) as conn:
        cid = conn.next_id()
        conn.send(alter_client_quotas_v0(cid, client_id, "producer_byte_rate", 1_000_000))
        reader = Reader(conn.receive(cid))
        reader.int32()  # throttle time
        assert reader.int32() == 1
        assert reader.int16() == 0, "AlterClientQuotas refused the quota"

    throttles: list[int] = []
    producer = Producer({"bootstrap.servers": broker.bootstrap, "client.id": client_id, "linger.ms": 5,
                         "throttle_cb": lambda event: throttles.append(event.throttle_time)})
    value = b"q" * 1024
    # 12 MB against 1 MB/s: over the quota once the 10-second window holds more than 10 MB.
    for _ in range(12_000):
        while True:
            try:
                producer.produce(topic, value=value)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(CLIENT_TIMEOUT * 3) == 0
    producer.poll(0)
    assert throttles and max(throttles) > 0, "the producer was never throttled"
