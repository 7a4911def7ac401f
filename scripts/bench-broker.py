#!/usr/bin/env python3
"""`samsa serve` against the physical limits of this machine, all measured in one run: the
table of the performance goals, each broker figure as a ratio to its bound, with the median of
ROUNDS rounds and its range.

    scripts/bench-broker.py [ROUNDS]             # default 3

Needs Debian's librdkafka-dev (the load generator is scripts/bench/rdkafka-bench.c, the Kafka
world's reference client) and a C compiler; builds samsa in release mode. Bounds: loopback TCP,
sequential 1 MiB writes with and without fdatasync, fdatasync latency, the latency of appends
group-committed without a broker (scripts/bench/physical.c), alone and beside the generator's
end-to-end load, and the generator against librdkafka's in-process mock cluster. The broker's
fetch path is also measured alone, with raw Fetch requests (scripts/bench/fetch-bench.c), against
sendfile(2) of a cached file over loopback, the way the broker sends a backlog.

The consume rows are bounded by loopback TCP as the broker's loopback connections send: with
CUBIC where the system's default congestion control is BBR, which paces sends (the broker's
`loopback.congestion.control`), and with the system's default otherwise. Loopback TCP with the
system's default is listed too: the generator's own connection sends with it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

start_module = import_module("bench-start")

KIB_RECORDS = 500_000
SMALL_RECORDS = 2_000_000


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


# The end-to-end loads (linger.ms, idempotence): idempotent, rdkafka-bench's e2e default, and
# without idempotence, librdkafka's own default, where the producer sends about one request per
# record at linger.ms 0.
END_TO_END_LOADS = (("0", True), ("1", True), ("0", False))


# The disk's own share of the end-to-end latency, and the same with the generator's load beside it.
GROUP_COMMIT = "group commit without a broker, 12 KiB appends at 1,600/s, append to durable"
GROUP_COMMIT_BESIDE_GENERATOR = f"{GROUP_COMMIT}, beside the generator's end-to-end load"


def end_to_end_row(linger: str, idempotent: bool, percentile: str) -> str:
    mode = "" if idempotent else ", not idempotent"
    return f"end-to-end latency at 20k records/s, acks=all{mode}, linger.ms {linger}, {percentile} (ms)"


def rate(output: str, size: int) -> tuple[float, float]:
    """(MB/s, records/s) from rdkafka-bench's "records seconds"."""
    records, seconds = output.split()
    per_second = int(records) / float(seconds)
    return per_second * size / 1e6, per_second


def system_congestion_control() -> str:
    with open("/proc/sys/net/ipv4/tcp_congestion_control") as file:
        return file.read().strip()


