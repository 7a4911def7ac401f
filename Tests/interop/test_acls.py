"""ACLs (issue 12): Kafka's authorizer model against confluent-kafka clients.

A broker with `authorizer.class.name` set and `super.users=User:admin` listens on SASL_PLAINTEXT
(PLAIN) for admin, alice and bob. admin writes the ACLs through the Admin API; alice and bob then
find what they may do and what they may not.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient, NewTopic,
                                   ResourcePatternType, ResourceType)

from broker_process import BrokerProcess, free_port
from clients import CLIENT_TIMEOUT
from security_fixtures import CLIENT_SUBJECT, librdkafka_settings, make_certificates

USERS = {"admin": "admin-secret", "alice": "alice-secret", "bob": "bob-secret"}


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory):
    sasl_port, ssl_port = free_port(), free_port()
    certificates = make_certificates(tmp_path_factory.mktemp("acl-tls"))
    process = BrokerProcess(name="acls")
    process.extra_args = [
        "--listeners",
        f"PLAINTEXT://127.0.0.1:{process.port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},SSL://127.0.0.1:{ssl_port}",
        "--tls-cert", str(certificates.broker_chain), "--tls-key", str(certificates.broker_key),
        "--tls-ca", str(certificates.ca), "--client-auth", "required",
        "--set", "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "--set", "super.users=User:admin",
        "--set", "connection.failed.authentication.delay.ms=0",
        "--no-auto-create-topics",
        *[arg for user, password in USERS.items() for arg in ("--user", f"{user}:{password}")],
    ]
    process.start()
    process.sasl_port = sasl_port
    process.ssl_port = ssl_port
    process.certificates = certificates
    yield process
    try:
        process.stop_cleanly()
    finally:
        process.remove()


def settings(broker, user: str) -> dict:
    return {"bootstrap.servers": f"127.0.0.1:{broker.sasl_port}", "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanisms": "PLAIN", "sasl.username": user, "sasl.password": USERS[user], "socket.timeout.ms": 10_000}


def acl(resource_type, name, pattern, principal, operation, permission=AclPermissionType.ALLOW) -> AclBinding:
    return AclBinding(resource_type, name, pattern, principal, "*", operation, permission)


@pytest.fixture(scope="module")
def world(acl_broker):
    """Topics and ACLs: alice may use `orders-*` but not read `orders-secret`, her group and
    transactional id; bob may only join his group."""
    suffix = uuid.uuid4().hex[:6]
    names = {"orders": f"orders-{suffix}", "secret": f"orders-secret-{suffix}", "private": f"private-{suffix}",
             "mtls": f"mtls-{suffix}"}
    admin = AdminClient(settings(acl_broker, "admin"))
    for future in admin.create_topics([NewTopic(name, 1, 1) for name in names.values()]).values():
        future.result(timeout=CLIENT_TIMEOUT)
    bindings = [
        acl(ResourceType.TOPIC, "orders-", ResourcePatternType.PREFIXED, "User:alice", AclOperation.WRITE),
        acl(ResourceType.TOPIC, "orders-", ResourcePatternType.PREFIXED, "User:alice", AclOperation.READ),
        acl(ResourceType.TOPIC, names["secret"], ResourcePatternType.LITERAL, "User:alice", AclOperation.READ, AclPermissionType.DENY),
        acl(ResourceType.GROUP, "alice-group", ResourcePatternType.LITERAL, "User:alice", AclOperation.READ),
        acl(ResourceType.TRANSACTIONAL_ID, "alice-tx", ResourcePatternType.LITERAL, "User:alice", AclOperation.WRITE),
        acl(ResourceType.GROUP, "bob-group", ResourcePatternType.LITERAL, "User:bob", AclOperation.READ),
        acl(ResourceType.TOPIC, "mtls-", ResourcePatternType.PREFIXED, f"User:{CLIENT_SUBJECT}", AclOperation.WRITE),
    ]
    for future in admin.create_acls(bindings).values():
        future.result(timeout=CLIENT_TIMEOUT)
    return {"names": names, "bindings": bindings, "admin": admin}


def produce(broker, user: str, topic: str, **extra) -> KafkaError | None:
    errors: list = []
    producer = Producer({**settings(broker, user), "message.timeout.ms": 5000, **extra})
    producer.produce(topic, value=b"v", on_delivery=lambda error, _message: errors.append(error))
    producer.flush(CLIENT_TIMEOUT)
    assert errors, f"{user}: no delivery report for {topic}"
    return errors[0]


def consume_error(broker, user: str, topic: str, group: str) -> KafkaError | None:
    """The first error a group consumer of `user` gets on `topic`, or None once it read a record."""
    consumer = Consumer({**settings(broker, user), "group.id": group, "auto.offset.reset": "earliest",
                         "session.timeout.ms": 6000})
    try:
        consumer.subscribe([topic])
        import time

        deadline = time.monotonic() + CLIENT_TIMEOUT
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error() is None:
                return None
            if message.error().code() != KafkaError._PARTITION_EOF:
                return message.error()
        raise AssertionError(f"{user} neither read {topic} nor got an error")
    finally:
        consumer.close()


def test_metadata_shows_only_the_topics_a_principal_may_describe(acl_broker, world):
    names = world["names"]
    alice = set(AdminClient(settings(acl_broker, "alice")).list_topics(timeout=CLIENT_TIMEOUT).topics)
    assert names["orders"] in alice and names["secret"] in alice, "prefixed WRITE/READ imply DESCRIBE"
    assert names["private"] not in alice
    bob = set(AdminClient(settings(acl_broker, "bob")).list_topics(timeout=CLIENT_TIMEOUT).topics)
    assert not set(names.values()) & bob


def test_prefixed_acl_allows_writing_and_reading_in_the_members_group(acl_broker, world):
    topic = world["names"]["orders"]
    assert produce(acl_broker, "alice", topic) is None
    assert consume_error(acl_broker, "alice", topic, "alice-group") is None


def test_writing_a_topic_without_an_acl_is_refused(acl_broker, world):
    error = produce(acl_broker, "alice", world["names"]["private"])
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error


def test_deny_beats_allow(acl_broker, world):
    topic = world["names"]["secret"]
    assert produce(acl_broker, "alice", topic) is None, "only READ is denied"
    error = consume_error(acl_broker, "alice", topic, "alice-group")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error


def test_group_member_without_read_on_the_topic_is_refused(acl_broker, world):
    error = consume_error(acl_broker, "bob", world["names"]["orders"], "bob-group")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error


def test_group_without_an_acl_is_refused(acl_broker, world):
    error = consume_error(acl_broker, "alice", world["names"]["orders"], "someone-elses-group")
    assert error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error


def test_transactional_id_without_write_is_refused(acl_broker, world):
    refused = Producer({**settings(acl_broker, "alice"), "transactional.id": "other-tx"})
    with pytest.raises(KafkaException) as raised:
        refused.init_transactions(CLIENT_TIMEOUT)
    assert raised.value.args[0].code() == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, raised.value

    allowed = Producer({**settings(acl_broker, "alice"), "transactional.id": "alice-tx"})
    allowed.init_transactions(CLIENT_TIMEOUT)
    allowed.begin_transaction()
    allowed.produce(world["names"]["orders"], value=b"in a transaction")
    allowed.commit_transaction(CLIENT_TIMEOUT)


def test_cluster_operations_need_acls_and_acls_are_kept_across_restarts(acl_broker, world):
    # kafka-python reports DescribeAcls' error code (confluent-kafka 2.16 returns an empty list).
    from kafka import KafkaAdminClient
    from kafka.admin import ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePatternFilter
    from kafka.admin import ResourceType as KafkaPythonResourceType
    from kafka.errors import ClusterAuthorizationFailedError

    alice_admin = KafkaAdminClient(bootstrap_servers=f"127.0.0.1:{acl_broker.sasl_port}", security_protocol="SASL_PLAINTEXT",
                                   sasl_mechanism="PLAIN", sasl_plain_username="alice", sasl_plain_password=USERS["alice"])
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            alice_admin.describe_acls(ACLFilter(
                principal=None, host="*", operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
                resource_pattern=ResourcePatternFilter(KafkaPythonResourceType.ANY, None, ACLResourcePatternType.ANY)))
    finally:
        alice_admin.close()

    acl_broker.restart()
    admin = AdminClient(settings(acl_broker, "admin"))
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY)
    described = admin.describe_acls(everything).result(timeout=CLIENT_TIMEOUT)
    assert set(map(str, described)) >= set(map(str, world["bindings"])), "ACLs were lost across a restart"

    # Deleting alice's prefixed WRITE takes her right to produce away.
    write = AclBindingFilter(ResourceType.TOPIC, "orders-", ResourcePatternType.PREFIXED, "User:alice", None, AclOperation.WRITE,
                             AclPermissionType.ALLOW)
    deleted = admin.delete_acls([write])[write].result(timeout=CLIENT_TIMEOUT)
    assert len(deleted) == 1
    error = produce(acl_broker, "alice", world["names"]["orders"])
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error


def test_an_mtls_client_acts_as_its_certificates_subject(acl_broker, world):
    """The SSL listener's principal is User:CN=alice,O=Samsa: the ACL naming it lets the
    client write `mtls-*` and nothing else."""
    settings = {"bootstrap.servers": f"127.0.0.1:{acl_broker.ssl_port}", **librdkafka_settings("mtls", acl_broker.certificates),
                "message.timeout.ms": 5000}
    for topic, expected in ((world["names"]["mtls"], None), (world["names"]["orders"], KafkaError.TOPIC_AUTHORIZATION_FAILED)):
        errors: list = []
        producer = Producer(settings)
        producer.produce(topic, value=b"over mTLS", on_delivery=lambda error, _message: errors.append(error))
        producer.flush(CLIENT_TIMEOUT)
        assert errors, f"no delivery report for {topic}"
        code = errors[0].code() if errors[0] is not None else None
        assert code == expected, f"{topic}: {errors[0]}"
