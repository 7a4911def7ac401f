#!/usr/bin/env python3
"""Writes the codec and record-batch test vectors in Tests/SamsaRecordsTests/Vectors.

The vectors come from the libraries real Kafka clients use (kafka-python's record builder and
codec helpers, python-lz4, zstandard, cramjam, the standard gzip module), so the Swift tests
check that Samsa reads what clients write. Run it in a virtual environment:

    python3 -m venv /tmp/codec-venv
    /tmp/codec-venv/bin/pip install kafka-python cramjam lz4 zstandard python-snappy
    /tmp/codec-venv/bin/python scripts/make-codec-vectors.py

The output is deterministic (fixed seed, gzip mtime 0), so rerunning it changes nothing.
"""
import gzip
import json
import os
import random
import struct

import cramjam
import lz4.frame
import zstandard
from kafka.codec import snappy_encode
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.util import calc_crc32c

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "SamsaRecordsTests", "Vectors")


def payload(size, seed):
    """Compressible, log-like text: words drawn from a small vocabulary."""
    rng = random.Random(seed)
    words = ["order", "created", "user", "42", "eu-west", "payment", "ok", "retry", "{", "}", "\"id\":", "null"]
    out = bytearray()
    while len(out) < size:
        out += " ".join(rng.choice(words) for _ in range(rng.randint(3, 12))).encode() + b"\n"
    return bytes(out[:size])


def xxh32(data, seed=0):
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    mask = 0xFFFFFFFF

    def rotl(x, r):
        return ((x << r) | (x >> (32 - r))) & mask

    i, n = 0, len(data)
    if n >= 16:
        v = [(seed + p1 + p2) & mask, (seed + p2) & mask, seed, (seed - p1) & mask]
        while i + 16 <= n:
            for lane in range(4):
                word = struct.unpack_from("<I", data, i + 4 * lane)[0]
                v[lane] = (rotl((v[lane] + word * p2) & mask, 13) * p1) & mask
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & mask
    else:
        h = (seed + p5) & mask
    h = (h + n) & mask
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * p3) & mask, 17) * p4) & mask
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & mask, 11) * p1) & mask
        i += 1
    h ^= h >> 15
    h = (h * p2) & mask
    h ^= h >> 13
    h = (h * p3) & mask
    h ^= h >> 16
    return h


def kafka_v0_broken_hc(frame):
    """Rewrites an LZ4 frame's header checksum the way Kafka's magic v0 computed it (KAFKA-1493):
    over the magic number as well as the descriptor."""
    flg = frame[4]
    desc_len = 2 + (8 if flg & 0x08 else 0) + (4 if flg & 0x01 else 0)
    hc = (xxh32(frame[0:4 + desc_len]) >> 8) & 0xFF
    return frame[:4 + desc_len] + bytes([hc]) + frame[4 + desc_len + 1:]


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    data = payload(70_000, seed=7)  # more than one 64 KiB lz4 block and two xerial blocks
    write("payload.bin", data)

    half = len(data) // 2
    write("gzip.bin", gzip.compress(data, mtime=0))
    write("gzip-concatenated.bin", gzip.compress(data[:half], mtime=0) + gzip.compress(data[half:], mtime=0))
    write("snappy-raw.bin", bytes(cramjam.snappy.compress_raw(data)))
    write("snappy-xerial.bin", snappy_encode(data, xerial_compatible=True))
    frame = lz4.frame.compress(data, block_linked=False)
    write("lz4-frame.bin", frame)
    write("lz4-frame-v0-header-checksum.bin", kafka_v0_broken_hc(frame))
    write("lz4-frame-checksums.bin", lz4.frame.compress(
        data, block_linked=False, block_size=lz4.frame.BLOCKSIZE_MAX256KB,
        content_checksum=True, block_checksum=True, store_size=True))
    write("lz4-frame-linked.bin", lz4.frame.compress(data, block_linked=True))
    write("zstd.bin", zstandard.ZstdCompressor(level=3).compress(data))
    write("zstd-no-content-size.bin", zstandard.ZstdCompressor(level=3, write_content_size=False).compress(data))

    # Whole batches from kafka-python's producer-side builder, one per codec.
    records = [
        {"timestamp": 1_700_000_000_000, "key": b"k0", "value": b"v0", "headers": []},
        {"timestamp": 1_700_000_000_005, "key": None, "value": b"no key", "headers": [("h", b"1"), ("empty", b"")]},
        {"timestamp": 1_699_999_999_990, "key": b"", "value": None, "headers": [("null-value", None)]},
        {"timestamp": 1_700_000_000_100, "key": b"big", "value": data[:5000], "headers": []},
    ]
    expected = {"records": [], "batches": {}}
    for index, record in enumerate(records):
        expected["records"].append({
            "offsetDelta": index,
            "timestamp": record["timestamp"],
            "key": None if record["key"] is None else record["key"].hex(),
            "value": None if record["value"] is None else record["value"].hex(),
            "headers": [[k, None if v is None else v.hex()] for k, v in record["headers"]],
        })
    for codec_id, name in enumerate(["none", "gzip", "snappy", "lz4", "zstd"]):
        builder = DefaultRecordBatchBuilder(
            magic=2, compression_type=codec_id, is_transactional=False,
            producer_id=1234, producer_epoch=5, base_sequence=77, batch_size=1 << 20)
        for index, record in enumerate(records):
            builder.append(index, record["timestamp"], record["key"], record["value"], record["headers"])
        batch = bytearray(builder.build())
        if name == "gzip":
            # kafka-python stamps the current time into the gzip header; zero it (and redo the
            # CRC) so the vectors do not change from run to run.
            batch[61 + 4:61 + 8] = b"\x00\x00\x00\x00"
            struct.pack_into(">I", batch, 17, calc_crc32c(memoryview(batch)[21:]))
        batch = bytes(batch)
        write(f"batch-{name}.bin", batch)
        expected["batches"][name] = {"crc": struct.unpack_from(">I", batch, 17)[0], "size": len(batch)}

    expected["crc32c"] = {
        "123456789": calc_crc32c(b"123456789"),
        "payload.bin": calc_crc32c(data),
    }
    expected["xxh32"] = {"payload.bin": xxh32(data), "empty": xxh32(b""), "abc": xxh32(b"abc")}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
