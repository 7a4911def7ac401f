"""Just enough of the Kafka wire format to talk to the broker over a raw socket.

The interoperability tests use real clients for everything a client does; this module exists for
what no client will send: malformed frames, unknown API keys, corrupt record batches. It also holds
the Java partitioner (murmur2) and CRC-32C, written from the published algorithms, so the tests do
not trust any client's implementation of them.
"""

from __future__ import annotations

import socket
import struct
import time

# --- Java's partitioner -----------------------------------------------------------------------


def murmur2(data: bytes) -> int:
    """Kafka's `Utils.murmur2`: 32-bit MurmurHash2 with seed 0x9747b28c, as a signed int32."""
    mask = 0xFFFFFFFF
    m = 0x5BD1E995
    length = len(data)
    h = (0x9747B28C ^ length) & mask
    body = length - length % 4
    for i in range(0, body, 4):
        k = data[i] | data[i + 1] << 8 | data[i + 2] << 16 | data[i + 3] << 24
        k = (k * m) & mask
        k ^= k >> 24
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    tail = length % 4
    if tail == 3:
        h ^= data[body + 2] << 16
    if tail >= 2:
        h ^= data[body + 1] << 8
    if tail >= 1:
        h ^= data[body]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def java_partition(key: bytes, partition_count: int) -> int:
    """The partition Java's `BuiltInPartitioner.partitionForKey` picks for a non-null key."""
    return (murmur2(key) & 0x7FFFFFFF) % partition_count


# --- CRC-32C (Castagnoli), for record batches ---------------------------------------------------

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# --- primitive encoders --------------------------------------------------------------------------


def int16(v: int) -> bytes:
    return struct.pack(">h", v)


def int32(v: int) -> bytes:
    return struct.pack(">i", v)


def int64(v: int) -> bytes:
    return struct.pack(">q", v)


def string(s: str | None) -> bytes:
    if s is None:
        return int16(-1)
    raw = s.encode()
    return int16(len(raw)) + raw


def nullable_bytes(b: bytes | None) -> bytes:
    if b is None:
        return int32(-1)
    return int32(len(b)) + b


def varint(v: int) -> bytes:
    """Zig-zag varint, as used inside records."""
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while True:
        byte = z & 0x7F
        z >>= 7
        if z:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


# --- record batch v2 -------------------------------------------------------------------------------


def record_batch(values: list[bytes], base_timestamp: int | None = None, corrupt_crc: bool = False) -> bytes:
    """An uncompressed, non-idempotent magic-2 batch holding `values` with null keys."""
    ts = int(time.time() * 1000) if base_timestamp is None else base_timestamp
    records = b""
    for delta, value in enumerate(values):
        body = b"\x00" + varint(0) + varint(delta) + varint(-1) + varint(len(value)) + value + varint(0)
        records += varint(len(body)) + body
    after_crc = (
        int16(0)  # attributes: no compression, CreateTime
        + int32(len(values) - 1)  # last offset delta
        + int64(ts)
        + int64(ts)
        + int64(-1)  # producer id
        + int16(-1)  # producer epoch
        + int32(-1)  # base sequence
        + int32(len(values))
        + records
    )
    crc = crc32c(after_crc)
    if corrupt_crc:
        crc ^= 0x5A5A5A5A
    after_length = int32(-1) + b"\x02" + struct.pack(">I", crc) + after_crc
    return int64(0) + int32(len(after_length)) + after_length


# --- requests -----------------------------------------------------------------------------------------


def request_header_v1(api_key: int, api_version: int, correlation_id: int, client_id: str = "interop-raw") -> bytes:
    return int16(api_key) + int16(api_version) + int32(correlation_id) + string(client_id)


def frame(payload: bytes) -> bytes:
    return int32(len(payload)) + payload


def api_versions_v0(correlation_id: int) -> bytes:
    return frame(request_header_v1(18, 0, correlation_id))


def metadata_v1(correlation_id: int, topics: list[str] | None = None) -> bytes:
    """Metadata v1; `None` asks for every topic (and never auto-creates)."""
    body = int32(-1) if topics is None else int32(len(topics)) + b"".join(string(t) for t in topics)
    return frame(request_header_v1(3, 1, correlation_id) + body)


