"""A large cooperative-sticky group with librdkafka (confluent-kafka): 8 members go through
several subscription changes and restarts of some of them. After every change each member
converges to its share, and at no moment is a partition owned by two members."""

from __future__ import annotations

import time
import uuid

import pytest

from clients import REQUEST_TIMEOUT_MS, unique_topic
from test_groups import REBALANCE_WAIT, confluent_group_consumer

pytestmark = [pytest.mark.groups, pytest.mark.timeout(300)]

MEMBERS = 8


def create_topics(broker, partitions: int, count: int) -> list[str]:
    from confluent_kafka.admin import AdminClient, NewTopic

    names = [unique_topic("coop") for _ in range(count)]
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "socket.timeout.ms": REQUEST_TIMEOUT_MS})
    for name, future in admin.create_topics([NewTopic(name, partitions, 1) for name in names], request_timeout=10).items():
        assert future.result(timeout=15) is None, name
    return names


class Member:
    def __init__(self, broker, group: str, index: int):
        self.name = f"m{index}"
        self.consumer = confluent_group_consumer(broker, group, **{"partition.assignment.strategy": "cooperative-sticky"})

    def subscribe(self, topics: list[str]) -> None:
        self.consumer.subscribe(topics)

    def owned(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self.consumer.assignment()}


def converge(members: list[Member], expected: int, total: int, history: list) -> None:
    """Polls until every member owns `expected` partitions and together they own `total`,
    checking after every round that no partition is owned twice."""
    deadline = time.monotonic() + REBALANCE_WAIT
    while True:
        for member in members:
            member.consumer.poll(0.05)
        owned = [member.owned() for member in members]
        seen: dict[tuple[str, int], str] = {}
        for member, partitions in zip(members, owned):
            for partition in partitions:
                assert partition not in seen, f"{partition} owned by {seen[partition]} and {member.name} at once"
                seen[partition] = member.name
        sizes = sorted(len(p) for p in owned)
        history.append(sizes)
        if sizes == [expected] * len(members) and len(seen) == total:
            return
        assert time.monotonic() < deadline, f"sizes {sizes} (expected {expected} each, {total} in all) after {REBALANCE_WAIT}s"


def test_cooperative_sticky_group_of_eight_converges(broker, require):
    require("JoinGroup", "SyncGroup", "Heartbeat", "LeaveGroup")
    first, second = create_topics(broker, MEMBERS, 2)
    group = f"coop-{uuid.uuid4().hex[:8]}"
    members = [Member(broker, group, index) for index in range(MEMBERS)]
    history: list = []
    try:
        for member in members:
            member.subscribe([first])
        converge(members, 1, MEMBERS, history)
        # Several subscription changes in a row, member by member, each starting before the
        # last one settled, while every member keeps polling.
        for round in range(3):
            for index, member in enumerate(members):
                member.subscribe([first, second] if (index + round) % 2 == 0 else [first])
                for other in members:
                    other.consumer.poll(0.02)
        for member in members:
            member.subscribe([first, second])
        converge(members, 2, 2 * MEMBERS, history)
        # Three members restart (close: LeaveGroup) and come back under new ids.
        for index in range(3):
            members[index].consumer.close()
            members[index] = Member(broker, group, index)
            members[index].subscribe([first, second])
        converge(members, 2, 2 * MEMBERS, history)
        for member in members:
            member.subscribe([second])
        converge(members, 1, MEMBERS, history)
    finally:
        for member in members:
            member.consumer.close()
