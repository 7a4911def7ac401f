"""The `samsa` client commands against a real broker, checked with confluent-kafka and kcat: group
lag, offset resets (dry run, then --execute), kcat's -f formats byte for byte, --json output and
input, --grep, the end-to-end benchmark's summary, one clear line with exit status 2 for bad
input, and a `samsa serve` process without Foundation's full library or ICU in its memory."""

from __future__ import annotations

import base64
import json
import subprocess
import uuid

import pytest

from broker_process import broker_binary
from clients import CLIENT_TIMEOUT, Rec, consume_confluent, kcat, produce_confluent
from conftest import DEFAULT_PARTITIONS


def samsa(broker, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(broker_binary()), *args, "-b", broker.bootstrap], input=input, capture_output=True, timeout=CLIENT_TIMEOUT
    )
    if check:
        assert result.returncode == 0, f"samsa {' '.join(args)} exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    return result


def commit_with_confluent(broker, group: str, offsets: dict[tuple[str, int], int]) -> None:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()


def committed_with_confluent(broker, group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.committed([TopicPartition(topic, p) for p in range(DEFAULT_PARTITIONS)], timeout=CLIENT_TIMEOUT)
        return {tp.partition: tp.offset for tp in partitions}
    finally:
        consumer.close()


def test_group_describe_lag_matches_confluent(broker, new_topic, require):
    require("OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups")
    topic, group = new_topic("lag"), f"lag-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=i % DEFAULT_PARTITIONS) for i in range(30)])
    commit_with_confluent(broker, group, {(topic, 0): 2, (topic, 1): 7, (topic, 2): 10})
    printed = samsa(broker, "group", "describe", group).stdout.decode()
    rows = {int(line.split()[1]): line.split() for line in printed.splitlines() if line.startswith(topic)}
    assert {partition: int(row[4]) for partition, row in rows.items()} == {0: 8, 1: 3, 2: 0}
    assert "total lag 11" in printed
    described = json.loads(samsa(broker, "group", "describe", group, "--json").stdout)
    assert {(p["topic"], p["partition"]): p["lag"] for p in described["partitions"]} == {(topic, 0): 8, (topic, 1): 3, (topic, 2): 0}
    assert described["group"] == group and described["total_lag"] == 11 and described["members"] == []
    assert group in [g["group"] for g in json.loads(samsa(broker, "group", "list", "--json").stdout)["groups"]]


def test_reset_offsets_dry_run_then_execute(broker, new_topic, require):
    require("OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups")
    from confluent_kafka import Consumer, TopicPartition

    topic, group = new_topic("reset"), f"reset-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"r{i}".encode(), partition=0) for i in range(10)])
    commit_with_confluent(broker, group, {(topic, 0): 9})
    dry = samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--shift-by", "-4").stdout.decode()
    assert "dry run" in dry
    assert committed_with_confluent(broker, group, topic)[0] == 9, "the dry run changed nothing"
    samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--shift-by", "-4", "--execute")
    assert committed_with_confluent(broker, group, topic)[0] == 5
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(topic, 0)])  # no offset: the group's committed one
        message = None
        for _ in range(100):
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                break
        assert message is not None and message.offset() == 5 and message.value() == b"r5"
    finally:
        consumer.close()


