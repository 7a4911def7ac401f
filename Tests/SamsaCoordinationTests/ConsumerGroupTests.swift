import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import Testing

@Suite struct ConsumerGroupTests {
    typealias H = ConsumerGroupHarness

    @Test func firstMemberGetsEveryPartition() {
        var harness = H()
        let result = harness.join("a")
        #expect(result.errorCode == .noError)
        #expect(result.memberEpoch == 1)
        #expect(result.heartbeatIntervalMs == 1_000)
        #expect(result.assignment == H.partitions([0, 1, 2, 3, 4, 5]))
        #expect(harness.group.state == .stable)
        #expect(harness.group.groupEpoch == 1)
    }

    @Test func threeMembersOverSixPartitionsGetTwoEachWithUniform() {
        var harness = H()
        harness.join("a")
        harness.join("b")
        harness.join("c")
        let converged = harness.converge()
        #expect(converged)
        for id in ["a", "b", "c"] {
            #expect(harness.owned[id]?.count == 2, "member \(id)")
            #expect(harness.epochs[id] == 3)
        }
        #expect(harness.allOwned.count == 6)
        #expect(Set(harness.allOwned.map(\.1)).count == 6)
        #expect(harness.group.assignorName == "uniform")
    }

    @Test func rangeAssignorGivesContiguousRanges() {
        var harness = H(partitions: 5)
        harness.join("a", assignor: "range")
        harness.join("b", assignor: "range")
        let converged = harness.converge()
        #expect(converged)
        #expect(harness.owned["a"] == H.partitions([0, 1, 2]))
        #expect(harness.owned["b"] == H.partitions([3, 4]))
        #expect(harness.group.assignorName == "range")
    }

    @Test func rangeAssignorPerTopic() {
        let counts = [H.topicT: Int32(3), H.topicU: 2]
        let result = ConsumerGroupAssignor.range(
            members: [.init(memberId: "b", topics: [H.topicT, H.topicU]), .init(memberId: "a", topics: [H.topicT])],
            partitionCounts: counts
        )
        #expect(result["a"] == H.partitions([0, 1]))
        #expect(result["b"] == H.partitions([2]).union(H.partitions([0, 1], topic: H.topicU)))
    }

    @Test func uniformIsStickyAndBalancesMixedSubscriptions() {
        let counts = [H.topicT: Int32(4), H.topicU: 2]
        let previous = H.partitions([0, 1, 2, 3])
        let result = ConsumerGroupAssignor.uniform(
            members: [.init(memberId: "a", topics: [H.topicT], previous: previous), .init(memberId: "b", topics: [H.topicT, H.topicU])],
            partitionCounts: counts
        )
        #expect(result["a"]!.count == 3)
        #expect(result["b"]!.count == 3)
        #expect(result["a"]!.isSubset(of: previous))
        #expect(result["b"]![H.topicU] == [0, 1])
    }

    @Test func newMemberWaitsUntilTheOwnerRevokes() {
        var harness = H()
        harness.join("a")
        let joined = harness.join("b")
        // Everything still belongs to a: b is in the new epoch but gets nothing yet.
        #expect(joined.memberEpoch == 2)
        #expect(joined.assignment == .empty)
        #expect(harness.group.state == .reconciling)
        let revoke = harness.heartbeat("a")
        #expect(revoke.memberEpoch == 1, "a keeps its epoch until it has revoked")
        #expect(revoke.assignment?.count == 3)
        #expect(harness.group.members["a"]?.partitionsPendingRevocation.count == 3)
        let waiting = harness.heartbeat("b")
        #expect(waiting.assignment == nil, "the partitions are still a's")
        let acknowledged = harness.heartbeat("a")
        #expect(acknowledged.memberEpoch == 2)
        let assigned = harness.heartbeat("b")
        #expect(assigned.assignment?.count == 3)
        #expect(harness.owned["a"]!.intersection(harness.owned["b"]!).isEmpty)
        #expect(harness.group.state == .stable)
    }

    @Test func leavingMemberHandsItsPartitionsOver() {
        var harness = H()
        harness.join("a")
        harness.join("b")
        let converged = harness.converge()
        #expect(converged)
        let left = harness.heartbeat("b", epoch: -1)
        #expect(left.errorCode == .noError)
        #expect(left.memberEpoch == -1)
        #expect(harness.group.members["b"] == nil)
        let result = harness.heartbeat("a")
        #expect(result.assignment?.count == 6)
        #expect(result.memberEpoch == harness.group.groupEpoch)
        #expect(harness.group.state == .stable)
        harness.heartbeat("a", epoch: -1)
        #expect(harness.group.state == .empty)
    }

    @Test func sessionExpiryRemovesTheMember() {
        var harness = H()
        harness.join("a")
        harness.join("b")
        let converged = harness.converge()
        #expect(converged)
        let epoch = harness.group.groupEpoch
        harness.advance(600)
        harness.heartbeat("a")
        harness.advance(600)
        #expect(harness.group.nextDeadline! <= harness.now)
        harness.group.expire(now: harness.now)
        #expect(harness.group.members["b"] == nil)
        #expect(harness.group.members["a"] != nil)
        #expect(harness.group.groupEpoch == epoch + 1)
        let r1 = harness.heartbeat("a")
        #expect(r1.assignment?.count == 6)
        let r2 = harness.heartbeat("b")
        #expect(r2.errorCode == .unknownMemberId)
    }

