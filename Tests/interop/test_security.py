"""Security (issue 12): TLS, mTLS, SASL PLAIN and SCRAM with real clients, and what is refused.

One broker for the module listens on PLAINTEXT (for setting up and checking), SASL_PLAINTEXT,
SASL_SSL and SSL with required client certificates. Each of confluent-kafka, kafka-python,
aiokafka and kcat produces, consumes in a group and commits over SASL_SSL with SCRAM-SHA-512,
SASL_PLAINTEXT with PLAIN and mTLS; the commits are then read back over PLAINTEXT.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
import uuid

import pytest

from clients import CLIENT_TIMEOUT, REQUEST_TIMEOUT_MS, run_async, unique_topic
from conftest import create_topic_via_metadata
from kafka_wire import (ConnectionClosed, RawConnection, Reader, api_versions_v0, frame, int16, int32, metadata_v1,
                        nullable_bytes, parse_api_versions_v0, request_header_v1, string)
from security_fixtures import (CLIENT_SUBJECT, LISTENER_OF_MODE, MODES, USERS, SecureBroker, aiokafka_settings,
                               kafka_python_settings, librdkafka_settings, make_certificates)

RECORDS = 12
SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36
SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM = 58, 33


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def secure(certificates):
    broker = SecureBroker(certificates)
    broker.process.start()
    yield broker
    try:
        broker.process.stop_cleanly()
    finally:
        broker.process.remove()


def plaintext_topic(secure) -> str:
    name = unique_topic("sec")
    assert create_topic_via_metadata(secure.process, name) == 3
    return name


def committed_total(secure, topic: str, group: str) -> int:
    """The sum of `group`'s committed offsets on `topic`, read over PLAINTEXT."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": secure.bootstrap("PLAINTEXT"), "group.id": group, "enable.auto.commit": False})
    try:
        offsets = consumer.committed([TopicPartition(topic, p) for p in range(3)], timeout=CLIENT_TIMEOUT)
    finally:
        consumer.close()
    return sum(max(tp.offset, 0) for tp in offsets)


# --- each client: produce, consume in a group, commit -------------------------------------------------


def run_confluent(secure, mode, topic, group) -> list[bytes]:
    from confluent_kafka import Consumer, Producer

    settings = librdkafka_settings(mode, secure.certificates)
    bootstrap = secure.bootstrap(LISTENER_OF_MODE[mode])
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "socket.timeout.ms": REQUEST_TIMEOUT_MS, **settings})
    errors = []
    for i in range(RECORDS):
        producer.produce(topic, key=f"k{i}".encode(), value=f"confluent-{mode}-{i}".encode(),
                         on_delivery=lambda error, _message: error and errors.append(error))
    assert producer.flush(CLIENT_TIMEOUT) == 0 and not errors, f"confluent-kafka over {mode}: {errors}"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
                         "enable.auto.commit": False, **settings})
    values = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while len(values) < RECORDS:
            assert time.monotonic() < deadline, f"confluent-kafka over {mode}: {len(values)} of {RECORDS} records"
            message = consumer.poll(0.2)
            if message is not None:
                assert message.error() is None, f"confluent-kafka over {mode}: {message.error()}"
                values.append(message.value())
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return values


def run_kafka_python(secure, mode, topic, group) -> list[bytes]:
    from kafka import KafkaConsumer, KafkaProducer

    settings = kafka_python_settings(mode, secure.certificates)
    bootstrap = secure.bootstrap(LISTENER_OF_MODE[mode])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=REQUEST_TIMEOUT_MS, **settings)
    try:
        futures = [producer.send(topic, key=f"k{i}".encode(), value=f"kafka-python-{mode}-{i}".encode()) for i in range(RECORDS)]
        for future in futures:
            future.get(timeout=CLIENT_TIMEOUT)
    finally:
        producer.close(timeout=5)
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, session_timeout_ms=6000, request_timeout_ms=REQUEST_TIMEOUT_MS,
                             **settings)
    values = []
    try:
        deadline = time.monotonic() + CLIENT_TIMEOUT
        while len(values) < RECORDS:
            assert time.monotonic() < deadline, f"kafka-python over {mode}: {len(values)} of {RECORDS} records"
            for batch in consumer.poll(timeout_ms=200).values():
                values.extend(m.value for m in batch)
        consumer.commit()
    finally:
        consumer.close()
    return values