def test_bad_input_is_one_clear_line(broker):
    missing = samsa(broker, "consume", f"missing-{uuid.uuid4().hex[:8]}", "-e", check=False)
    assert missing.returncode != 0 and b"does not exist" in missing.stderr and len(missing.stderr.splitlines()) == 1
    unreachable = subprocess.run(
        [str(broker_binary()), "topic", "list", "-b", "127.0.0.1:1"], capture_output=True, timeout=CLIENT_TIMEOUT)
    assert unreachable.returncode != 0 and b"cannot reach 127.0.0.1:1" in unreachable.stderr
    malformed = samsa(broker, "topic", "list", "-X", "nonsense", check=False)
    assert malformed.returncode != 0 and b"key=value" in malformed.stderr
    bad_time = samsa(broker, "consume", "t", "--from", "@yesterday", "-e", check=False)
    assert bad_time.returncode == 2 and b"--from @yesterday" in bad_time.stderr and len(bad_time.stderr.splitlines()) == 1
    bad_format = samsa(broker, "consume", "t", "-e", "-f", "%q", check=False)
    assert bad_format.returncode == 2 and b"%q" in bad_format.stderr and len(bad_format.stderr.splitlines()) == 1
    bad_json = samsa(broker, "produce", "t", "--json", input=b'{"value": "fine"}\n{"value": 5}\n', check=False)
    assert bad_json.returncode == 2 and b"line 2" in bad_json.stderr and len(bad_json.stderr.splitlines()) == 1
    unknown = samsa(broker, "topic", "list", "--no-such-option", check=False)
    assert unknown.returncode == 2 and len(unknown.stderr.splitlines()) == 1


def test_cluster_and_offsets(broker, new_topic):
    topic = new_topic("offsets")
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=1, timestamp=1_000 + i) for i in range(5)])
    cluster = samsa(broker, "cluster").stdout.decode()
    assert "controller 1" in cluster and "Produce" in cluster and "ApiVersions" in cluster
    rows = {line.split()[0]: line.split() for line in samsa(broker, "offsets", topic, "--at", "1003").stdout.decode().splitlines()[1:]}
    assert rows["1"] == ["1", "0", "5", "3"], "earliest 0, latest 5, first at or after t=1003 is offset 3"
    assert rows["0"][1:3] == ["0", "0"]


# Records covering what -f prints differently: null and empty keys and values, binary bytes (a NUL
# among them), no headers, repeated headers, a null and an empty header value, and a header value
# with a NUL (kcat prints header values as C strings).
FORMAT_RECORDS = [
    Rec(b"k1", b"hello", (("h1", b"v1"), ("h2", b"v2"))),
    Rec(None, b"no key"),
    Rec(b"", b""),
    Rec(b"k-null", None, (("null", None), ("empty", b""))),
    Rec(b"bin\x00\xff", b"\x00\x01\xfe\xffbinary\n", (("b", b"\xff\x00after"),)),
    Rec(None, None),
    Rec(b"k7", b"%s \\n\ttab", (("dup", b"1"), ("dup", b"2"))),
]

KCAT_FORMATS = [
    "%t|%p|%o|%T|%k|%K|%s|%S|%h\\n",
    "%R%s",
    "%K:%k %S:%s [%h]\\r\\n",
    "%o%p%t%T%%%k\\t%s\\n",
    "\\x41\\101\\0x42\\65\\xff\\\\\\q|%o\\n",
    "%h\\2561\\0000ignored\\n",
]


@pytest.mark.parametrize("fmt", KCAT_FORMATS)
def test_consume_format_matches_kcat_byte_for_byte(broker, new_topic, require, fmt):
    require("Produce", "Fetch")
    topic = new_topic("kcatfmt")
    produce_confluent(broker.bootstrap, topic, FORMAT_RECORDS, partition=0)
    expected = kcat(broker.bootstrap, "-C", "-t", topic, "-p", "0", "-o", "beginning", "-e", "-q", "-f", fmt).stdout
    assert len(expected) >= len(FORMAT_RECORDS), f"kcat printed too little to compare: {expected!r}"
    printed = samsa(broker, "consume", topic, "-p", "0", "-e", "-f", fmt).stdout
    assert printed == expected, f"-f {fmt!r}\n samsa: {printed!r}\n  kcat: {expected!r}"


