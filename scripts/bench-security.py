#!/usr/bin/env python3
"""What security costs `samsa serve`, in one run: produce and consume throughput over TLS as a
ratio of plaintext (the librdkafka load generator, scripts/bench/rdkafka-bench.c), and SCRAM
authentications per second (SaslHandshake + two SaslAuthenticate round trips on fresh
connections, from PROCESSES client processes). Also a TLS consumer asking for 50 MiB per fetch,
and the broker's peak RSS after it. Median of ROUNDS rounds, with the range.

    scripts/bench-security.py [ROUNDS] [PROCESSES]      # default 3 rounds, 2 processes

Needs Debian's librdkafka-dev, openssl and a C compiler; builds samsa in release mode.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import multiprocessing
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests", "interop"))
from importlib import import_module

start_module = import_module("bench-start")
from security_fixtures import make_certificates  # noqa: E402

RECORDS = 500_000
LARGE_FETCHES = ",max.partition.fetch.bytes=52428800,fetch.max.bytes=52428800"
AUTH_SECONDS = 3.0


def run(*args: str, env: dict | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout.strip()


def peak_rss_mb(pid: int) -> float:
    """The peak resident set size of a process (VmHWM)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def mb_per_second(output: str, size: int = 1024) -> float:
    records, seconds = output.split()
    return int(records) * size / float(seconds) / 1e6


# --- SCRAM-SHA-256 client on a raw socket --------------------------------------------------------


def _frame(api_key: int, version: int, correlation: int, body: bytes) -> bytes:
    header = struct.pack(">hhih", api_key, version, correlation, 5) + b"bench"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def _receive(sock: socket.socket) -> bytes:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            chunk = sock.recv(count - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    size = struct.unpack(">i", exactly(4))[0]
    return exactly(size)[4:]


def _authenticate(port: int, user: str, salted_cache: dict) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        mechanism = b"SCRAM-SHA-256"
        sock.sendall(_frame(17, 1, 1, struct.pack(">h", len(mechanism)) + mechanism))
        assert struct.unpack(">h", _receive(sock)[:2])[0] == 0
        nonce = base64.b64encode(os.urandom(18)).decode()
        first_bare = f"n={user},r={nonce}"
        first = ("n,," + first_bare).encode()
        sock.sendall(_frame(36, 0, 2, struct.pack(">i", len(first)) + first))
        answer = _receive(sock)
        assert struct.unpack(">h", answer[:2])[0] == 0
        message_length = struct.unpack(">h", answer[2:4])[0]
        offset = 4 + max(message_length, 0)
        server_first = answer[offset + 4:].decode()
        attributes = dict(part.split("=", 1) for part in server_first.split(","))
        salt, iterations = base64.b64decode(attributes["s"]), int(attributes["i"])
        key = (salt, iterations)
        if key not in salted_cache:  # the client's own cost, paid once per user as real clients could
            salted_cache[key] = hashlib.pbkdf2_hmac("sha256", b"bench-secret", salt, iterations)
        salted = salted_cache[key]
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = f"c=biws,r={attributes['r']}"
        auth_message = f"{first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, signature))).decode()
        final = f"{without_proof},p={proof}".encode()
        sock.sendall(_frame(36, 0, 3, struct.pack(">i", len(final)) + final))
        assert struct.unpack(">h", _receive(sock)[:2])[0] == 0, "SCRAM authentication failed"


def _authenticate_for(port: int, seconds: float, results) -> None:
    cache: dict = {}
    count = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _authenticate(port, "bench", cache)
        count += 1
    results.put(count)


def scram_per_second(port: int, processes: int) -> float:
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_authenticate_for, args=(port, AUTH_SECONDS, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    total = sum(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / AUTH_SECONDS


def main(rounds: int, processes: int) -> None:
    subprocess.run(["swift", "build", "-c", "release", "--product", "samsa"], cwd=ROOT, check=True, capture_output=True)
    work = tempfile.mkdtemp()
    certs = make_certificates(Path(work) / "tls")
    generator = os.path.join(work, "rdkafka-bench")
    run("cc", "-O2", os.path.join(ROOT, "scripts/bench/rdkafka-bench.c"), "-lrdkafka", "-o", generator)
    plain_port, tls_port, sasl_port = start_module.free_port(), start_module.free_port(), start_module.free_port()
    listeners = f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{tls_port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}"
    process, _ = start_module.start(plain_port, os.path.join(work, "data"), (
        "--listeners", listeners, "--tls-cert", str(certs.broker_chain), "--tls-key", str(certs.broker_key),
        "--user", "bench:bench-secret", "--set", "connection.failed.authentication.delay.ms=0"))
    tls_env = {**os.environ, "RDKAFKA_CONFIG": f"security.protocol=SSL,ssl.ca.location={certs.ca}"}
    rows: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    try:
        for round_ in range(rounds):
            for name, port, env in (("plaintext", plain_port, None), ("TLS", tls_port, tls_env)):
                topic = f"{name}-{round_}"
                run(start_module.BINARY, "topic", "create", topic, "-p", "1", "-b", f"127.0.0.1:{plain_port}")
                add(f"produce 1 KiB acks=1, {name} (MB/s)",
                    mb_per_second(run(generator, "produce", f"127.0.0.1:{port}", topic, str(RECORDS), "1024", "1", env=env)))
                add(f"consume 1 KiB backlog, {name} (MB/s)",
                    mb_per_second(run(generator, "consume", f"127.0.0.1:{port}", topic, str(RECORDS), env=env)))
                if name == "TLS":
                    # A consumer asking for 50 MiB per fetch: the broker reads the records of an
                    # answer in chunks as the connection drains, so its memory stays flat.
                    large = {**env, "RDKAFKA_CONFIG": env["RDKAFKA_CONFIG"] + LARGE_FETCHES}
                    add("consume 1 KiB backlog, TLS, 50 MiB fetches (MB/s)",
                        mb_per_second(run(generator, "consume", f"127.0.0.1:{port}", topic, str(RECORDS), env=large)))
                    add("broker peak RSS so far (MB)", peak_rss_mb(process.pid))
            add("produce over TLS / plaintext", rows["produce 1 KiB acks=1, TLS (MB/s)"][-1] / rows["produce 1 KiB acks=1, plaintext (MB/s)"][-1])
            add("consume over TLS / plaintext", rows["consume 1 KiB backlog, TLS (MB/s)"][-1] / rows["consume 1 KiB backlog, plaintext (MB/s)"][-1])
            add(f"SCRAM-SHA-256 authentications/s ({processes} client processes)", scram_per_second(sasl_port, processes))
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(f"{'figure':60} {'median':>10} {'range':>22}")
    for name, values in rows.items():
        print(f"{name:60} {statistics.median(values):10.2f} {min(values):10.2f} .. {max(values):8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3, int(sys.argv[2]) if len(sys.argv) > 2 else 2)
