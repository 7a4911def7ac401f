"""Debian's Go clients against samsa serve: sarama 1.22 and kafka-go 0.2.1, which still speak
the versions and message formats Kafka 4 dropped (Produce v0-2, Fetch v0-3, OffsetCommit v1,
DescribeConfigs v0, CreateTopics v0...). The check programs in Tests/interop/go are built
offline in GOPATH mode against /usr/share/gocode; each prints one line per check and exits 1
on the first failure."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

GO_SOURCES = Path(__file__).parent / "go"
GOPATH = "/usr/share/gocode"
# The first test builds the programs (sarama links a cgo zstd): allow for that.
pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="session")
def go_programs(tmp_path_factory) -> dict[str, Path]:
    """Builds the check programs once. Go and the Debian packages come from
    scripts/install-test-deps.sh; without them this fails rather than skips."""
    go = shutil.which("go")
    assert go, "Go is not installed: run scripts/install-test-deps.sh (golang-go)"
    out = tmp_path_factory.mktemp("go-bin")
    env = dict(os.environ, GOPATH=GOPATH, GO111MODULE="off", GOFLAGS="", GOCACHE=str(out / "cache"), CGO_ENABLED="1")
    programs = {}
    for name in ("sarama", "kafkago"):
        binary = out / name
        build = subprocess.run([go, "build", "-o", str(binary), "."], cwd=GO_SOURCES / name, env=env,
                               capture_output=True, text=True, timeout=300)
        assert build.returncode == 0, f"building {name} failed:\n{build.stdout}\n{build.stderr}"
        programs[name] = binary
    return programs


def run_check(program: Path, *args: str) -> list[str]:
    result = subprocess.run([str(program), *args], capture_output=True, text=True, timeout=150)
    lines = result.stdout.splitlines()
    assert result.returncode == 0, f"{program.name} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return lines


def test_kafka_go(broker, go_programs):
    """CreateTopics v0, a Hash-balanced acks=-1 writer (Produce v2, magic 1), readers by
    partition (Fetch v2) checking offsets and the balancer's partition, gzip, a group reader
    (JoinGroup v1, SyncGroup v0, OffsetCommit v2) and DeleteTopics v1."""
    lines = run_check(go_programs["kafkago"], broker.bootstrap, f"kg-{uuid.uuid4().hex[:8]}")
    assert lines == ["ok create-topics", "ok write-hash-acks-all", "ok read-partitions", "ok gzip", "ok group",
                     "ok delete-topics"]


@pytest.mark.parametrize("version", ["1.0.0", "2.2.0"])
def test_sarama(broker, go_programs, version):
    """ClusterAdmin (CreateTopics, Metadata, DescribeConfigs v0 at 1.0.0, DescribeCluster,
    ListGroups, OffsetFetch, DeleteTopics), a snappy keyed SyncProducer with acks=all, partition
    consumers and a consumer group whose commits add up to what was produced."""
    lines = run_check(go_programs["sarama"], broker.bootstrap, f"sa-{uuid.uuid4().hex[:8]}", version)
    assert lines == ["ok admin", "ok produce snappy", "ok consume", "ok consumer-group", "ok delete-topic"]


def test_sarama_kafka_0_8(broker, go_programs):
    """As a Kafka 0.8.2 client: Produce v0 (magic 0, gzip wrappers), Fetch v0, Metadata v0,
    and the offset manager's OffsetCommit v1 and OffsetFetch v1, read back with metadata."""
    lines = run_check(go_programs["sarama"], broker.bootstrap, f"sl-{uuid.uuid4().hex[:8]}", "0.8.2.0")
    assert lines == ["ok produce gzip", "ok consume", "ok offset-manager"]
