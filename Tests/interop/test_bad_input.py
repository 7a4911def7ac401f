"""Bad input over raw sockets: each gets Kafka's error code or a closed connection, and the broker
goes on serving the other clients (a connection opened before, and a new one)."""

from __future__ import annotations

import socket

import pytest

from conftest import MAX_FRAME_BYTES, create_topic_via_metadata
from clients import unique_topic
from kafka_wire import (
    RawConnection,
    frame,
    int16,
    int32,
    produce_v3,
    record_batch,
    request_header_v1,
    string,
)

CORRUPT_MESSAGE = 2
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_RECORD = 87


@pytest.fixture
def bystander(broker):
    """A client connected before the bad input; it must still be answered afterwards."""
    conn = RawConnection(broker.host, broker.port)
    conn.api_versions()
    yield conn
    try:
        _brokers, _topics = conn.metadata(None)
        fresh = RawConnection(broker.host, broker.port)
        assert 3 in fresh.api_versions()
        fresh.metadata(None)
        fresh.close()
    finally:
        conn.close()
    assert broker.is_running(), f"the broker died:\n{broker.log_tail()}"


def test_frame_over_the_size_limit_closes_connection(broker, bystander):
    with RawConnection(broker.host, broker.port) as conn:
        conn.send(int32(MAX_FRAME_BYTES + 1) + request_header_v1(18, 0, 1) + b"\x00" * 1000)
        conn.expect_closed()


def test_huge_and_negative_lengths_close_connection(broker, bystander):
    for size in (0x7FFFFFFF, -1, -(2**31)):
        with RawConnection(broker.host, broker.port) as conn:
            conn.send(int32(size) + b"\x00" * 16)
            conn.expect_closed()


def test_empty_and_tiny_frames_close_connection(broker, bystander):
    """A frame too short to hold a request header."""
    for payload in (b"", b"\x00", b"\x00\x12\x00"):
        with RawConnection(broker.host, broker.port) as conn:
            conn.send(frame(payload))
            conn.expect_closed()


def test_unknown_api_key_closes_connection(broker, bystander):
    for key in (999, 32767, -1):
        with RawConnection(broker.host, broker.port) as conn:
            conn.send(frame(request_header_v1(key, 0, 1)))
            conn.expect_closed()


def test_unsupported_version_of_known_api_closes_connection(broker, bystander):
    """Kafka answers only ApiVersions at an unknown version; any other API is a closed connection."""
    with RawConnection(broker.host, broker.port) as conn:
        conn.send(frame(request_header_v1(3, 999, 1) + int32(-1)))
        conn.expect_closed()


def test_truncated_frame_then_hang_up(broker, bystander):
    """The length promises more than arrives: the broker waits, then sees the client leave."""
    conn = RawConnection(broker.host, broker.port)
    conn.send(int32(200) + request_header_v1(18, 0, 1))
    conn.sock.shutdown(socket.SHUT_WR)
    conn.expect_closed()
    conn.close()


def test_truncated_frame_does_not_block_others(broker, bystander):
    """A client that sends half a frame and goes quiet holds up no one else."""
    with RawConnection(broker.host, broker.port) as stalled:
        stalled.send(int32(100) + request_header_v1(3, 1, 1)[:5])
        # The bystander's socket timeout bounds the wait: an answer at all means no one waited
        # on the stalled frame.
        assert 3 in bystander.api_versions()


def test_lying_lengths_inside_a_request_close_connection(broker, bystander):
    """Lengths inside the body that point past the end of the frame."""
    header = request_header_v1(3, 1, 1)
    bodies = {
        "array count far beyond the frame": int32(1_000_000),
        "string longer than the frame": int32(1) + int16(5000) + b"abc",
        "client id longer than the frame": None,
    }
    for name, body in bodies.items():
        with RawConnection(broker.host, broker.port) as conn:
            if body is None:
                conn.send(frame(int16(3) + int16(1) + int32(1) + int16(300) + b"short"))
            else:
                conn.send(frame(header + body))
            try:
                conn.expect_closed()
            except AssertionError as error:
                raise AssertionError(f"{name}: {error}") from None


def test_lying_records_length_in_produce_closes_connection(broker, require, bystander):
    require("Produce")
    topic = unique_topic("bad-len")
    create_topic_via_metadata(broker, topic)
    batch = record_batch([b"x"])
    body = string(None) + int16(1) + int32(5000) + int32(1) + string(topic) + int32(1) + int32(0) + int32(len(batch) + 500) + batch
    with RawConnection(broker.host, broker.port) as conn:
        conn.send(frame(request_header_v1(0, 3, 1) + body))
        conn.expect_closed()


def test_produce_to_unknown_topic_or_partition(broker, require, bystander):
    require("Produce")
    with RawConnection(broker.host, broker.port) as conn:
        missing = unique_topic("never-created")
        result = conn.produce(missing, 0, record_batch([b"x"]))
        assert result[(missing, 0)][0] == UNKNOWN_TOPIC_OR_PARTITION, result
        # Kafka's Produce never creates topics, whatever auto.create.topics.enable says.
        assert missing not in conn.metadata(None)[1]

        topic = unique_topic("bad-partition")
        create_topic_via_metadata(broker, topic)
        result = conn.produce(topic, 99, record_batch([b"x"]))
        assert result[(topic, 99)][0] == UNKNOWN_TOPIC_OR_PARTITION, result
        # The same connection goes on: a good produce to a real partition.
        result = conn.produce(topic, 0, record_batch([b"good"]))
        assert result[(topic, 0)] == (0, 0), result


def test_corrupt_batch_gets_corrupt_message(broker, require, bystander):
    require("Produce")
    topic = unique_topic("bad-crc")
    create_topic_via_metadata(broker, topic)
    with RawConnection(broker.host, broker.port) as conn:
        result = conn.produce(topic, 0, record_batch([b"one", b"two"], corrupt_crc=True))
        assert result[(topic, 0)][0] == CORRUPT_MESSAGE, result
        # Nothing was appended, and the connection goes on.
        result = conn.produce(topic, 0, record_batch([b"good"]))
        assert result[(topic, 0)] == (0, 0), result


def test_truncated_batch_is_rejected(broker, require, bystander):
    """A batch whose own length runs past the records field: Kafka finds no complete batch
    (INVALID_RECORD) or calls it corrupt (CORRUPT_MESSAGE)."""
    require("Produce")
    topic = unique_topic("bad-batch")
    create_topic_via_metadata(broker, topic)
    batch = record_batch([b"abcdef" * 10])
    with RawConnection(broker.host, broker.port) as conn:
        result = conn.produce(topic, 0, batch[:-7])
        assert result[(topic, 0)][0] in (CORRUPT_MESSAGE, INVALID_RECORD), result
        result = conn.produce(topic, 0, batch)
        assert result[(topic, 0)] == (0, 0), result


def test_acks_zero_gets_no_response_but_is_stored(broker, require, bystander):
    """acks=0: no response at all; the next request's response comes next on the connection."""
    require("Produce")
    topic = unique_topic("acks0")
    create_topic_via_metadata(broker, topic)
    with RawConnection(broker.host, broker.port) as conn:
        conn.send(produce_v3(conn.next_id(), topic, 0, record_batch([b"fire and forget"]), acks=0))
        result = conn.produce(topic, 0, record_batch([b"acknowledged"]))
        assert result[(topic, 0)] == (0, 1), result