def run_aiokafka(secure, mode, topic, group) -> list[bytes]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    bootstrap = secure.bootstrap(LISTENER_OF_MODE[mode])

    async def scenario():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=REQUEST_TIMEOUT_MS,
                                    **aiokafka_settings(mode, secure.certificates))
        await producer.start()
        try:
            for i in range(RECORDS):
                await producer.send_and_wait(topic, key=f"k{i}".encode(), value=f"aiokafka-{mode}-{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, auto_offset_reset="earliest",
                                    enable_auto_commit=False, request_timeout_ms=REQUEST_TIMEOUT_MS,
                                    **aiokafka_settings(mode, secure.certificates))
        await consumer.start()
        values = []
        try:
            deadline = time.monotonic() + CLIENT_TIMEOUT
            while len(values) < RECORDS:
                assert time.monotonic() < deadline, f"aiokafka over {mode}: {len(values)} of {RECORDS} records"
                for batch in (await consumer.getmany(timeout_ms=200)).values():
                    values.extend(m.value for m in batch)
            await consumer.commit()
        finally:
            await consumer.stop()
        return values

    return run_async(scenario(), timeout=CLIENT_TIMEOUT * 2)


def kcat_args(secure, mode) -> list[str]:
    args = ["-b", secure.bootstrap(LISTENER_OF_MODE[mode])]
    for key, value in librdkafka_settings(mode, secure.certificates).items():
        args += ["-X", f"{key}={value}"]
    return args


def run_kcat(secure, mode, topic, group) -> list[bytes]:
    lines = b"".join(f"kcat-{mode}-{i}\n".encode() for i in range(RECORDS))
    produced = subprocess.run(["kcat", *kcat_args(secure, mode), "-P", "-t", topic, "-X", "acks=all"], input=lines,
                              capture_output=True, timeout=CLIENT_TIMEOUT)
    assert produced.returncode == 0, f"kcat -P over {mode}: {produced.stderr.decode(errors='replace')}"
    # A balanced consumer (-G) that stops after the records and commits them as it closes.
    consumed = subprocess.run(["kcat", *kcat_args(secure, mode), "-G", group, "-c", str(RECORDS), "-f", "%s\n",
                               "-X", "auto.offset.reset=earliest", topic], capture_output=True, timeout=CLIENT_TIMEOUT * 2)
    assert consumed.returncode == 0, f"kcat -G over {mode}: {consumed.stderr.decode(errors='replace')}"
    return consumed.stdout.splitlines()


CLIENT_RUNS = {"confluent-kafka": run_confluent, "kafka-python": run_kafka_python, "aiokafka": run_aiokafka, "kcat": run_kcat}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("client", list(CLIENT_RUNS))
def test_client_produces_consumes_in_a_group_and_commits(secure, client, mode):
    topic = plaintext_topic(secure)
    group = f"sec-{client}-{mode}-{uuid.uuid4().hex[:6]}"
    values = CLIENT_RUNS[client](secure, mode, topic, group)
    prefix = {"confluent-kafka": "confluent", "kafka-python": "kafka-python", "aiokafka": "aiokafka", "kcat": "kcat"}[client]
    assert sorted(values) == sorted(f"{prefix}-{mode}-{i}".encode() for i in range(RECORDS))
    assert committed_total(secure, topic, group) == RECORDS, f"{client} over {mode}: the group's commits are not all there"


# --- refused: nothing is served past authentication ------------------------------------------------


def sasl_handshake_v1(correlation_id: int, mechanism: str) -> bytes:
    return frame(request_header_v1(SASL_HANDSHAKE, 1, correlation_id) + string(mechanism))


def sasl_authenticate_v0(correlation_id: int, token: bytes) -> bytes:
    return frame(request_header_v1(SASL_AUTHENTICATE, 0, correlation_id) + nullable_bytes(token))


def parse_handshake(body: bytes) -> tuple[int, list[str]]:
    reader = Reader(body)
    error = reader.int16()
    return error, [reader.string() for _ in range(reader.int32())]


def parse_authenticate_v0(body: bytes) -> tuple[int, str | None]:
    reader = Reader(body)
    return reader.int16(), reader.string()


def plain_token(user: str, password: str) -> bytes:
    return b"\0" + user.encode() + b"\0" + password.encode()


def assert_nothing_served_after(conn: RawConnection) -> None:
    """A Metadata request on `conn` gets no answer: the connection is closed."""
    try:
        conn.send(metadata_v1(conn.next_id(), []))
    except OSError:
        return
    conn.expect_closed()