def test_consume_json_with_base64_for_binary(broker, new_topic, require):
    require("Produce", "Fetch")
    topic = new_topic("cjson")
    produce_confluent(broker.bootstrap, topic, FORMAT_RECORDS, partition=0)
    lines = samsa(broker, "consume", topic, "-p", "0", "-e", "--json").stdout.splitlines()
    assert len(lines) == len(FORMAT_RECORDS)
    objects = [json.loads(line) for line in lines]

    def decoded(obj: dict, field: str) -> bytes | None:
        if obj[field] is None:
            return None
        if obj.get(f"{field}_encoding") == "base64":
            return base64.b64decode(obj[field])
        assert f"{field}_encoding" not in obj
        return obj[field].encode()

    for offset, (obj, rec) in enumerate(zip(objects, FORMAT_RECORDS)):
        assert (obj["topic"], obj["partition"], obj["offset"]) == (topic, 0, offset)
        assert isinstance(obj["timestamp"], int) and obj["timestamp"] > 0
        assert decoded(obj, "key") == rec.key and decoded(obj, "value") == rec.value
        assert [(h["key"], decoded(h, "value")) for h in obj["headers"]] == list(rec.headers)
    binary = objects[4]
    assert binary["value_encoding"] == "base64" and base64.b64decode(binary["value"]) == b"\x00\x01\xfe\xffbinary\n"
    assert objects[0]["value"] == "hello" and "value_encoding" not in objects[0]
    assert objects[1]["key"] is None and objects[5]["value"] is None


def test_produce_json_read_back_by_confluent(broker, new_topic, require):
    require("Produce", "Fetch")
    topic = new_topic("pjson")
    lines = [
        {"key": "user-1", "value": "hi", "headers": {"source": "cli"}, "partition": 1},
        {"value": base64.b64encode(b"\x00\xff").decode(), "value_encoding": "base64", "partition": 1},
        {"key": None, "value": None, "headers": [["a", "1"], ["a", None]], "partition": 1},
        {"key": "k", "value": "v", "headers": [{"key": "h", "value": "aGk=", "value_encoding": "base64"}], "partition": 1},
    ]
    reports = samsa(broker, "produce", topic, "--json", "-v", input="".join(json.dumps(line) + "\n" for line in lines).encode())
    delivered = [json.loads(line) for line in reports.stdout.splitlines()]
    assert sorted(report["offset"] for report in delivered) == [0, 1, 2, 3]
    assert all(report["topic"] == topic and report["partition"] == 1 for report in delivered)
    read = consume_confluent(broker.bootstrap, topic, 1)
    assert [(r.key, r.value, r.headers) for r in read] == [
        (b"user-1", b"hi", (("source", b"cli"),)),
        (None, b"\x00\xff", ()),
        (None, None, (("a", b"1"), ("a", None))),
        (b"k", b"v", (("h", b"hi"),)),
    ]
    # What consume --json prints, produce --json writes back unchanged.
    copy = new_topic("pjsoncopy")
    printed = samsa(broker, "consume", topic, "-p", "1", "-e", "--json").stdout
    samsa(broker, "produce", copy, "--json", input=printed)
    assert [(r.key, r.value, r.headers) for r in consume_confluent(broker.bootstrap, copy, 1)] == [
        (r.key, r.value, r.headers) for r in read
    ]


def test_consume_grep_matches_key_value_or_header(broker, new_topic, require):
    require("Produce", "Fetch")
    topic = new_topic("grep")
    produce_confluent(broker.bootstrap, topic, [
        Rec(b"user-41", b"paid"), Rec(b"user-7", b"refund for user-42"), Rec(b"other", b"x", (("owner", b"user-43"),)),
        Rec(b"user-5", b"paid"), Rec(None, b"\xff\xfe"),
    ], partition=0)
    printed = samsa(broker, "consume", topic, "-p", "0", "-e", "--grep", "user-4[0-9]", "-f", "%o\\n").stdout
    assert printed == b"0\n1\n2\n"
    assert samsa(broker, "consume", topic, "-p", "0", "-e", "--grep", "(?i)PAID", "-f", "%o\\n", "-c", "1").stdout == b"0\n"
    assert samsa(broker, "consume", topic, "-p", "0", "-e", "--grep", "owner=user", "-f", "%o\\n").stdout == b"2\n"
    assert samsa(broker, "consume", topic, "-p", "0", "-e", "--grep", "nothing-like-this").stdout == b""


