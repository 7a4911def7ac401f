"""The interoperability suite's broker and shared fixtures.

One `samsa serve` child process serves the whole session (built beforehand: $SAMSA_BIN, default
.build/debug/samsa), on a free port with a temporary data directory; it is stopped with SIGTERM at
the end and must exit with status 0. Tests that need an API the broker does not advertise FAIL
(with a message saying so): nothing is skipped.
"""

from __future__ import annotations


import pytest

from broker_process import BrokerProcess
from kafka_wire import RawConnection

# Auto-created topics get 3 partitions (the "create a topic with 3 partitions" via kcat).
DEFAULT_PARTITIONS = 3
# A small frame limit, so the oversized-frame test sends a frame that is really over it.
MAX_FRAME_BYTES = 4 * 1024 * 1024

API_KEYS = {
    "Produce": 0,
    "Fetch": 1,
    "ListOffsets": 2,
    "Metadata": 3,
    "OffsetCommit": 8,
    "OffsetFetch": 9,
    "FindCoordinator": 10,
    "JoinGroup": 11,
    "Heartbeat": 12,
    "LeaveGroup": 13,
    "SyncGroup": 14,
    "DescribeGroups": 15,
    "ListGroups": 16,
    "ApiVersions": 18,
    "CreateTopics": 19,
    "DeleteTopics": 20,
    "InitProducerId": 22,
    "AddPartitionsToTxn": 24,
    "AddOffsetsToTxn": 25,
    "EndTxn": 26,
    "TxnOffsetCommit": 28,
    "OffsetForLeaderEpoch": 23,
    "DescribeConfigs": 32,
    "CreatePartitions": 37,
    "DeleteGroups": 42,
    "IncrementalAlterConfigs": 44,
    "OffsetDelete": 47,
    "ConsumerGroupHeartbeat": 68,
}

def broker_args() -> list[str]:
    return ["--partitions", str(DEFAULT_PARTITIONS), "--set", f"socket.request.max.bytes={MAX_FRAME_BYTES}"]


@pytest.fixture(scope="session")
def broker():
    """The session's broker. Stopped with SIGTERM at the end; it must exit cleanly and in time."""
    process = BrokerProcess(broker_args())
    process.start()
    yield process
    try:
        if process.process is None:
            process.start()  # a failed restart left it down: start it so the clean stop is still checked
        process.stop_cleanly()
    finally:
        process.remove()


@pytest.fixture(autouse=True)
def _broker_is_up(request):
    """Fails the test (instead of letting it time out) if an earlier one left the broker dead."""
    if "broker" not in request.fixturenames:
        yield
        return
    broker = request.getfixturevalue("broker")
    if not broker.is_running():
        status = broker.process.returncode if broker.process is not None else "stopped"
        broker.process = None
        broker.start()
        pytest.fail(f"the broker had died before this test (status {status}); restarted it:\n{broker.log_tail()}")
    yield
    assert broker.is_running() or broker.process is None, f"the broker died during this test:\n{broker.log_tail()}"


@pytest.fixture(scope="session")
def bootstrap(broker) -> str:
    return broker.bootstrap


@pytest.fixture(scope="session")
def advertised(broker) -> dict[int, tuple[int, int]]:
    """The broker's ApiVersions: {api key: (min, max)}."""
    return broker.api_versions()


@pytest.fixture
def require(advertised):
    """`require("Produce", "Fetch")` fails the test at once when the broker does not advertise an
    API, instead of letting a client wait for its timeout."""

    def check(*names: str) -> None:
        missing = [f"{name} (key {API_KEYS[name]})" for name in names if API_KEYS[name] not in advertised]
        if missing:
            pytest.fail(f"not implemented: the broker does not advertise {', '.join(missing)}", pytrace=False)

    return check


def create_topic_via_metadata(broker, name: str) -> int:
    """Creates a topic by auto-creation (Metadata v1 naming it); returns its partition count."""
    with RawConnection(broker.host, broker.port) as conn:
        _brokers, topics = conn.metadata([name])
    error, count = topics[name]
    assert error in (0, 5), f"Metadata auto-creation of {name}: error {error}"  # 5: LEADER_NOT_AVAILABLE while creating
    if error == 5 or count == 0:
        with RawConnection(broker.host, broker.port) as conn:
            error, count = conn.metadata([name])[1][name]
    assert error == 0, f"Metadata of auto-created {name}: error {error}"
    return count


@pytest.fixture
def new_topic(broker):
    """Makes a fresh auto-created topic with DEFAULT_PARTITIONS partitions and returns its name."""
    from clients import unique_topic

    def make(prefix: str = "t") -> str:
        name = unique_topic(prefix)
        count = create_topic_via_metadata(broker, name)
        assert count == DEFAULT_PARTITIONS, f"auto-created {name} has {count} partitions, expected {DEFAULT_PARTITIONS}"
        return name

    return make