def test_plain_with_the_right_password_serves_metadata_on_the_raw_socket(secure):
    with RawConnection("127.0.0.1", secure.ports["SASL_PLAINTEXT"]) as conn:
        cid = conn.next_id()
        conn.send(sasl_handshake_v1(cid, "PLAIN"))
        error, mechanisms = parse_handshake(conn.receive(cid))
        assert error == 0 and set(mechanisms) == {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}
        cid = conn.next_id()
        conn.send(sasl_authenticate_v0(cid, plain_token("alice", USERS["alice"])))
        assert parse_authenticate_v0(conn.receive(cid))[0] == 0
        brokers, _topics = conn.metadata([])
        assert brokers == [(1, "127.0.0.1", secure.ports["SASL_PLAINTEXT"])], "Metadata advertises the listener asked"


@pytest.mark.parametrize("user,password", [("alice", "wrong-password"), ("nobody", "whatever")])
def test_wrong_password_or_unknown_user_is_refused_and_closed(secure, user, password):
    with RawConnection("127.0.0.1", secure.ports["SASL_PLAINTEXT"]) as conn:
        cid = conn.next_id()
        conn.send(sasl_handshake_v1(cid, "PLAIN"))
        assert parse_handshake(conn.receive(cid))[0] == 0
        cid = conn.next_id()
        conn.send(sasl_authenticate_v0(cid, plain_token(user, password)))
        error, message = parse_authenticate_v0(conn.receive(cid))
        assert error == SASL_AUTHENTICATION_FAILED and message
        assert_nothing_served_after(conn)
    log = secure.process.log_text()
    assert f"user={user}" in log and "mechanism=PLAIN" in log and "authentication failed" in log
    assert password not in log, "a password reached the log"


def test_unsupported_mechanism_is_refused_and_closed(secure):
    with RawConnection("127.0.0.1", secure.ports["SASL_PLAINTEXT"]) as conn:
        cid = conn.next_id()
        conn.send(sasl_handshake_v1(cid, "GSSAPI"))
        error, mechanisms = parse_handshake(conn.receive(cid))
        assert error == UNSUPPORTED_SASL_MECHANISM and "SCRAM-SHA-512" in mechanisms
        assert_nothing_served_after(conn)


@pytest.mark.parametrize("listener", ["SASL_PLAINTEXT"])
def test_requests_before_authentication_are_not_served(secure, listener):
    port = secure.ports[listener]
    with RawConnection("127.0.0.1", port) as conn:
        # ApiVersions is served before authentication...
        cid = conn.next_id()
        conn.send(api_versions_v0(cid))
        error, versions = parse_api_versions_v0(conn.receive(cid))
        assert error == 0 and SASL_HANDSHAKE in versions
        # ...Metadata is not.
        assert_nothing_served_after(conn)
    with RawConnection("127.0.0.1", port) as conn:
        from kafka_wire import produce_v3, record_batch

        conn.send(produce_v3(conn.next_id(), "sec-refused", 0, record_batch([b"x"])))
        conn.expect_closed()
    assert "sec-refused" not in [t for t in _topics_over_plaintext(secure)], "a refused Produce created its topic"


def _topics_over_plaintext(secure) -> list[str]:
    with RawConnection("127.0.0.1", secure.ports["PLAINTEXT"]) as conn:
        cid = conn.next_id()
        conn.send(frame(request_header_v1(3, 1, cid) + int32(-1)))
        from kafka_wire import parse_metadata_v1

        return list(parse_metadata_v1(conn.receive(cid))[1])


def test_pre_authentication_frames_over_the_sasl_limit_are_refused(secure):
    # 600 KiB is under socket.request.max.bytes but over sasl.server.max.receive.size (512 KiB).
    with RawConnection("127.0.0.1", secure.ports["SASL_PLAINTEXT"]) as conn:
        cid = conn.next_id()
        conn.send(sasl_handshake_v1(cid, "PLAIN"))
        assert parse_handshake(conn.receive(cid))[0] == 0
        body = request_header_v1(SASL_AUTHENTICATE, 0, conn.next_id()) + nullable_bytes(b"\0" * (600 * 1024))
        try:
            conn.send(frame(body))
        except OSError:
            pass
        conn.expect_closed()
    # The same size on PLAINTEXT is only a bad request to the broker, which keeps serving.
    assert secure.process.is_running()
    assert secure.process.api_versions()


def test_a_plaintext_client_on_a_tls_port_gets_no_kafka_answer(secure):
    for listener in ("SSL", "SASL_SSL"):
        with socket.create_connection(("127.0.0.1", secure.ports[listener]), timeout=5) as sock:
            sock.sendall(api_versions_v0(7))
            received = b""
            try:
                while chunk := sock.recv(4096):
                    received += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        # A Kafka answer would start with a sane size and correlation id 7; TLS answers with an alert.
        assert not (len(received) >= 8 and received[4:8] == int32(7)), f"{listener} answered plaintext: {received[:32]!r}"