def test_consume_exit_at_end_without_records(broker, new_topic, require):
    """-e returns at once for an empty partition, and also when the partition holds only an
    aborted transaction (read_committed: the position moves with no record to hand out)."""
    require("InitProducerId", "AddPartitionsToTxn", "EndTxn")
    topic = new_topic("eend")
    assert samsa(broker, "consume", topic, "-e").stdout == b""
    samsa(broker, "produce", topic, "-p", "0", "--transactional-id", f"eend-{uuid.uuid4().hex[:6]}", "--abort", input=b"gone\n")
    assert samsa(broker, "consume", topic, "-p", "0", "-e", "--read-committed").stdout == b""
    assert samsa(broker, "consume", topic, "-p", "0", "-e").stdout == b"gone\n"


def test_consume_count_in_group_commits_what_was_printed(broker, new_topic, require):
    """-c stops inside a fetched batch; the group's commit is after the last record printed, so
    the next run goes on from there."""
    require("JoinGroup", "SyncGroup", "OffsetCommit", "OffsetFetch")
    topic, group = new_topic("count"), f"count-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"r{i}".encode()) for i in range(6)], partition=0)
    first = samsa(broker, "consume", topic, "-g", group, "-c", "2").stdout
    second = samsa(broker, "consume", topic, "-g", group, "-c", "3").stdout
    assert (first, second) == (b"r0\nr1\n", b"r2\nr3\nr4\n")
    assert committed_with_confluent(broker, group, topic)[0] == 5


def test_cluster_and_topic_json(broker, new_topic, require):
    require("Metadata", "ApiVersions", "ListOffsets", "DescribeConfigs")
    cluster = json.loads(samsa(broker, "cluster", "--json").stdout)
    assert cluster["controller"] == 1 and [b["node_id"] for b in cluster["brokers"]] == [1]
    assert {api["name"].split("(")[0] for api in cluster["apis"]} >= {"Produce", "Fetch", "ApiVersions"}
    assert cluster["features"]["finalized"]["transaction.version"]["max_version"] == 2
    assert cluster["features"]["supported"]["transaction.version"]["min_version"] == 0
    topic = new_topic("tjson")
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=2) for _ in range(4)])
    described = json.loads(samsa(broker, "topic", "describe", topic, "--json").stdout)
    assert described["topic"] == topic and len(described["partitions"]) == DEFAULT_PARTITIONS
    assert {p["partition"]: (p["start"], p["end"]) for p in described["partitions"]} == {0: (0, 0), 1: (0, 0), 2: (0, 4)}
    assert topic in json.loads(samsa(broker, "topic", "list", "--json").stdout)["topics"]
    offsets = json.loads(samsa(broker, "offsets", topic, "--json").stdout)
    assert [p["latest"] for p in offsets["partitions"]] == [0, 0, 4]


def test_bench_e2e_json_summary(broker, new_topic, require):
    require("Produce", "Fetch")
    topic = new_topic("bench")
    result = samsa(broker, "bench", "e2e", "--topic", topic, "--records", "300", "--record-size", "64", "--partitions", "3", "--json")
    summary = json.loads(result.stdout)
    assert summary["records"] == 300 and summary["bytes"] == 300 * 64
    for key in ("seconds", "records_per_second", "mb_per_second"):
        assert isinstance(summary[key], (int, float)) and summary[key] > 0
    latency = summary["latency_ms"]
    assert set(latency) == {"p50", "p95", "p99", "p99_9", "max", "count"} and latency["count"] == 300
    assert 0 <= latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["p99_9"] <= latency["max"]
    assert sorted(p["latest"] for p in json.loads(samsa(broker, "offsets", topic, "--json").stdout)["partitions"]) == [100, 100, 100]


