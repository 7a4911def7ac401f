import NIOCore
import SamsaCoordination
import SamsaProtocol
import Testing

@Suite("Classic group: static members, errors, offsets checks, persistence")
struct ClassicGroupMembershipTests {
    @Test("a restarted static member takes its place back under a new id without a rebalance; the old id is fenced")
    func staticMemberRejoin() {
        var harness = ClassicGroupHarness()
        let (_, follower) = Self.stableStaticGroupOfTwo(&harness)

        // The follower's process restarts and joins with an empty member id.
        let result = harness.join(ClassicGroupHarness.request(instance: "i-2"))!
        #expect(result.errorCode == .noError)
        #expect(result.memberId != follower)
        #expect(result.generationId == 2)
        #expect(harness.group.state == .stable)
        #expect(harness.group.staticMembers["i-2"] == result.memberId)
        #expect(harness.group.members[result.memberId]?.assignment == ByteBuffer(string: "F"))
        #expect(harness.stores.last?.snapshot.members.map(\.memberId).contains(result.memberId) == true)
        #expect(harness.group.heartbeat(memberId: follower, groupInstanceId: "i-2", generationId: 2, now: harness.now) == .fencedInstanceId)
        #expect(harness.group.heartbeat(memberId: result.memberId, groupInstanceId: "i-2", generationId: 2, now: harness.now) == .noError)
        var stale = ClassicGroupHarness.request(instance: "i-2")
        stale.memberId = follower
        #expect(harness.join(stale)?.errorCode == .fencedInstanceId)
        let (errors, _) = harness.group.leave([ClassicLeavingMember(memberId: follower, groupInstanceId: "i-2")], now: harness.now)
        #expect(errors == [.fencedInstanceId])
        let (ok, _) = harness.group.leave([ClassicLeavingMember(memberId: "", groupInstanceId: "i-2")], now: harness.now)
        #expect(ok == [.noError])
        #expect(harness.group.state == .preparingRebalance)
    }

    @Test("a restarted static leader without KIP-814 gets the members back, and no one else rebalances")
    func staticLeaderRejoinWithoutSkipAssignment() {
        var harness = ClassicGroupHarness()
        let (_, follower) = Self.stableStaticGroupOfTwo(&harness)

        // The leader's process restarts (librdkafka: JoinGroup below v9, no SkipAssignment).
        let request = ClassicGroupHarness.request(instance: "i-1")
        #expect(!request.supportsSkippingAssignment)
        let result = harness.join(request)!
        #expect(result.errorCode == .noError)
        #expect(result.generationId == 2, "same generation: no rebalance")
        #expect(result.leaderId == result.memberId)
        #expect(Set(result.members.map(\.groupInstanceId)) == ["i-1", "i-2"], "the leader learns the members, as Kafka answers")
        #expect(harness.group.state == .stable)
        // The follower keeps heartbeating in its generation without being asked to rejoin.
        #expect(harness.group.heartbeat(memberId: follower, groupInstanceId: "i-2", generationId: 2, now: harness.now) == .noError)
        // The leader's SyncGroup in the stable group gets its current assignment; nothing changes.
        let synced = harness.sync(result.memberId, generation: 2, assignments: [result.memberId: ByteBuffer(string: "X")])
        #expect(synced?.errorCode == .noError)
        #expect(synced?.assignment == ByteBuffer(string: "L"))
        #expect(harness.group.members[follower]?.assignment == ByteBuffer(string: "F"))
    }

    @Test("SyncGroup errors: unknown member, wrong generation, protocol mismatch, rebalance in progress")
    func syncErrors() {
        var harness = ClassicGroupHarness()
        let a = harness.joinNew()
        #expect(harness.sync("ghost", generation: 1)?.errorCode == .unknownMemberId)
        #expect(harness.sync(a, generation: 7)?.errorCode == .illegalGeneration)
        #expect(harness.sync(a, generation: 1, protocolName: "roundrobin")?.errorCode == .inconsistentGroupProtocol)
        _ = harness.joinNew()
        #expect(harness.sync(a, generation: 1)?.errorCode == .rebalanceInProgress)
    }

    @Test("a rebalance that starts while members wait in SyncGroup answers them REBALANCE_IN_PROGRESS")
    func rebalanceFailsPendingSyncs() {
        var harness = ClassicGroupHarness()
        let a = harness.joinNew()
        let b = harness.joinNew()
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        harness.join(rejoin)
        #expect(harness.sync(b, generation: 2) == nil)
        _ = harness.joinNew()
        #expect(harness.syncs[b]?.errorCode == .rebalanceInProgress)
        #expect(harness.group.state == .preparingRebalance)
    }