@pytest.mark.parametrize("certificate", ["none", "untrusted"])
def test_mtls_listener_refuses_clients_without_a_trusted_certificate(secure, certificate):
    certs = secure.certificates
    context = ssl.create_default_context(cafile=str(certs.ca))
    if certificate == "untrusted":
        context.load_cert_chain(str(certs.stranger_chain), str(certs.stranger_key))
    with socket.create_connection(("127.0.0.1", secure.ports["SSL"]), timeout=5) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.sendall(api_versions_v0(9))
                data = tls.recv(4096)
                assert data == b"", f"the broker answered a client with {certificate} certificate: {data[:16]!r}"
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            pass  # refused during or right after the handshake


def test_confluent_with_a_wrong_scram_password_fails_and_the_log_names_the_user(secure):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": secure.bootstrap("SASL_SSL"),
                         **librdkafka_settings("sasl_ssl_scram512", secure.certificates, password="not-it"), "log_level": 0})
    with pytest.raises(Exception):
        admin.list_topics(timeout=3)
    assert "user=alice" in secure.process.log_text() and "mechanism=SCRAM-SHA-512" in secure.process.log_text()
    assert "not-it" not in secure.process.log_text()


# --- SCRAM users through the admin API -------------------------------------------------------------


def test_scram_users_are_created_described_deleted_and_kept_across_restarts(secure):
    from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                       UserScramCredentialUpsertion)

    user = f"bob{uuid.uuid4().hex[:6]}"

    def admin():
        return AdminClient({"bootstrap.servers": secure.bootstrap("SASL_SSL"),
                            **librdkafka_settings("sasl_ssl_scram512", secure.certificates, user="admin")})

    def can_log_in(password: str) -> bool:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        try:
            client = KafkaAdminClient(bootstrap_servers=secure.bootstrap("SASL_SSL"), request_timeout_ms=5000,
                                      **kafka_python_settings("sasl_ssl_scram512", secure.certificates, user=user, password=password))
        except (KafkaError, OSError):
            return False
        client.close()
        return True

    client = admin()
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192)
    results = client.alter_user_scram_credentials([UserScramCredentialUpsertion(user, info, b"bobs-password")])
    results[user].result(timeout=CLIENT_TIMEOUT)
    described = client.describe_user_scram_credentials([user])[user].result(timeout=CLIENT_TIMEOUT)
    assert [(i.mechanism, i.iterations) for i in described.scram_credential_infos] == [(ScramMechanism.SCRAM_SHA_512, 8192)]
    assert can_log_in("bobs-password") and not can_log_in("someone-elses")

    # Too few iterations is refused with UNACCEPTABLE_CREDENTIAL.
    weak = client.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"x")])
    with pytest.raises(Exception, match="(?i)iterations|UNACCEPTABLE"):
        weak[user].result(timeout=CLIENT_TIMEOUT)

    secure.process.restart()
    assert can_log_in("bobs-password"), "a SCRAM credential was lost across a restart"
    client = admin()
    client.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)])[user].result(
        timeout=CLIENT_TIMEOUT)
    assert not can_log_in("bobs-password")
    with pytest.raises(Exception, match="(?i)not.*exist|RESOURCE_NOT_FOUND"):
        client.describe_user_scram_credentials([user])[user].result(timeout=CLIENT_TIMEOUT)


# --- abuse: the broker keeps serving others, within a memory bound ----------------------------------

RSS_BOUND_MB = 300  # the broker's resident memory during the abuse (a debug build idles near 40 MB)


def broker_rss_mb(process) -> float:
    with open(f"/proc/{process.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS for the broker")


def raise_open_file_limit(wanted: int) -> int:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def served_after_abuse(secure) -> None:
    """A real client still produces and reads back over SASL_SSL."""
    topic = plaintext_topic(secure)
    values = run_confluent(secure, "sasl_ssl_scram512", topic, f"after-abuse-{uuid.uuid4().hex[:6]}")
    assert len(values) == RECORDS