def produce_v3(correlation_id: int, topic: str, partition: int, records: bytes, acks: int = 1) -> bytes:
    body = (
        string(None)  # transactional id
        + int16(acks)
        + int32(10_000)  # timeout ms
        + int32(1)
        + string(topic)
        + int32(1)
        + int32(partition)
        + nullable_bytes(records)
    )
    return frame(request_header_v1(0, 3, correlation_id) + body)


# --- responses --------------------------------------------------------------------------------------------


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"response truncated: need {n} bytes at {self.pos}, have {len(self.data) - self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int16(self) -> int:
        return struct.unpack(">h", self.take(2))[0]

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def string(self) -> str | None:
        n = self.int16()
        return None if n < 0 else self.take(n).decode()


def parse_api_versions_v0(body: bytes) -> tuple[int, dict[int, tuple[int, int]]]:
    """(error code, {api key: (min, max)}) from an ApiVersions v0 response body."""
    r = Reader(body)
    error = r.int16()
    keys = {}
    for _ in range(r.int32()):
        key, low, high = r.int16(), r.int16(), r.int16()
        keys[key] = (low, high)
    return error, keys


def parse_metadata_v1(body: bytes) -> tuple[list[tuple[int, str, int]], dict[str, tuple[int, int]]]:
    """(brokers [(id, host, port)], {topic: (error code, partition count)}) from Metadata v1."""
    r = Reader(body)
    brokers = []
    for _ in range(r.int32()):
        node, host, port, _rack = r.int32(), r.string(), r.int32(), r.string()
        brokers.append((node, host, port))
    r.int32()  # controller id
    topics = {}
    for _ in range(r.int32()):
        error, name, _internal = r.int16(), r.string(), r.take(1)
        count = r.int32()
        for _ in range(count):
            r.int16(), r.int32(), r.int32()  # error, index, leader
            for _ in range(r.int32()):
                r.int32()  # replicas
            for _ in range(r.int32()):
                r.int32()  # isr
        topics[name] = (error, count)
    return brokers, topics


def parse_produce_v3(body: bytes) -> dict[tuple[str, int], tuple[int, int]]:
    """{(topic, partition): (error code, base offset)} from a Produce v3 response body."""
    r = Reader(body)
    result = {}
    for _ in range(r.int32()):
        name = r.string()
        for _ in range(r.int32()):
            index, error, base_offset, _append_time = r.int32(), r.int16(), r.int64(), r.int64()
            result[(name, index)] = (error, base_offset)
    return result


# --- a tiny blocking connection ---------------------------------------------------------------------------


class ConnectionClosed(Exception):
    """The broker closed the connection (what Kafka does with requests it cannot parse)."""