    @Test("OffsetCommit checks follow Kafka's order")
    func offsetCommitChecks() {
        var harness = ClassicGroupHarness()
        #expect(harness.group.validateOffsetCommit(memberId: "", groupInstanceId: nil, generationId: -1, now: harness.now) == .noError)
        let a = harness.joinNew()
        #expect(
            harness.group.validateOffsetCommit(memberId: a, groupInstanceId: nil, generationId: 1, now: harness.now) == .rebalanceInProgress
        )
        harness.sync(a, generation: 1)
        harness.finishStore()
        #expect(harness.group.validateOffsetCommit(memberId: a, groupInstanceId: nil, generationId: 1, now: harness.now) == .noError)
        #expect(
            harness.group.validateOffsetCommit(memberId: a, groupInstanceId: nil, generationId: 0, now: harness.now) == .illegalGeneration)
        #expect(
            harness.group.validateOffsetCommit(memberId: "", groupInstanceId: nil, generationId: -1, now: harness.now) == .unknownMemberId)
        #expect(
            harness.group.validateOffsetCommit(memberId: "x", groupInstanceId: nil, generationId: 1, now: harness.now) == .unknownMemberId)
    }

    @Test("a restored group is Stable with its members, who keep heartbeating in the same generation")
    func restoreSnapshot() {
        var harness = ClassicGroupHarness()
        let (a, b) = ClassicGroupRebalanceTests.stableGroupOfTwo(&harness)
        let snapshot = harness.group.snapshot()
        var restored = ClassicGroup(groupId: "g", restoring: snapshot, settings: harness.group.settings, now: 5_000_000)
        #expect(restored.state == .stable)
        #expect(restored.generationId == 2)
        #expect(restored.leaderId == a)
        #expect(restored.protocolName == "range")
        #expect(restored.members[b]?.assignment == ByteBuffer(string: "B"))
        #expect(restored.heartbeat(memberId: b, groupInstanceId: nil, generationId: 2, now: 5_000_100) == .noError)
        #expect(restored.nextDeadline == 5_001_000)
        let actions = restored.expire(now: 5_001_000)
        #expect(actions.isEmpty)
        #expect(restored.members[a] == nil)
        #expect(restored.state == .preparingRebalance)
    }

    @Test("a dead group answers COORDINATOR_NOT_AVAILABLE and releases its waiting members")
    func deadGroup() {
        var harness = ClassicGroupHarness()
        let a = harness.join(ClassicGroupHarness.request(v4: false))
        #expect(a == nil)
        _ = harness.joinNew()
        harness.apply(harness.group.markDead(now: harness.now))
        #expect(harness.group.state == .dead)
        #expect(harness.joins["member-2"]?.errorCode == .coordinatorNotAvailable)
        #expect(harness.join(ClassicGroupHarness.request())?.errorCode == .coordinatorNotAvailable)
        #expect(
            harness.group.heartbeat(memberId: "member-1", groupInstanceId: nil, generationId: 1, now: harness.now)
                == .coordinatorNotAvailable)
    }

    /// A stable group of two static members, "i-1" (the leader, assignment "L") and "i-2"
    /// (assignment "F"), in generation 2; returns their member ids.
    static func stableStaticGroupOfTwo(_ harness: inout ClassicGroupHarness) -> (leader: String, follower: String) {
        _ = harness.join(ClassicGroupHarness.request(instance: "i-1"))
        let leader = "member-1"
        #expect(harness.joins[leader]?.generationId == 1)
        harness.sync(leader, generation: 1, assignments: [leader: ByteBuffer(string: "L")])
        harness.finishStore()
        _ = harness.join(ClassicGroupHarness.request(instance: "i-2"))
        let follower = "member-2"
        var rejoin = ClassicGroupHarness.request(instance: "i-1")
        rejoin.memberId = leader
        harness.join(rejoin)
        harness.sync(follower, generation: 2)
        harness.sync(leader, generation: 2, assignments: [leader: ByteBuffer(string: "L"), follower: ByteBuffer(string: "F")])
        harness.finishStore()
        #expect(harness.group.state == .stable)
        return (leader, follower)
    }
}