def main(rounds: int) -> None:
    subprocess.run(["swift", "build", "-c", "release", "--product", "samsa"], cwd=ROOT, check=True, capture_output=True)
    work = tempfile.mkdtemp()
    physical, generator = os.path.join(work, "physical"), os.path.join(work, "rdkafka-bench")
    fetcher = os.path.join(work, "fetch-bench")
    run("cc", "-O2", "-pthread", os.path.join(ROOT, "scripts/bench/physical.c"), "-o", physical)
    run("cc", "-O2", os.path.join(ROOT, "scripts/bench/rdkafka-bench.c"), "-lrdkafka", "-o", generator)
    run("cc", "-O2", os.path.join(ROOT, "scripts/bench/fetch-bench.c"), "-o", fetcher)
    port = start_module.free_port()
    process, _ = start_module.start(port, os.path.join(work, "data"))
    brokers = f"127.0.0.1:{port}"
    rows: dict[str, list[float]] = {}
    # The bounds' file on the broker's disk.
    scratch = os.path.join(work, "scratch")
    system = system_congestion_control()
    # What the broker's loopback connections send with (LoopbackCongestionControl).
    broker = "cubic" if system.startswith("bbr") else system
    print(f"TCP congestion control: {system} by default, {broker} on the broker's loopback connections", file=sys.stderr)

    def delete(topic: str) -> None:
        # Deleting a topic drops its dirty pages: without it, after a few GB the kernel throttles
        # every write to the disk's writeback speed and later rows measure the disk, not the broker.
        run(start_module.BINARY, "topic", "delete", topic, "-b", brokers)
        # On a file system mounted with `discard`, as this machine's is, the freed blocks are
        # trimmed at the next journal commit, and fsyncs and writes that need the journal (an
        # append updates the file's mtime) wait for it (rm and sync of a 500 MB file: 0.11-0.14 s
        # here). sync(2) waits for that commit, so the next row does not measure it.
        os.sync()

    def group_commit() -> list[str]:
        latencies = run(physical, "groupcommit", scratch, "1600", "5", "12").split()
        # It removes its file (96 MB): sync as after a topic's deletion (see delete).
        os.sync()
        return latencies

    def add(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    try:
        for round_ in range(rounds):
            # End-to-end latency at 20,000 records/s (1 KiB, acks=all): librdkafka sends every
            # record at once with linger.ms 0, or gathers them for up to 1 ms. First in the round:
            # after the gigabytes written by the rows below, this virtual disk has fsyncs of
            # 0.2-0.4 s for a while, which would be measured here instead of the broker.
            # The disk's own share of that latency: appends of 12 KiB (what librdkafka sends per
            # request at that rate with linger.ms 0) 1,600 times a second, group-committed by one
            # fdatasync thread, with no broker and no network.
            for name, value in zip(("p50", "p99", "p99.9"), group_commit()):
                add(f"{GROUP_COMMIT}, {name} (ms)", float(value))
            # The same beside the generator's own end-to-end load (its producer at 20,000
            # records/s against librdkafka's mock, about 1.2 cores of this machine's 2): during an
            # end-to-end run the fdatasync thread wakes to CPUs that busy, and waits for one.
            pacer = subprocess.Popen([generator, "pace", "mock", f"pace{round_}", "20000", "6"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                if pacer.stdout.readline().strip() != "pacing":
                    raise RuntimeError("rdkafka-bench pace did not start")
                beside = group_commit()
            finally:
                pacer.communicate()
            for name, value in zip(("p50", "p99", "p99.9"), beside):
                add(f"{GROUP_COMMIT_BESIDE_GENERATOR}, {name} (ms)", float(value))
            for linger, idempotent in END_TO_END_LOADS:
                topic = f"e2e-{linger}-{idempotent}-{round_}"
                run(start_module.BINARY, "topic", "create", topic, "-p", "1", "-b", brokers)
                latencies = subprocess.run(
                    [generator, "e2e", brokers, topic, "20000", "5"], check=True, capture_output=True, text=True,
                    env={**os.environ, "RDKAFKA_CONFIG": f"linger.ms={linger},enable.idempotence={str(idempotent).lower()}"}
                ).stdout.split()
                for name, value in zip(("p50", "p99", "p99.9"), latencies):
                    add(end_to_end_row(linger, idempotent, name), float(value))
                delete(topic)
            add(f"loopback TCP, {system} (MB/s)", float(run(physical, "loopback", "4096", system)))
            add("loopback TCP as the broker sends (MB/s)", float(run(physical, "loopback", "4096", broker)))
            add("sendfile of a cached file over loopback TCP as the broker sends (MB/s)",
                float(run(physical, "sendfile", scratch, "1024", broker)))
            add("sequential 1 MiB writes (MB/s)", float(run(physical, "write", scratch, "1024", "0")))
            add("sequential 1 MiB writes + fdatasync (MB/s)", float(run(physical, "write", scratch, "1024", "1")))
            p50, p99 = run(physical, "fdatasync", scratch, "500").split()
            add("fdatasync after 4 KiB, p50 (ms)", float(p50))
            add("fdatasync after 4 KiB, p99 (ms)", float(p99))
            add("generator alone (mock), 1 KiB (MB/s)", rate(run(generator, "produce", "mock", f"m{round_}", str(KIB_RECORDS), "1024", "1"), 1024)[0])
            # With 12 partitions librdkafka builds 12 batches per request and does more work per
            # record; its own ceiling for that load is lower than with one partition.
            generator_12 = rate(run(generator, "produce", "mock", f"m12-{round_}", str(KIB_RECORDS), "1024", "1", "12"), 1024)[0]
            add("generator alone (mock), 1 KiB, 12 partitions (MB/s)", generator_12)
            add("generator alone (mock), 100 B (M rec/s)", rate(run(generator, "produce", "mock", f"s{round_}", str(SMALL_RECORDS), "100", "1"), 100)[1] / 1e6)
            backlogs = {1: f"p1-all-{round_}", 12: f"p12-all-{round_}"}
            written: dict[int, float] = {}
            # The rows without fsync first: after many fsyncs this virtual disk stays slow for a
            # while, and page-cache writes are throttled with it (acks=1 on 12 partitions right
            # after the idempotent acks=all row: 193-254 MB/s, against 369-695 after the other one).
            # acks=all twice: with librdkafka's default (no idempotence), as the generator
            # ran, and idempotent, where librdkafka keeps one request per partition in flight
            # (see BENCHMARKS.md).
            for partitions, acks, idempotent in (
                (1, "1", False), (12, "1", False), (1, "all", False), (1, "all", True), (12, "all", False), (12, "all", True)
            ):
                mode = ", idempotent" if idempotent else ""
                topic = f"p{partitions}-{acks}{'-idempotent' if idempotent else ''}-{round_}"
                run(start_module.BINARY, "topic", "create", topic, "-p", str(partitions), "-b", brokers)
                if acks == "all":
                    # The virtual disk's speed drifts within minutes: its bound is taken right
                    # before each durable row.
                    disk = float(run(physical, "write", scratch, "256", "1"))
                    add(f"sequential 1 MiB writes + fdatasync, before acks=all{mode} with {partitions} partition(s) (MB/s)", disk)
                cpu_before = start_module.cpu_seconds(process.pid)
                output = subprocess.run(
                    [generator, "produce", brokers, topic, str(KIB_RECORDS), "1024", acks, str(partitions)], check=True,
                    capture_output=True, text=True,
                    env={**os.environ, "RDKAFKA_CONFIG": f"enable.idempotence={'true' if idempotent else 'false'}"}).stdout
                produced = rate(output, 1024)[0]
                add(f"produce 1 KiB, acks={acks}{mode}, {partitions} partition(s) (MB/s)", produced)
                if acks == "1":
                    written[partitions] = produced
                    if partitions == 12:
                        add("produce 1 KiB, acks=1, 12 partition(s), ratio to the generator alone with 12 partitions "
                            "in the same round", produced / generator_12)
                else:
                    # A durable produce cannot beat the same load at acks=1 either: where the disk
                    # is faster than the generator and broker together, that is the bound.
                    add(f"produce 1 KiB, acks=all{mode}, {partitions} partition(s), ratio to the lower of writes + "
                        "fdatasync and acks=1 in the same round", produced / min(disk, written[partitions]))
                if (acks, partitions) == ("1", 1):
                    add("broker CPU per GB produced, 1 KiB acks=1 (s)", (start_module.cpu_seconds(process.pid) - cpu_before) / (KIB_RECORDS * 1024 / 1e9))
                if topic not in backlogs.values():
                    delete(topic)
                if (acks, partitions) == ("1", 12):
                    topic = f"small-{round_}"
                    run(start_module.BINARY, "topic", "create", topic, "-p", "1", "-b", brokers)
                    add("produce 100 B, acks=1 (M rec/s)",
                        rate(run(generator, "produce", brokers, topic, str(SMALL_RECORDS), "100", "1"), 100)[1] / 1e6)
                    delete(topic)
            output = run(generator, "consume", brokers, backlogs[1], str(KIB_RECORDS))
            add("consume a 1 KiB backlog, 1 partition (MB/s)", rate(output, 1024)[0])
            # The broker's fetch path alone: raw Fetch requests, no client work per record, each
            # partition asked for 1 MiB (the clients' max.partition.fetch.bytes) or 16 MiB.
            for partitions, partition_max in ((1, 1 << 20), (12, 1 << 20), (1, 16 << 20)):
                records, fetched, seconds = run(
                    fetcher, "127.0.0.1", str(port), backlogs[partitions], str(KIB_RECORDS), str(partition_max), str(partitions)
                ).split()
                add(f"fetch a 1 KiB backlog, raw Fetch requests, {partitions} partition(s) of {partition_max >> 20} MiB (MB/s)",
                    int(fetched) / float(seconds) / 1e6)
            for backlog in backlogs.values():
                delete(backlog)
            add("broker RSS after the round (MB)", start_module.rss_kb(process.pid) / 1024)
    finally:
        process.terminate()
        process.wait()
        subprocess.run(["rm", "-rf", work])

    def median(name: str) -> float:
        return statistics.median(rows[name])

    bounds = {
        "produce 1 KiB, acks=1, 1 partition(s) (MB/s)": "generator alone (mock), 1 KiB (MB/s)",
        "produce 1 KiB, acks=1, 12 partition(s) (MB/s)": "generator alone (mock), 1 KiB (MB/s)",
        **{
            f"produce 1 KiB, acks=all{mode}, {partitions} partition(s) (MB/s)":
                f"sequential 1 MiB writes + fdatasync, before acks=all{mode} with {partitions} partition(s) (MB/s)"
            for partitions in (1, 12) for mode in ("", ", idempotent")
        },
        "produce 100 B, acks=1 (M rec/s)": "generator alone (mock), 100 B (M rec/s)",
        **{
            end_to_end_row(linger, idempotent, "p99.9"): f"{GROUP_COMMIT_BESIDE_GENERATOR}, p99.9 (ms)"
            for linger, idempotent in END_TO_END_LOADS
        },
        "consume a 1 KiB backlog, 1 partition (MB/s)": "loopback TCP as the broker sends (MB/s)",
        "fetch a 1 KiB backlog, raw Fetch requests, 1 partition(s) of 1 MiB (MB/s)": "loopback TCP as the broker sends (MB/s)",
        "fetch a 1 KiB backlog, raw Fetch requests, 12 partition(s) of 1 MiB (MB/s)": "loopback TCP as the broker sends (MB/s)",
        "fetch a 1 KiB backlog, raw Fetch requests, 1 partition(s) of 16 MiB (MB/s)":
            "sendfile of a cached file over loopback TCP as the broker sends (MB/s)",
    }
    print(f"| measurement | median of {rounds} (range) | ratio to its bound |")
    print("|---|---:|---|")
    for name, values in rows.items():
        ratio = f"{median(name) / median(bounds[name]):.2f} of {bounds[name]}" if name in bounds else ""
        print(f"| {name} | {median(name):.2f} ({min(values):.2f}-{max(values):.2f}) | {ratio} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