class RawConnection:
    """One TCP connection with a receive timeout on every read."""

    def __init__(self, host: str, port: int, timeout: float = 5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def next_id(self) -> int:
        self.correlation_id += 1
        return self.correlation_id

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _read_exactly(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except ConnectionResetError as error:
                raise ConnectionClosed("connection reset") from error
            if not chunk:
                raise ConnectionClosed(f"connection closed after {len(out)} of {n} bytes")
            out += chunk
        return bytes(out)

    def receive(self, correlation_id: int) -> bytes:
        """The next response's body (after a v0 response header), checking its correlation id."""
        size = struct.unpack(">i", self._read_exactly(4))[0]
        payload = self._read_exactly(size)
        got = struct.unpack(">i", payload[:4])[0]
        if got != correlation_id:
            raise AssertionError(f"correlation id {got} in response, expected {correlation_id}")
        return payload[4:]

    def expect_closed(self, within: float = 5.0) -> None:
        """Waits for the broker to close the connection; fails if it answers or stays open."""
        self.sock.settimeout(within)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            return
        except socket.timeout:
            raise AssertionError(f"the broker kept the connection open for {within}s") from None
        if data:
            raise AssertionError(f"the broker answered instead of closing the connection: {data[:64]!r}")

    def api_versions(self) -> dict[int, tuple[int, int]]:
        cid = self.next_id()
        self.send(api_versions_v0(cid))
        error, keys = parse_api_versions_v0(self.receive(cid))
        if error != 0:
            raise AssertionError(f"ApiVersions v0 answered error {error}")
        return keys

    def metadata(self, topics: list[str] | None = None):
        cid = self.next_id()
        self.send(metadata_v1(cid, topics))
        return parse_metadata_v1(self.receive(cid))

    def produce(self, topic: str, partition: int, records: bytes, acks: int = 1):
        cid = self.next_id()
        self.send(produce_v3(cid, topic, partition, records, acks))
        return parse_produce_v3(self.receive(cid))

    def fetch(self, topic: str, partition: int, offset: int = 0):
        cid = self.next_id()
        self.send(fetch_v4(cid, topic, partition, offset))
        return parse_fetch_v4(self.receive(cid))[(topic, partition)]

    def stored_batches(self, topic: str, partition: int) -> list[BatchHeader]:
        """Every batch of a partition, read with raw Fetch v4 requests from offset 0."""
        batches: list[BatchHeader] = []
        offset = 0
        while True:
            error, high_watermark, records = self.fetch(topic, partition, offset)
            assert error == 0, f"Fetch v4 of {topic}[{partition}] at {offset}: error {error}"
            found = [b for b in batch_headers(records or b"") if b.base_offset + b.last_offset_delta >= offset]
            if not found:
                return batches
            batches += found
            offset = found[-1].base_offset + found[-1].last_offset_delta + 1
            if offset >= high_watermark:
                return batches


# --- raw Fetch, to look at the stored batches themselves ------------------------------------------------


def fetch_v4(correlation_id: int, topic: str, partition: int, offset: int, max_bytes: int = 4 << 20) -> bytes:
    body = (
        int32(-1)  # replica id: a consumer
        + int32(100)  # max wait ms
        + int32(0)  # min bytes
        + int32(max_bytes)
        + b"\x00"  # read_uncommitted
        + int32(1)
        + string(topic)
        + int32(1)
        + int32(partition)
        + int64(offset)
        + int32(max_bytes)
    )
    return frame(request_header_v1(1, 4, correlation_id) + body)


def parse_fetch_v4(body: bytes) -> dict[tuple[str, int], tuple[int, int, bytes | None]]:
    """{(topic, partition): (error code, high watermark, record bytes)} from a Fetch v4 response."""
    r = Reader(body)
    r.int32()  # throttle time
    result = {}
    for _ in range(r.int32()):
        name = r.string()
        for _ in range(r.int32()):
            index, error, high_watermark, _lso = r.int32(), r.int16(), r.int64(), r.int64()
            aborted = r.int32()
            for _ in range(max(aborted, 0)):
                r.int64(), r.int64()
            size = r.int32()
            records = None if size < 0 else r.take(size)
            result[(name, index)] = (error, high_watermark, records)
    return result



class BatchHeader:
    """The fixed 61-byte header of one magic-2 record batch (protocol.md §2.3)."""

    def __init__(self, data: bytes):
        r = Reader(data)
        self.base_offset = r.int64()
        self.length = r.int32()
        self.leader_epoch = r.int32()
        self.magic = r.take(1)[0]
        self.crc = struct.unpack(">I", r.take(4))[0]
        self.attributes = r.int16()
        self.last_offset_delta = r.int32()
        self.base_timestamp = r.int64()
        self.max_timestamp = r.int64()
        self.producer_id = r.int64()
        self.producer_epoch = r.int16()
        self.base_sequence = r.int32()
        self.record_count = r.int32()
        self.crc_ok = crc32c(data[21 : 12 + self.length]) == self.crc

    @property
    def codec(self) -> int:
        return self.attributes & 0x07


def batch_headers(records: bytes) -> list[BatchHeader]:
    """The headers of the complete batches in a Fetch response's record bytes."""
    headers = []
    pos = 0
    while pos + 61 <= len(records):
        length = struct.unpack(">i", records[pos + 8 : pos + 12])[0]
        end = pos + 12 + length
        if end > len(records):
            break  # a partial batch at the end is allowed
        headers.append(BatchHeader(records[pos:end]))
        pos = end
    return headers
