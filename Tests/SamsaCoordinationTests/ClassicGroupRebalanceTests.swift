import NIOCore
import SamsaCoordination
import SamsaProtocol
import Testing

@Suite("Classic group: joins and rebalances")
struct ClassicGroupRebalanceTests {
    @Test("a v4 join without member id gets MEMBER_ID_REQUIRED, then the group forms with it as leader")
    func memberIdRequired() {
        var harness = ClassicGroupHarness()
        let first = harness.join(ClassicGroupHarness.request())!
        #expect(first.errorCode == .memberIdRequired)
        #expect(!first.memberId.isEmpty)
        #expect(harness.group.members.isEmpty)
        #expect(harness.group.pendingMembers[first.memberId] != nil)

        var again = ClassicGroupHarness.request()
        again.memberId = first.memberId
        #expect(harness.join(again) == nil)
        let result = try! #require(harness.joins[first.memberId])
        #expect(result.errorCode == .noError)
        #expect(result.generationId == 1)
        #expect(result.leaderId == first.memberId)
        #expect(result.protocolName == "range")
        #expect(result.members.map(\.memberId) == [first.memberId])
        #expect(harness.group.state == .completingRebalance)
    }

    @Test("a v0-3 join is added at once; an unknown member id is rejected")
    func oldVersionsAndUnknownMember() {
        var harness = ClassicGroupHarness()
        #expect(harness.join(ClassicGroupHarness.request(v4: false)) == nil)
        #expect(harness.joins["member-1"]?.generationId == 1)
        let unknown = harness.join(ClassicGroupHarness.request("nobody"))
        #expect(unknown?.errorCode == .unknownMemberId)
    }

    @Test("the initial delay gathers members that join meanwhile into the first generation")
    func initialDelay() {
        var harness = ClassicGroupHarness(initialDelayMs: 100)
        let a = harness.joinNew()
        #expect(harness.group.state == .preparingRebalance)
        harness.advance(60)
        let b = harness.joinNew()
        harness.advance(50)
        // The delay ran out at 100 ms; it is extended by another 100 ms because b joined.
        #expect(harness.joins.isEmpty)
        harness.advance(60)
        #expect(harness.joins.isEmpty)
        harness.advance(50)
        #expect(harness.joins[a]?.generationId == 1)
        #expect(harness.joins[b]?.generationId == 1)
        #expect(harness.joins[a]?.members.count == 2)
        #expect(harness.joins[b]?.members.isEmpty == true)
    }

    @Test("a second member starts a rebalance; the first learns it from its heartbeat and rejoins")
    func secondMemberRebalance() {
        var harness = ClassicGroupHarness()
        let a = harness.joinNew()
        #expect(harness.sync(a, generation: 1, assignments: [a: ByteBuffer(string: "all")]) == nil)
        harness.finishStore()
        #expect(harness.syncs[a]?.assignment == ByteBuffer(string: "all"))
        #expect(harness.group.state == .stable)

        let b = harness.joinNew()
        #expect(harness.group.state == .preparingRebalance)
        #expect(harness.heartbeat(a, generation: 1) == .rebalanceInProgress)
        #expect(harness.joins[b] == nil)
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        #expect(harness.join(rejoin) == nil)
        #expect(harness.joins[a]?.generationId == 2)
        #expect(harness.joins[b]?.generationId == 2)
        #expect(harness.joins[a]?.leaderId == a)
        #expect(harness.joins[a]?.members.map(\.memberId) == [a, b])
        #expect(harness.joins[b]?.members.isEmpty == true)

        // The follower waits for the leader, whose assignment is stored before anyone gets it.
        harness.syncs = [:]
        #expect(harness.sync(b, generation: 2) == nil)
        #expect(harness.sync(a, generation: 2, assignments: [a: ByteBuffer(string: "A"), b: ByteBuffer(string: "B")]) == nil)
        #expect(harness.syncs.isEmpty)
        #expect(harness.stores.last?.snapshot.members.map(\.assignment) == [ByteBuffer(string: "A"), ByteBuffer(string: "B")])
        harness.finishStore()
        #expect(harness.syncs[a]?.assignment == ByteBuffer(string: "A"))
        #expect(harness.syncs[b]?.assignment == ByteBuffer(string: "B"))
        #expect(harness.group.state == .stable)
        #expect(harness.heartbeat(b, generation: 2) == .noError)
        #expect(harness.heartbeat(b, generation: 1) == .illegalGeneration)
    }

    @Test("a member that stops heartbeating is removed after its session timeout and the rest rebalance")
    func sessionTimeout() {
        var harness = ClassicGroupHarness()
        let (a, b) = Self.stableGroupOfTwo(&harness)
        harness.advance(600)
        #expect(harness.heartbeat(a, generation: 2) == .noError)
        harness.advance(600)
        // b last heard from 1200 ms ago with a 1000 ms session: gone.
        #expect(harness.group.members[b] == nil)
        #expect(harness.group.state == .preparingRebalance)
        #expect(harness.heartbeat(a, generation: 2) == .rebalanceInProgress)
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        harness.join(rejoin)
        #expect(harness.joins[a]?.generationId == 3)
        #expect(harness.joins[a]?.members.map(\.memberId) == [a])
        #expect(harness.heartbeat(b, generation: 3) == .unknownMemberId)
    }

