#!/usr/bin/env python3
"""A fake single-node Kafka broker that records the request frames real clients send.

Test tooling for Samsa's golden frame tests (Tests/SamsaProtocolTests/Fixtures).
Python 3.11 standard library only. It listens on 127.0.0.1:<port>, reads
length-prefixed request frames, saves each raw frame (the bytes after the int32
size) as <out>/<NN>-<ApiName>-v<version>-<seq>.bin, and answers just enough of
the protocol for clients to go on to their interesting requests:

  ApiVersions 0-4, Metadata 0-12 (auto-creates every topic named, 3 partitions
  led by node 1), Produce 0-11 (success with offsets), Fetch 4-16 (empty),
  ListOffsets 1-7 (offset 0), InitProducerId 0-5 (id 1000, epoch 0),
  FindCoordinator 0-3 (itself), OffsetFetch 1-7 (no committed offsets),
  CreateTopics 2-7 and DeleteTopics 1-6 (success).

Any other key or version closes the connection, as Kafka does. The response
schemas below are transcriptions of the Kafka JSON message definitions, limited
to the versions advertised here; tagged fields are always written empty and
skipped when read.
"""
import argparse
import asyncio
import hashlib
import os
import struct
import sys

NODE_ID = 1
PARTITIONS = 3
CLUSTER_ID = "samsa-capture-cluster"

# key: (name, min, max advertised, first flexible version)
APIS = {
    0: ("Produce", 0, 11, 9),
    1: ("Fetch", 4, 16, 12),
    2: ("ListOffsets", 1, 7, 6),
    3: ("Metadata", 0, 12, 9),
    9: ("OffsetFetch", 1, 7, 6),
    10: ("FindCoordinator", 0, 3, 3),
    18: ("ApiVersions", 0, 4, 3),
    19: ("CreateTopics", 2, 7, 5),
    20: ("DeleteTopics", 1, 6, 4),
    22: ("InitProducerId", 0, 5, 2),
}

# ---------------------------------------------------------------------------
# Schemas: rows of (name, type, first version, last version). A type is a
# primitive name, "[prim]" for an array of primitives, or a list of rows for an
# array of structs. Strings, bytes and arrays are nullable when read; a None
# value is written as null.

def F(name, typ, lo=0, hi=99):
    return (name, typ, lo, hi)

