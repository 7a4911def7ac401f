"""Static membership (KIP-345) with librdkafka (confluent-kafka): a static member that closes
and returns within its session timeout takes its partitions back without the others being
revoked; one that does not return loses its partitions when its session runs out."""

from __future__ import annotations

import time
import uuid

import pytest

from test_groups import REBALANCE_WAIT, SESSION_TIMEOUT_MS, _poll_all, _wait_for_assignment, confluent_group_consumer, six_partition_topic


def static_consumer(broker, group: str, instance: str, events: list, topic: str):
    consumer = confluent_group_consumer(broker, group, **{"group.instance.id": instance})
    consumer.subscribe(
        [topic],
        on_assign=lambda c, partitions: events.append((instance, "assign", sorted(p.partition for p in partitions))),
        on_revoke=lambda c, partitions: events.append((instance, "revoke", sorted(p.partition for p in partitions))),
    )
    return consumer


@pytest.mark.parametrize("restarting", [0, 1])
def test_static_member_returns_without_rebalance(broker, require, restarting):
    """Run once restarting each member, so that one run restarts the group's leader."""
    require("JoinGroup", "SyncGroup", "Heartbeat")
    topic = six_partition_topic(broker)
    group = f"static-{uuid.uuid4().hex[:8]}"
    events: list = []
    names = ["member-a", "member-b"]
    members = [static_consumer(broker, group, name, events, topic) for name in names]
    if restarting == 1:
        members.reverse()
        names.reverse()
    first, other = members
    returned = None
    try:
        before = _wait_for_assignment([first, other], [3, 3])
        _poll_all([first, other], 1.0)  # settle: both have synced and heartbeat
        settled = len(events)
        # A static member's close sends no LeaveGroup; it comes back well within its session.
        first.close()
        first = None
        returned = static_consumer(broker, group, names[0], events, topic)
        after = _wait_for_assignment([returned, other], [3, 3])
        _poll_all([returned, other], 2.0)  # a rebalance, had one started, would revoke now
        assert after[1] == before[1], "the other member kept its partitions"
        assert after[0] == before[0], "the returning member got its previous assignment"
        later = [event for event in events[settled:] if event[0] == names[1]]
        assert later == [], f"the other member saw {later}"
    finally:
        for consumer in (first, other, returned):
            if consumer is not None:
                consumer.close()


def test_static_member_that_does_not_return_loses_its_partitions(broker, require):
    require("JoinGroup", "SyncGroup", "Heartbeat")
    topic = six_partition_topic(broker)
    group = f"static-{uuid.uuid4().hex[:8]}"
    events: list = []
    gone = static_consumer(broker, group, "member-a", events, topic)
    stays = static_consumer(broker, group, "member-b", events, topic)
    try:
        _wait_for_assignment([gone, stays], [3, 3])
        gone.close()
        closed_at = time.monotonic()
        gone = None
        [held] = _wait_for_assignment([stays], [6])
        assert held == set(range(6))
        # Not before the session timeout: the static member could still have come back.
        assert time.monotonic() - closed_at >= SESSION_TIMEOUT_MS / 1000 * 0.8
        assert time.monotonic() - closed_at < SESSION_TIMEOUT_MS / 1000 + REBALANCE_WAIT
    finally:
        for consumer in (gone, stays):
            if consumer is not None:
                consumer.close()