def test_a_thousand_abandoned_connections_and_full_pre_auth_frames(secure):
    limit = raise_open_file_limit(4096)
    assert limit >= 1100, f"this test needs 1,100 open files; the limit here is {limit}"
    port = secure.ports["SASL_PLAINTEXT"]
    sockets = []
    try:
        for index in range(1000):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if index % 10 == 0:
                # A frame just under sasl.server.max.receive.size, never finished.
                sock.sendall(int32(512 * 1024 - 16) + b"\0" * 4096)
            sockets.append(sock)
        rss_during = broker_rss_mb(secure.process)
    finally:
        for sock in sockets:
            sock.close()
    served_after_abuse(secure)
    print(f"\nbroker RSS with 1,000 abandoned connections open: {rss_during:.1f} MB (bound {RSS_BOUND_MB} MB)")
    assert rss_during < RSS_BOUND_MB


def test_slowloris_frames_are_cut_and_others_are_served(secure):
    port = secure.ports["SASL_PLAINTEXT"]
    stalled = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(int32(100) + b"\0\x11")  # a frame of 100 bytes, 2 of them sent
        stalled.append(sock)
    served_after_abuse(secure)
    for sock in stalled:
        # request.arrival.timeout.ms is 1 s here: each connection is closed without an answer.
        try:
            assert sock.recv(16) == b"", "the broker answered a partial frame"
        except ConnectionResetError:
            pass
        sock.close()
    assert "did not arrive whole" in secure.process.log_text()


# --- re-authentication (KIP-368) ------------------------------------------------------------------


def test_sessions_are_reauthenticated_without_interrupting_a_producer(certificates):
    """With connections.max.reauth.ms set, librdkafka re-authenticates its connections before
    they expire, and the broker serves it on: every record is delivered, none fails."""
    from confluent_kafka import Producer

    broker = SecureBroker(certificates, ["--set", "connections.max.reauth.ms=2000", "--log-level", "debug"])
    broker.process.start()
    try:
        topic = plaintext_topic(broker)
        failures: list = []
        delivered: list = []
        producer = Producer({"bootstrap.servers": broker.bootstrap("SASL_SSL"), "linger.ms": 0,
                             **librdkafka_settings("sasl_ssl_scram512", certificates),
                             "on_delivery": lambda error, _message: (failures if error else delivered).append(error)})
        deadline = time.monotonic() + 60
        sent = 0
        # Produces until the broker has logged a re-authentication (an event, not a duration).
        while "re-authenticated" not in broker.process.log_text():
            assert time.monotonic() < deadline, "no re-authentication within 60 s"
            producer.produce(topic, value=f"r{sent}".encode())
            sent += 1
            producer.poll(0.05)
        for _ in range(5):
            producer.produce(topic, value=f"r{sent}".encode())
            sent += 1
        assert producer.flush(CLIENT_TIMEOUT) == 0
        assert not failures and len(delivered) == sent
        assert "expired" not in broker.process.log_text(), "a request arrived on an expired session"
    finally:
        try:
            broker.process.stop_cleanly()
        finally:
            broker.process.remove()


# --- the samsa tools (SamsaClient) over TLS and SASL ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_samsa_tools_produce_and_consume_over_each_listener(secure, mode):
    from broker_process import broker_binary

    topic = plaintext_topic(secure)
    options = ["-b", secure.bootstrap(LISTENER_OF_MODE[mode])]
    for key, value in librdkafka_settings(mode, secure.certificates).items():
        options += ["-X", f"{key.replace('sasl.mechanisms', 'sasl.mechanism')}={value}"]
    lines = b"".join(f"tool-{mode}-{i}\n".encode() for i in range(RECORDS))
    produced = subprocess.run([str(broker_binary()), "produce", topic, *options], input=lines, capture_output=True,
                              timeout=CLIENT_TIMEOUT)
    assert produced.returncode == 0, produced.stderr.decode(errors="replace")
    consumed = subprocess.run([str(broker_binary()), "consume", topic, "--from", "beginning", "-e", *options],
                              capture_output=True, timeout=CLIENT_TIMEOUT)
    assert consumed.returncode == 0, consumed.stderr.decode(errors="replace")
    assert sorted(consumed.stdout.splitlines()) == sorted(lines.splitlines())


def test_samsa_tools_report_a_wrong_password_in_one_line(secure):
    from broker_process import broker_binary

    options = ["-b", secure.bootstrap("SASL_SSL")]
    for key, value in librdkafka_settings("sasl_ssl_scram512", secure.certificates, password="wrong").items():
        options += ["-X", f"{key.replace('sasl.mechanisms', 'sasl.mechanism')}={value}"]
    result = subprocess.run([str(broker_binary()), "topic", "list", *options], capture_output=True, timeout=CLIENT_TIMEOUT)
    assert result.returncode != 0
    message = result.stderr.decode(errors="replace").strip()
    assert "SASL_AUTHENTICATION_FAILED" in message and len(message.splitlines()) == 1, message