def test_bench_e2e_paced_with_producer_and_consumer_properties(broker, new_topic, require):
    """--rate paces the producers (the run cannot be faster than its schedule); -X properties go
    to whichever client knows them, and one that neither knows is refused by name."""
    require("Produce", "Fetch")
    topic = new_topic("paced")
    result = samsa(broker, "bench", "e2e", "--topic", topic, "--records", "400", "--record-size", "64", "--rate", "1000",
                   "-X", "linger.ms=0", "-X", "fetch.min.bytes=1", "--json")
    summary = json.loads(result.stdout)
    assert summary["records"] == 400
    # 400 records at 1,000/s take at least 0.4 s, less the 2 ms the pacer may run ahead.
    assert summary["seconds"] >= 0.39, summary
    refused = samsa(broker, "bench", "e2e", "--topic", topic, "--records", "10", "-X", "lingr.ms=0", check=False)
    assert refused.returncode != 0 and b"unknown properties: lingr.ms" in refused.stderr, refused.stderr
    refused = samsa(broker, "bench", "produce", "--topic", topic, "--records", "10", "-X", "fetch.min.bytes=1", check=False)
    assert refused.returncode != 0 and b"unknown properties: fetch.min.bytes" in refused.stderr, refused.stderr


def test_topic_lifecycle_and_configs(broker, require):
    """create with configs, config get/set/delete, add-partitions, delete: each checked through
    the command's own --json and through confluent-kafka's admin client."""
    require("CreateTopics", "DeleteTopics", "CreatePartitions", "DescribeConfigs", "IncrementalAlterConfigs")
    from confluent_kafka.admin import AdminClient, ConfigResource

    topic = f"life-{uuid.uuid4().hex[:8]}"
    samsa(broker, "topic", "create", topic, "-p", "2", "-c", "retention.ms=60000")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    assert len(admin.list_topics(topic, timeout=CLIENT_TIMEOUT).topics[topic].partitions) == 2

    def configs() -> dict:
        return json.loads(samsa(broker, "topic", "config", "get", topic, "--json").stdout)["configs"]

    assert configs()["retention.ms"]["value"] == "60000"
    samsa(broker, "topic", "config", "set", topic, "retention.ms=120000", "cleanup.policy=compact")
    resource = ConfigResource("topic", topic)
    described = admin.describe_configs([resource])[resource].result(timeout=CLIENT_TIMEOUT)
    assert (described["retention.ms"].value, described["cleanup.policy"].value) == ("120000", "compact")
    samsa(broker, "topic", "config", "delete", topic, "retention.ms")
    assert configs()["retention.ms"]["value"] == "604800000", "back to the broker's default"

    samsa(broker, "topic", "add-partitions", topic, "--total", "3")
    assert len(admin.list_topics(topic, timeout=CLIENT_TIMEOUT).topics[topic].partitions) == 3
    samsa(broker, "topic", "delete", topic)
    assert topic not in json.loads(samsa(broker, "topic", "list", "--json").stdout)["topics"]
    missing = samsa(broker, "topic", "describe", topic, check=False)
    assert missing.returncode != 0 and f"topic '{topic}' does not exist" in missing.stderr.decode()


def test_produce_keys_headers_and_delivery_report(broker, new_topic, require):
    """-K splits key from value, -H adds headers, -v reports each delivery; confluent-kafka reads
    the same keys, values and headers back."""
    require("Produce", "Fetch")
    topic = new_topic("keyed")
    result = samsa(broker, "produce", topic, "-p", "1", "-K", ":", "-H", "source=cli", "-v", input=b"k1:v1\nk2:v2\n")
    reports = sorted(line.split("\t") for line in result.stdout.decode().splitlines())
    assert reports == [[topic, "1", "0"], [topic, "1", "1"]]
    read = consume_confluent(broker.bootstrap, topic, 1)
    assert [(r.key, r.value, r.headers) for r in read] == [
        (b"k1", b"v1", (("source", b"cli"),)),
        (b"k2", b"v2", (("source", b"cli"),)),
    ]