API_VERSIONS_RESP = [
    F("error_code", "i16"),
    F("api_keys", [F("api_key", "i16"), F("min_version", "i16"), F("max_version", "i16")]),
    F("throttle_time_ms", "i32", 1),
]
METADATA_REQ = [
    F("topics", [F("topic_id", "uuid", 10), F("name", "str")]),
    F("allow_auto_topic_creation", "bool", 4),
    F("include_cluster_authorized_operations", "bool", 8, 10),
    F("include_topic_authorized_operations", "bool", 8),
]
METADATA_RESP = [
    F("throttle_time_ms", "i32", 3),
    F("brokers", [F("node_id", "i32"), F("host", "str"), F("port", "i32"), F("rack", "str", 1)]),
    F("cluster_id", "str", 2),
    F("controller_id", "i32", 1),
    F("topics", [
        F("error_code", "i16"), F("name", "str"), F("topic_id", "uuid", 10), F("is_internal", "bool", 1),
        F("partitions", [
            F("error_code", "i16"), F("partition_index", "i32"), F("leader_id", "i32"),
            F("leader_epoch", "i32", 7), F("replica_nodes", "[i32]"), F("isr_nodes", "[i32]"),
            F("offline_replicas", "[i32]", 5),
        ]),
        F("topic_authorized_operations", "i32", 8),
    ]),
    F("cluster_authorized_operations", "i32", 8, 10),
]
PRODUCE_REQ = [
    F("transactional_id", "str", 3), F("acks", "i16"), F("timeout_ms", "i32"),
    F("topic_data", [F("name", "str"), F("partition_data", [F("index", "i32"), F("records", "bytes")])]),
]
PRODUCE_RESP = [
    F("responses", [F("name", "str"), F("partition_responses", [
        F("index", "i32"), F("error_code", "i16"), F("base_offset", "i64"),
        F("log_append_time_ms", "i64", 2), F("log_start_offset", "i64", 5),
        F("record_errors", [F("batch_index", "i32"), F("batch_index_error_message", "str")], 8),
        F("error_message", "str", 8),
    ])]),
    F("throttle_time_ms", "i32", 1),
]
FETCH_REQ = [
    F("replica_id", "i32", 0, 14), F("max_wait_ms", "i32"), F("min_bytes", "i32"), F("max_bytes", "i32", 3),
    F("isolation_level", "i8", 4), F("session_id", "i32", 7), F("session_epoch", "i32", 7),
    F("topics", [
        F("topic", "str", 0, 12), F("topic_id", "uuid", 13),
        F("partitions", [
            F("partition", "i32"), F("current_leader_epoch", "i32", 9), F("fetch_offset", "i64"),
            F("last_fetched_epoch", "i32", 12), F("log_start_offset", "i64", 5), F("partition_max_bytes", "i32"),
        ]),
    ]),
    F("forgotten_topics_data", [F("topic", "str", 7, 12), F("topic_id", "uuid", 13), F("partitions", "[i32]")], 7),
    F("rack_id", "str", 11),
]
FETCH_RESP = [
    F("throttle_time_ms", "i32", 1), F("error_code", "i16", 7), F("session_id", "i32", 7),
    F("responses", [
        F("topic", "str", 0, 12), F("topic_id", "uuid", 13),
        F("partitions", [
            F("partition_index", "i32"), F("error_code", "i16"), F("high_watermark", "i64"),
            F("last_stable_offset", "i64", 4), F("log_start_offset", "i64", 5),
            F("aborted_transactions", [F("producer_id", "i64"), F("first_offset", "i64")], 4),
            F("preferred_read_replica", "i32", 11), F("records", "bytes"),
        ]),
    ]),
]
LIST_OFFSETS_REQ = [
    F("replica_id", "i32"), F("isolation_level", "i8", 2),
    F("topics", [F("name", "str"), F("partitions", [
        F("partition_index", "i32"), F("current_leader_epoch", "i32", 4), F("timestamp", "i64"),
        F("max_num_offsets", "i32", 0, 0),
    ])]),
    F("timeout_ms", "i32", 10),
]
LIST_OFFSETS_RESP = [
    F("throttle_time_ms", "i32", 2),
    F("topics", [F("name", "str"), F("partitions", [
        F("partition_index", "i32"), F("error_code", "i16"), F("old_style_offsets", "[i64]", 0, 0),
        F("timestamp", "i64", 1), F("offset", "i64", 1), F("leader_epoch", "i32", 4),
    ])]),
]
OFFSET_FETCH_REQ = [
    F("group_id", "str", 0, 7),
    F("topics", [F("name", "str"), F("partition_indexes", "[i32]")], 0, 7),
    F("require_stable", "bool", 7),
]
OFFSET_FETCH_RESP = [
    F("throttle_time_ms", "i32", 3),
    F("topics", [F("name", "str"), F("partitions", [
        F("partition_index", "i32"), F("committed_offset", "i64"), F("committed_leader_epoch", "i32", 5),
        F("metadata", "str"), F("error_code", "i16"),
    ])], 0, 7),
    F("error_code", "i16", 2, 7),
]
FIND_COORDINATOR_RESP = [
    F("throttle_time_ms", "i32", 1), F("error_code", "i16"), F("error_message", "str", 1),
    F("node_id", "i32"), F("host", "str"), F("port", "i32"),
]
CREATE_TOPICS_REQ = [
    F("topics", [
        F("name", "str"), F("num_partitions", "i32"), F("replication_factor", "i16"),
        F("assignments", [F("partition_index", "i32"), F("broker_ids", "[i32]")]),
        F("configs", [F("name", "str"), F("value", "str")]),
    ]),
    F("timeout_ms", "i32"), F("validate_only", "bool", 1),
]
CREATE_TOPICS_RESP = [
    F("throttle_time_ms", "i32", 2),
    F("topics", [
        F("name", "str"), F("topic_id", "uuid", 7), F("error_code", "i16"), F("error_message", "str", 1),
        F("num_partitions", "i32", 5), F("replication_factor", "i16", 5),
        F("configs", [F("name", "str"), F("value", "str"), F("read_only", "bool"), F("config_source", "i8"),
                      F("is_sensitive", "bool")], 5),
    ]),
]
DELETE_TOPICS_REQ = [
    F("topics", [F("name", "str"), F("topic_id", "uuid")], 6),
    F("topic_names", "[str]", 0, 5), F("timeout_ms", "i32"),
]
DELETE_TOPICS_RESP = [
    F("throttle_time_ms", "i32", 1),
    F("responses", [F("name", "str"), F("topic_id", "uuid", 6), F("error_code", "i16"), F("error_message", "str", 5)]),
]
INIT_PRODUCER_ID_RESP = [
    F("throttle_time_ms", "i32"), F("error_code", "i16"), F("producer_id", "i64"), F("producer_epoch", "i16"),
]