    @Test("members that do not rejoin within the rebalance timeout are dropped")
    func rebalanceTimeout() {
        var harness = ClassicGroupHarness()
        let (a, b) = Self.stableGroupOfTwo(&harness)
        harness.joins = [:]
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        rejoin.protocols = [ClassicGroupProtocol(name: "range", metadata: ClassicGroupHarness.subscription(["t", "u"]))]
        #expect(harness.join(rejoin) == nil)
        #expect(harness.group.state == .preparingRebalance)
        // b keeps heartbeating but never rejoins; the 2000 ms rebalance timeout ends the wait.
        for _ in 0..<3 {
            harness.advance(700)
            _ = harness.heartbeat(b, generation: 2)
        }
        #expect(harness.joins[a]?.generationId == 3)
        #expect(harness.group.members.keys.sorted() == [a])
    }

    @Test("a member that never syncs is removed after the rebalance timeout")
    func syncTimeout() {
        var harness = ClassicGroupHarness()
        let a = harness.joinNew()
        let b = harness.joinNew()
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        harness.join(rejoin)
        #expect(harness.group.state == .completingRebalance)
        harness.sync(a, generation: 2, assignments: [a: ByteBuffer(string: "A")])
        harness.finishStore()
        #expect(harness.group.state == .stable)
        harness.advance(900)
        #expect(harness.heartbeat(a, generation: 2) == .noError)
        #expect(harness.heartbeat(b, generation: 2) == .noError)
        harness.advance(900)
        #expect(harness.heartbeat(a, generation: 2) == .noError)
        #expect(harness.heartbeat(b, generation: 2) == .noError)
        harness.advance(300)
        #expect(harness.group.members[b] == nil)
        #expect(harness.group.state == .preparingRebalance)
    }

    @Test("the protocol most members prefer among those all support wins")
    func protocolSelection() {
        var harness = ClassicGroupHarness()
        let a = harness.joinNew(ClassicGroupHarness.request(protocols: ["range", "roundrobin"]))
        harness.sync(a, generation: 1)
        harness.finishStore()
        _ = harness.joinNew(ClassicGroupHarness.request(protocols: ["roundrobin", "range"]))
        _ = harness.joinNew(ClassicGroupHarness.request(protocols: ["roundrobin", "sticky", "range"]))
        var rejoin = ClassicGroupHarness.request(protocols: ["range", "roundrobin"])
        rejoin.memberId = a
        harness.join(rejoin)
        #expect(harness.joins[a]?.protocolName == "roundrobin")
        #expect(harness.group.protocolName == "roundrobin")
    }

    @Test("joins with another protocol type or no common protocol get INCONSISTENT_GROUP_PROTOCOL")
    func inconsistentProtocol() {
        var harness = ClassicGroupHarness()
        _ = harness.joinNew(ClassicGroupHarness.request(protocols: ["range"]))
        #expect(harness.join(ClassicGroupHarness.request(type: "connect"))?.errorCode == .inconsistentGroupProtocol)
        #expect(harness.join(ClassicGroupHarness.request(protocols: ["sticky"]))?.errorCode == .inconsistentGroupProtocol)
        #expect(harness.join(ClassicGroupHarness.request(protocols: []))?.errorCode == .inconsistentGroupProtocol)
        #expect(harness.join(ClassicGroupHarness.request(session: 5))?.errorCode == .invalidSessionTimeout)
    }

    @Test("the last member leaving empties the group and bumps the generation")
    func lastMemberLeaves() {
        var harness = ClassicGroupHarness()
        let (a, b) = Self.stableGroupOfTwo(&harness)
        let (errors, actions) = harness.group.leave(
            [ClassicLeavingMember(memberId: a), ClassicLeavingMember(memberId: "ghost")], now: harness.now)
        harness.apply(actions)
        #expect(errors == [.noError, .unknownMemberId])
        #expect(harness.group.state == .preparingRebalance)
        let (more, last) = harness.group.leave([ClassicLeavingMember(memberId: b)], now: harness.now)
        harness.apply(last)
        #expect(more == [.noError])
        #expect(harness.group.state == .empty)
        #expect(harness.group.generationId == 3)
        #expect(harness.stores.last?.snapshot.members.isEmpty == true)
        #expect(harness.group.validateOffsetCommit(memberId: "", groupInstanceId: nil, generationId: -1, now: harness.now) == .noError)
    }

    /// A stable group of two dynamic members at generation 2; returns (leader, follower).
    static func stableGroupOfTwo(_ harness: inout ClassicGroupHarness) -> (String, String) {
        let a = harness.joinNew()
        harness.sync(a, generation: 1, assignments: [a: ByteBuffer(string: "all")])
        harness.finishStore()
        let b = harness.joinNew()
        var rejoin = ClassicGroupHarness.request()
        rejoin.memberId = a
        harness.join(rejoin)
        harness.sync(b, generation: 2)
        harness.sync(a, generation: 2, assignments: [a: ByteBuffer(string: "A"), b: ByteBuffer(string: "B")])
        harness.finishStore()
        precondition(harness.group.state == .stable && harness.group.generationId == 2)
        return (a, b)
    }
}