def test_group_delete_offsets_delete_and_members_refusal(broker, new_topic, require):
    """delete-offsets drops one topic's offsets; reset-offsets and delete refuse while a
    confluent-kafka member is in the group, and delete works once it left."""
    require("JoinGroup", "SyncGroup", "OffsetCommit", "OffsetFetch", "DeleteGroups", "OffsetDelete")
    from confluent_kafka import Consumer

    topic, group = new_topic("groupcmd"), f"groupcmd-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, b"x", partition=0) for _ in range(3)])
    commit_with_confluent(broker, group, {(topic, 0): 2})
    member = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        member.subscribe([topic])
        while not member.assignment():
            member.poll(0.2)
        refused = samsa(broker, "group", "reset-offsets", group, "--topic", topic, "--to-earliest", "--execute", check=False)
        assert refused.returncode != 0
        assert f"group '{group}' has active members" in refused.stderr.decode()
        assert committed_with_confluent(broker, group, topic)[0] == 2, "nothing moved"
    finally:
        member.close()
    samsa(broker, "group", "delete-offsets", group, "--topic", topic)
    assert committed_with_confluent(broker, group, topic)[0] < 0, "the topic's offsets are gone"
    samsa(broker, "group", "delete", group)
    assert group not in [g["group"] for g in json.loads(samsa(broker, "group", "list", "--json").stdout)["groups"]]


def test_bench_produce_and_consume_json(broker, new_topic, require):
    require("Produce", "Fetch")
    topic = new_topic("benchpc")
    produced = json.loads(
        samsa(broker, "bench", "produce", "--topic", topic, "--records", "500", "--record-size", "32", "--acks", "all",
              "-X", "linger.ms=1", "--json").stdout
    )
    assert produced["records"] == 500 and produced["bytes"] == 500 * 32
    assert produced["latency_ms"]["count"] >= 1
    consumed = json.loads(samsa(broker, "bench", "consume", "--topic", topic, "--records", "500", "--json").stdout)
    assert consumed["records"] == 500 and consumed["latency_ms"] is None


def test_reset_offsets_by_duration_and_datetime(broker, new_topic, require):
    """--by-duration takes Kafka's ISO 8601 durations, --to-datetime ISO 8601 times; records
    written now are all within the last hour and all before 2100."""
    require("OffsetCommit", "OffsetFetch", "ListOffsets", "DescribeGroups")
    topic, group = new_topic("bytime"), f"bytime-{uuid.uuid4().hex[:8]}"
    produce_confluent(broker.bootstrap, topic, [Rec(None, f"r{i}".encode(), partition=0) for i in range(5)])
    commit_with_confluent(broker, group, {(topic, 0): 3})
    samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--by-duration", "PT1H", "--execute")
    assert committed_with_confluent(broker, group, topic)[0] == 0
    samsa(broker, "group", "reset-offsets", group, "--topic", f"{topic}:0", "--to-datetime", "2100-01-01T00:00:00Z", "--execute")
    assert committed_with_confluent(broker, group, topic)[0] == 5, "no record that late: the end"
    bad = samsa(broker, "group", "reset-offsets", group, "--topic", topic, "--by-duration", "an hour", check=False)
    assert bad.returncode == 2 and b"--by-duration an hour" in bad.stderr
    since = samsa(broker, "consume", topic, "-p", "0", "--from", "@2000-01-01T00:00:00Z", "-e").stdout
    assert since == b"r0\nr1\nr2\nr3\nr4\n"


def test_serve_loads_neither_foundation_nor_icu(broker):
    """The command links only FoundationEssentials: the full Foundation library and ICU would add
    about 6 MB to every broker's resident memory, for nothing the broker uses."""
    assert broker.process is not None
    with open(f"/proc/{broker.process.pid}/maps") as maps:
        libraries = {line.split()[-1].rsplit("/", 1)[-1] for line in maps if ".so" in line}
    assert "libFoundationEssentials.so" in libraries
    assert not {"libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"} & libraries, sorted(libraries)