# ---------------------------------------------------------------------------
# Wire primitives.

FIXED = {"i8": ">b", "i16": ">h", "i32": ">i", "i64": ">q", "bool": ">?"}
DEFAULTS = {"i8": 0, "i16": 0, "i32": 0, "i64": 0, "bool": False, "str": "", "uuid": bytes(16), "bytes": None}


class Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def fixed(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def uvarint(self):
        shift = result = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    def raw(self, n):
        chunk = self.data[self.pos:self.pos + n]
        if len(chunk) != n:
            raise ValueError("truncated frame")
        self.pos += n
        return chunk

    def length(self, flex, wide):
        if flex:
            return self.uvarint() - 1
        return self.fixed(">i" if wide else ">h")

    def skip_tags(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.raw(self.uvarint())


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def fixed(self, fmt, value):
        self.buf += struct.pack(fmt, value)

    def uvarint(self, value):
        while value >= 0x80:
            self.buf.append((value & 0x7F) | 0x80)
            value >>= 7
        self.buf.append(value)

    def length(self, n, flex, wide):
        if flex:
            self.uvarint(n + 1)
        else:
            self.fixed(">i" if wide else ">h", n)


def read_value(r, typ, version, flex):
    if isinstance(typ, list) or typ.startswith("["):
        n = r.length(flex, True)
        if n < 0:
            return None
        if isinstance(typ, list):
            return [read_struct(r, typ, version, flex) for _ in range(n)]
        return [read_value(r, typ[1:-1], version, flex) for _ in range(n)]
    if typ in FIXED:
        return r.fixed(FIXED[typ])
    if typ == "uuid":
        return r.raw(16)
    n = r.length(flex, typ == "bytes")
    if n < 0:
        return None
    data = r.raw(n)
    return data.decode() if typ == "str" else data


def read_struct(r, schema, version, flex):
    out = {}
    for name, typ, lo, hi in schema:
        if lo <= version <= hi:
            out[name] = read_value(r, typ, version, flex)
    if flex:
        r.skip_tags()
    return out


def write_value(w, typ, value, version, flex):
    if isinstance(typ, list) or typ.startswith("["):
        if value is None:
            w.length(-1, flex, True)
            return
        w.length(len(value), flex, True)
        for item in value:
            if isinstance(typ, list):
                write_struct(w, typ, item, version, flex)
            else:
                write_value(w, typ[1:-1], item, version, flex)
    elif typ in FIXED:
        w.fixed(FIXED[typ], value)
    elif typ == "uuid":
        w.buf += value
    elif value is None:
        w.length(-1, flex, typ == "bytes")
    else:
        data = value.encode() if isinstance(value, str) else value
        w.length(len(data), flex, typ == "bytes")
        w.buf += data


def write_struct(w, schema, values, version, flex):
    for name, typ, lo, hi in schema:
        if lo <= version <= hi:
            default = [] if isinstance(typ, list) or typ.startswith("[") else DEFAULTS[typ]
            write_value(w, typ, values.get(name, default), version, flex)
    if flex:
        w.uvarint(0)


def encode(schema, values, version, flex):
    w = Writer()
    write_struct(w, schema, values, version, flex)
    return bytes(w.buf)

# ---------------------------------------------------------------------------
# The fake broker.


def topic_id(name):
    """A stable non-zero topic id, so clients can use the topic-id versions of Fetch."""
    return hashlib.md5(name.encode()).digest()


def batch_record_count(records):
    """Records in a produce payload: magic 2 batches carry a count; older message sets count as one."""
    count, pos = 0, 0
    while records and pos + 61 <= len(records):
        length = struct.unpack_from(">i", records, pos + 8)[0]
        if records[pos + 16] == 2:
            count += struct.unpack_from(">i", records, pos + 57)[0]
        else:
            count += 1
        pos += 12 + length
    return max(count, 1)


class Broker:
    def __init__(self, host, port, out_dir, max_per_version, fetch_wait_ms):
        self.host, self.port, self.out_dir = host, port, out_dir
        self.max_per_version, self.fetch_wait_ms = max_per_version, fetch_wait_ms
        self.topics = {}          # name -> topic id
        self.next_offset = {}     # (topic, partition) -> next offset
        self.seq = 0
        self.saved = {}           # (client id, api key, version) -> frames saved
        self.index = []

    # -- recording --
    def record(self, frame, key, version, client_id):
        self.seq += 1
        limit = 50 if key == 0 else self.max_per_version
        slot = (client_id, key, version)
        if self.saved.get(slot, 0) >= limit:
            return
        self.saved[slot] = self.saved.get(slot, 0) + 1
        name = APIS.get(key, ("Unknown",))[0]
        file_name = "%02d-%s-v%d-%03d.bin" % (key, name, version, self.seq)
        with open(os.path.join(self.out_dir, file_name), "wb") as f:
            f.write(frame)
        self.index.append("%s\t%s\t%d\n" % (file_name, client_id, len(frame)))
        # Written whole and renamed, so stopping the listener never leaves a torn index.
        index_path = os.path.join(self.out_dir, "index.tsv")
        with open(index_path + ".tmp", "w") as f:
            f.write("file\tclient_id\tbytes\n" + "".join(self.index))
        os.replace(index_path + ".tmp", index_path)

    # -- connection loop --
    async def serve_connection(self, reader, writer):
        try:
            while True:
                size = struct.unpack(">i", await reader.readexactly(4))[0]
                frame = await reader.readexactly(size)
                response = await self.handle(frame)
                if response is None:
                    continue
                if response is False:
                    break
                writer.write(struct.pack(">i", len(response)) + response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as error:  # a bug here must not look like a client problem
            print("capture: error handling a request: %r" % (error,), file=sys.stderr)
        finally:
            writer.close()

    async def handle(self, frame):
        r = Reader(frame)
        key, version, correlation = r.fixed(">h"), r.fixed(">h"), r.fixed(">i")
        client_id = r.fixed(">h")
        client_id = r.raw(client_id).decode() if client_id >= 0 else ""
        self.record(frame, key, version, client_id)
        api = APIS.get(key)
        print("capture: %-16s key=%-2d v%-2d corr=%-4d client=%s" % (
            api[0] if api else "?", key, version, correlation, client_id), file=sys.stderr)
        if key == 18 and not (0 <= version <= 4):
            # KIP-511: unsupported ApiVersions gets error 35 with a v0 body and a v0 header.
            return struct.pack(">i", correlation) + self.api_versions(35, 0, False)
        if api is None or not (api[1] <= version <= api[2]):
            print("capture: unsupported request, closing the connection", file=sys.stderr)
            return False
        flex = version >= api[3]
        if flex:
            r.skip_tags()  # request header v2
        body = await getattr(self, "on_" + api[0])(r, version, flex)
        if body is None:
            return None
        header = struct.pack(">i", correlation)
        if flex and key != 18:  # the ApiVersions response header is always v0
            header += b"\x00"
        return header + body

    # -- responses --
    def api_versions(self, error, version, flex):
        keys = [{"api_key": k, "min_version": lo, "max_version": hi} for k, (_, lo, hi, _) in sorted(APIS.items())]
        return encode(API_VERSIONS_RESP, {"error_code": error, "api_keys": keys}, version, flex)

    async def on_ApiVersions(self, r, version, flex):
        return self.api_versions(0, version, flex)

    def ensure(self, name):
        return self.topics.setdefault(name, topic_id(name))

    def partitions(self, name):
        return [{"partition_index": p, "leader_id": NODE_ID, "leader_epoch": -1, "replica_nodes": [NODE_ID],
                 "isr_nodes": [NODE_ID], "offline_replicas": []} for p in range(PARTITIONS)]

    async def on_Metadata(self, r, version, flex):
        req = read_struct(r, METADATA_REQ, version, flex)
        names = None if req["topics"] is None or (version == 0 and not req["topics"]) else \
            [t["name"] or self.name_for(t["topic_id"]) for t in req["topics"]]
        for name in names or []:
            self.ensure(name)
        topics = [{"name": n, "topic_id": self.topics[n], "partitions": self.partitions(n),
                   "topic_authorized_operations": -2147483648}
                  for n in (names if names is not None else sorted(self.topics))]
        return encode(METADATA_RESP, {
            "brokers": [{"node_id": NODE_ID, "host": self.host, "port": self.port, "rack": None}],
            "cluster_id": CLUSTER_ID, "controller_id": NODE_ID, "topics": topics,
            "cluster_authorized_operations": -2147483648,
        }, version, flex)

    def name_for(self, tid):
        return next((n for n, i in self.topics.items() if i == tid), tid.hex())

    async def on_Produce(self, r, version, flex):
        req = read_struct(r, PRODUCE_REQ, version, flex)
        responses = []
        for topic in req["topic_data"]:
            self.ensure(topic["name"])
            parts = []
            for part in topic["partition_data"]:
                slot = (topic["name"], part["index"])
                base = self.next_offset.get(slot, 0)
                self.next_offset[slot] = base + batch_record_count(part["records"])
                parts.append({"index": part["index"], "base_offset": base, "log_append_time_ms": -1,
                              "log_start_offset": 0, "error_message": None})
            responses.append({"name": topic["name"], "partition_responses": parts})
        if req["acks"] == 0:
            return None  # acks=0 gets no response at all
        return encode(PRODUCE_RESP, {"responses": responses}, version, flex)

    async def on_Fetch(self, r, version, flex):
        req = read_struct(r, FETCH_REQ, version, flex)
        # Nothing is ever available: wait like a long poll so clients do not spin.
        await asyncio.sleep(min(req["max_wait_ms"], self.fetch_wait_ms) / 1000)
        responses = [{"topic": t.get("topic"), "topic_id": t.get("topic_id", bytes(16)), "partitions": [
            {"partition_index": p["partition"], "high_watermark": 0, "last_stable_offset": 0, "log_start_offset": 0,
             "aborted_transactions": None, "preferred_read_replica": -1, "records": b""}
            for p in t["partitions"]]} for t in req["topics"]]
        return encode(FETCH_RESP, {"responses": responses}, version, flex)

    async def on_ListOffsets(self, r, version, flex):
        req = read_struct(r, LIST_OFFSETS_REQ, version, flex)
        topics = [{"name": t["name"], "partitions": [
            {"partition_index": p["partition_index"], "old_style_offsets": [0], "timestamp": -1, "offset": 0,
             "leader_epoch": -1} for p in t["partitions"]]} for t in req["topics"]]
        return encode(LIST_OFFSETS_RESP, {"topics": topics}, version, flex)

    async def on_OffsetFetch(self, r, version, flex):
        req = read_struct(r, OFFSET_FETCH_REQ, version, flex)
        topics = [{"name": t["name"], "partitions": [
            {"partition_index": p, "committed_offset": -1, "committed_leader_epoch": -1, "metadata": ""}
            for p in t["partition_indexes"]]} for t in req["topics"] or []]
        return encode(OFFSET_FETCH_RESP, {"topics": topics}, version, flex)

    async def on_FindCoordinator(self, r, version, flex):
        return encode(FIND_COORDINATOR_RESP, {"error_message": None, "node_id": NODE_ID, "host": self.host,
                                              "port": self.port}, version, flex)

    async def on_InitProducerId(self, r, version, flex):
        return encode(INIT_PRODUCER_ID_RESP, {"producer_id": 1000, "producer_epoch": 0}, version, flex)

    async def on_CreateTopics(self, r, version, flex):
        req = read_struct(r, CREATE_TOPICS_REQ, version, flex)
        topics = [{"name": t["name"], "topic_id": self.ensure(t["name"]), "error_message": None,
                   "num_partitions": PARTITIONS, "replication_factor": 1, "configs": []} for t in req["topics"]]
        return encode(CREATE_TOPICS_RESP, {"topics": topics}, version, flex)

    async def on_DeleteTopics(self, r, version, flex):
        req = read_struct(r, DELETE_TOPICS_REQ, version, flex)
        names = req.get("topic_names") or [t["name"] or self.name_for(t["topic_id"]) for t in req.get("topics") or []]
        responses = [{"name": n, "topic_id": self.topics.pop(n, bytes(16)), "error_message": None} for n in names]
        return encode(DELETE_TOPICS_RESP, {"responses": responses}, version, flex)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=19092)
    parser.add_argument("--out", required=True, help="directory the frames are written to")
    parser.add_argument("--max-per-version", type=int, default=2,
                        help="frames kept per (client id, api key, version); Produce keeps up to 50")
    parser.add_argument("--fetch-wait-ms", type=int, default=200)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    broker = Broker("127.0.0.1", args.port, args.out, args.max_per_version, args.fetch_wait_ms)
    server = await asyncio.start_server(broker.serve_connection, "127.0.0.1", args.port)
    print("capture: listening on 127.0.0.1:%d, writing to %s" % (args.port, args.out), file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