    @Test func revocationTimeoutRemovesTheMember() {
        var harness = H()
        harness.join("a")
        harness.join("b")
        harness.heartbeat("a")
        #expect(harness.group.members["a"]?.state == .unrevokedPartitions)
        harness.advance(5_000)
        harness.group.expire(now: harness.now)
        #expect(harness.group.members["a"] == nil)
    }

    @Test func epochsAreFenced() {
        var harness = H()
        harness.join("a")
        let r3 = harness.heartbeat("a", epoch: 7)
        #expect(r3.errorCode == .fencedMemberEpoch)
        let r4 = harness.heartbeat("x", epoch: 1)
        #expect(r4.errorCode == .unknownMemberId)
        harness.join("b")
        harness.heartbeat("a")
        harness.heartbeat("a")
        #expect(harness.epochs["a"] == 2)
        // A lost answer: the previous epoch is fine while it owns nothing it was not given.
        let r5 = harness.heartbeat("a", epoch: 1, owned: H.partitions([0]))
        #expect(r5.errorCode == .noError)
        let r6 = harness.heartbeat("a", epoch: 1, owned: H.partitions([0, 1, 2, 3, 4, 5]))
        #expect(r6.errorCode == .fencedMemberEpoch)
        let r7 = harness.heartbeat("a", epoch: 0, owned: nil)
        #expect(r7.errorCode == .invalidRequest)
    }

    @Test func badFirstHeartbeatsAreRejected() {
        var harness = H()
        let r8 = harness.join("a", topics: nil)
        #expect(r8.errorCode == .invalidRequest)
        let r9 = harness.join("")
        #expect(r9.errorCode == .invalidRequest)
        let r10 = harness.join("a", assignor: "sticky")
        #expect(r10.errorCode == .unsupportedAssignor)
        let r11 = harness.join("a", topics: nil, regex: "t(")
        #expect(r11.errorCode == .invalidRegularExpression)
        let noTimeout = ConsumerHeartbeatRequest(memberId: "a", memberEpoch: 0, subscribedTopicNames: ["t"], ownedPartitions: .empty)
        let r12 = harness.send(noTimeout)
        #expect(r12.errorCode == .invalidRequest)
        let badEpoch = ConsumerHeartbeatRequest(memberId: "a", memberEpoch: -3)
        let r13 = harness.send(badEpoch)
        #expect(r13.errorCode == .invalidRequest)
        #expect(harness.group.members.isEmpty)
    }

    @Test func regexSubscriptionMatchesWholeNames() {
        var harness = H()
        let result = harness.join("a", topics: nil, regex: "[tu]")
        #expect(result.assignment?.count == 8)
        harness.join("b", topics: nil, regex: "t.+")
        #expect(harness.group.members["b"]?.subscribedTopicRegex == "t.+")
        let converged = harness.converge()
        #expect(converged)
        #expect(harness.owned["b"] == .empty)
    }

    @Test func staticMemberRejoinsWithItsPartitions() {
        var harness = H()
        harness.join("a", instance: "i1")
        harness.join("b", instance: "i2")
        let converged = harness.converge()
        #expect(converged)
        let partitions = harness.owned["a"]!
        let r14 = harness.join("a2", instance: "i1")
        #expect(r14.errorCode == .unreleasedInstanceId)
        let left = harness.send(ConsumerHeartbeatRequest(memberId: "a", memberEpoch: -2, instanceId: "i1"))
        #expect(left.memberEpoch == -2)
        #expect(harness.group.members["a"] != nil)
        let epoch = harness.group.groupEpoch
        let rejoined = harness.join("a2", instance: "i1")
        #expect(rejoined.errorCode == .noError)
        #expect(rejoined.assignment == partitions)
        #expect(harness.group.groupEpoch == epoch)
        #expect(harness.group.staticMembers["i1"] == "a2")
        #expect(harness.group.members["a"] == nil)
    }

    @Test func groupMaxSize() {
        var harness = H(settings: ConsumerGroupSettings(maxSize: 1))
        harness.join("a")
        let r15 = harness.join("b")
        #expect(r15.errorCode == .groupMaxSizeReached)
    }

    @Test func newPartitionsBumpTheEpoch() {
        var harness = H(partitions: 2)
        harness.join("a")
        harness.topics = ConsumerGroupTopics([ConsumerGroupTopic(name: "t", id: H.topicT, partitionCount: 4)])
        let result = harness.heartbeat("a")
        #expect(result.memberEpoch == 2)
        #expect(result.assignment == H.partitions([0, 1, 2, 3]))
    }

    @Test func offsetCommitChecks() {
        var harness = H()
        #expect(harness.group.validateOffsetCommit(memberId: "", memberEpoch: -1, apiVersion: 9) == .noError)
        harness.join("a")
        #expect(harness.group.validateOffsetCommit(memberId: "", memberEpoch: -1, apiVersion: 9) == .unknownMemberId)
        #expect(harness.group.validateOffsetCommit(memberId: "a", memberEpoch: 1, apiVersion: 9) == .noError)
        #expect(harness.group.validateOffsetCommit(memberId: "a", memberEpoch: 5, apiVersion: 9) == .staleMemberEpoch)
        #expect(harness.group.validateOffsetCommit(memberId: "a", memberEpoch: 1, apiVersion: 8) == .unsupportedVersion)
    }
}
