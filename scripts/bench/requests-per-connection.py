#!/usr/bin/env python3
"""Time per request on one connection with 1 or many requests in flight: the broker's cost per
request, apart from any client library's batching.

    .venv/bin/python scripts/bench/requests-per-connection.py PORT produce TOPIC ACKS IN_FLIGHT COUNT [RECORDS [BYTES]]
    .venv/bin/python scripts/bench/requests-per-connection.py PORT apiversions IN_FLIGHT COUNT

`produce` sends Produce v3 requests of one batch of RECORDS records (default 1) of BYTES
bytes (default 100) to partition 0 of TOPIC (create it first) with ACKS (1 or -1); `apiversions` sends ApiVersions v0. Each run warms up with 200
requests one at a time, then keeps IN_FLIGHT requests outstanding and prints the microseconds
per request. Needs kafka-python (in the test venv) only to build the record batch.
"""

import socket
import struct
import sys
import time


def produce_frame(topic: bytes, acks: int, batch: bytes, correlation_id: int) -> bytes:
    body = (
        struct.pack(">h", -1)  # no transactional id
        + struct.pack(">hi", acks, 30000)
        + struct.pack(">i", 1) + struct.pack(">h", len(topic)) + topic
        + struct.pack(">i", 1) + struct.pack(">i", 0) + struct.pack(">i", len(batch)) + batch
    )
    return frame(0, 3, correlation_id, body)


def frame(api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
    message = struct.pack(">hhi", api_key, version, correlation_id) + struct.pack(">h", 5) + b"bench" + body
    return struct.pack(">i", len(message)) + message


class Connection:
    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port))
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.socket.sendall(data)

    def receive(self) -> bytes:
        while True:
            if len(self.buffer) >= 4:
                size = struct.unpack(">i", self.buffer[:4])[0]
                if len(self.buffer) >= 4 + size:
                    answer, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
                    return answer
            chunk = self.socket.recv(1 << 20)
            if not chunk:
                raise SystemExit("the broker closed the connection")
            self.buffer += chunk


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "produce":
        from kafka.record.default_records import DefaultRecordBatchBuilder

        topic, acks, in_flight, count = sys.argv[3].encode(), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=0, is_transactional=False, producer_id=-1, producer_epoch=-1,
            base_sequence=-1, batch_size=64 << 20)
        records = int(sys.argv[7]) if len(sys.argv) > 7 else 1
        size = int(sys.argv[8]) if len(sys.argv) > 8 else 100
        for offset in range(records):
            builder.append(offset, timestamp=int(time.time() * 1000), key=None, value=b"x" * size, headers=[])
        batch = bytes(builder.build())
        request = lambda correlation_id: produce_frame(topic, acks, batch, correlation_id)
    elif mode == "apiversions":
        in_flight, count = int(sys.argv[3]), int(sys.argv[4])
        request = lambda correlation_id: frame(18, 0, correlation_id, b"")
    else:
        raise SystemExit(__doc__)
    connection = Connection(port)
    for warm_up in range(200):
        connection.send(request(warm_up))
        connection.receive()
    start = time.perf_counter()
    sent = received = 0
    while sent < min(in_flight, count):
        connection.send(request(sent))
        sent += 1
    while received < count:
        connection.receive()
        received += 1
        if sent < count:
            connection.send(request(sent))
            sent += 1
    print(f"{(time.perf_counter() - start) / count * 1e6:.1f} us per request")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main()
