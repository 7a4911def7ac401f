import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// Classic consumer groups with SamsaClient members against a real broker: the leader's
/// assignment, rebalances when members come and go, and commits with the generation.
@Suite("Consumer groups", .timeLimit(.minutes(1)))
struct ConsumerGroupTests {
    private func member(_ cluster: SamsaTestCluster, group: String, assignor: any ClientAssignor = RangeAssignor()) throws -> KafkaConsumer
    {
        var configuration = ConsumerConfiguration(
            client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers), groupId: group)
        configuration.autoOffsetReset = .earliest
        configuration.heartbeatIntervalMs = 50
        configuration.sessionTimeoutMs = 6_000
        configuration.assignors = [assignor]
        return try KafkaConsumer(configuration: configuration)
    }

    /// Waits for the member's next assignment.
    private func nextAssignment(_ events: inout AsyncStream<RebalanceEvent>.Iterator) async -> [TopicPartition]? {
        while let event = await events.next() {
            if case .assigned(let partitions) = event { return partitions }
        }
        return nil
    }

    @Test("range: two members split four partitions; when one leaves the other gets them all and reads on from the commits")
    func rangeGroup() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("orders", partitions: 4)
            let producer = try KafkaProducer(
                configuration: ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)))
            for index in 0..<40 {
                try await producer.sendWithoutWaiting(ProducerRecord(topic: "orders", value: "o\(index)", partition: Int32(index % 4)))
            }
            await producer.flush()

            let first = try member(cluster, group: "shop")
            var firstEvents = first.rebalanceEvents.makeAsyncIterator()
            try first.subscribe(["orders"])
            #expect(await nextAssignment(&firstEvents)?.count == 4, "alone, the first member takes every partition")

            let second = try member(cluster, group: "shop")
            var secondEvents = second.rebalanceEvents.makeAsyncIterator()
            try second.subscribe(["orders"])
            // The first member gives its partitions back and joins again; both then hold two.
            let secondShare = await nextAssignment(&secondEvents) ?? []
            let firstShare = await nextAssignment(&firstEvents) ?? []
            #expect(secondShare.count == 2 && firstShare.count == 2)
            #expect(Set(firstShare).union(secondShare) == Set((0..<4).map { TopicPartition("orders", Int32($0)) }))

            // Each reads its own partitions.
            var read: [ConsumerRecord] = []
            for try await record in second.records {
                read.append(record)
                if read.count == 20 { break }
            }
            #expect(Set(read.map { TopicPartition($0.topic, $0.partition) }) == Set(secondShare))
            try await second.commit()
            await second.close()

            // The first member takes everything again and starts the second's partitions at its commits.
            let all = await nextAssignment(&firstEvents) ?? []
            #expect(all.count == 4)
            for partition in secondShare {
                #expect(await cluster.committedOffset(group: "shop", topic: "orders", partition: Int(partition.partition)) == 10)
                #expect(first.position(partition) == 10)
            }
            await first.close()
            await producer.close()
        }
    }

    @Test("a heartbeat the coordinator answers UNKNOWN_MEMBER_ID: the partitions are lost (not revoked) and the member joins again")
    func lostPartitions() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("lost", partitions: 2)
            let consumer = try member(cluster, group: "forgetful")
            var events = consumer.rebalanceEvents.makeAsyncIterator()
            try consumer.subscribe(["lost"])
            let first = await nextAssignment(&events)
            #expect(first?.count == 2)
            try cluster.failNext(.heartbeat, with: .unknownMemberId)
            #expect(await events.next() == .lost(first ?? []))
            #expect(await nextAssignment(&events) == first, "joined again as a new member")
            await consumer.close()
        }
    }

    @Test("cooperative-sticky: a joining member gets half without the first giving up the rest; it keeps consuming throughout")
    func cooperativeGroup() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("coop", partitions: 4)
            let first = try member(cluster, group: "coop", assignor: CooperativeStickyAssignor())
            var firstEvents = first.rebalanceEvents.makeAsyncIterator()
            try first.subscribe(["coop"])
            let all = await nextAssignment(&firstEvents) ?? []
            #expect(all.count == 4)

            let second = try member(cluster, group: "coop", assignor: CooperativeStickyAssignor())
            var secondEvents = second.rebalanceEvents.makeAsyncIterator()
            try second.subscribe(["coop"])
            // The first gives back exactly the two that move, and nothing else.
            #expect(
                await firstEvents.next().map { event -> Int in
                    if case .revoked(let partitions) = event { return partitions.count }
                    return -1
                } == 2)
            let moved = await nextAssignment(&secondEvents) ?? []
            #expect(moved.count == 2)
            #expect(Set(first.assignment).union(moved) == Set(all) && Set(first.assignment).isDisjoint(with: moved))
            await second.close()
            await first.close()
        }
    }

    @Test("the cooperative-sticky assignor keeps owned partitions, balances, and holds back partitions still owned elsewhere")
    func cooperativeAssignor() {
        let owned = ConsumerProtocol.Subscription(topics: ["t"], ownedPartitions: ["t": [0, 1, 2, 3]], generationId: 3)
        let members = [
            AssignorMember(memberId: "a", groupInstanceId: nil, subscription: owned),
            AssignorMember(memberId: "b", groupInstanceId: nil, subscription: ConsumerProtocol.Subscription(topics: ["t"])),
        ]
        let first = CooperativeStickyAssignor().assign(members: members, partitionCounts: ["t": 4])
        #expect(first["a"] == ["t": [0, 1]], "a keeps two of its four")
        #expect(first["b"] == [:], "b waits until a gave the other two up")
        // The next round: a owns two, the other two are free.
        let settled = [
            AssignorMember(
                memberId: "a", groupInstanceId: nil,
                subscription: ConsumerProtocol.Subscription(topics: ["t"], ownedPartitions: ["t": [0, 1]], generationId: 4)),
            members[1],
        ]
        let second = CooperativeStickyAssignor().assign(members: settled, partitionCounts: ["t": 4])
        #expect(second["a"] == ["t": [0, 1]] && second["b"] == ["t": [2, 3]])
    }

    @Test("the assignors match Java's: range per topic in member order, roundrobin over all partitions")
    func assignors() {
        let subscription = ConsumerProtocol.Subscription(topics: ["a", "b"])
        let members = [
            AssignorMember(memberId: "m2", groupInstanceId: nil, subscription: subscription),
            AssignorMember(memberId: "m1", groupInstanceId: nil, subscription: subscription),
            AssignorMember(memberId: "z", groupInstanceId: "static-1", subscription: ConsumerProtocol.Subscription(topics: ["a"])),
        ]
        let range = RangeAssignor().assign(members: members, partitionCounts: ["a": 5, "b": 2])
        // Topic a: static member first, then m1, m2; 5 = 2 + 2 + 1. Topic b: m1, m2.
        #expect(range["z"] == ["a": [0, 1]])
        #expect(range["m1"] == ["a": [2, 3], "b": [0]])
        #expect(range["m2"] == ["a": [4], "b": [1]])
        let roundRobin = RoundRobinAssignor().assign(members: members, partitionCounts: ["a": 5, "b": 2])
        // Order z, m1, m2: a0 z, a1 m1, a2 m2, a3 z, a4 m1, b0 m2 (z skips b), b1 m1.
        #expect(roundRobin["z"] == ["a": [0, 3]])
        #expect(roundRobin["m1"] == ["a": [1, 4], "b": [1]])
        #expect(roundRobin["m2"] == ["a": [2], "b": [0]])
    }

    @Test("subscriptions and assignments round-trip in the consumer protocol's formats")
    func protocolFormats() throws {
        let subscription = ConsumerProtocol.Subscription(
            topics: ["t"], userData: ByteBuffer(bytes: [1, 2]), ownedPartitions: ["t": [3, 1]], generationId: 7, rackId: "r1")
        let decoded = try ConsumerProtocol.Subscription(decoding: subscription.encode())
        #expect(decoded.topics == ["t"] && decoded.generationId == 7 && decoded.rackId == "r1" && decoded.ownedPartitions == ["t": [1, 3]])
        // Version 0, as older clients write it: topics and user data only.
        let v0 = ConsumerProtocolSubscription.encode(topics: ["x", "y"])
        #expect(try ConsumerProtocol.Subscription(decoding: v0).topics == ["x", "y"])
        let assignment = ConsumerProtocol.Assignment(partitions: ["t": [2, 0]])
        #expect(try ConsumerProtocol.Assignment(decoding: assignment.encode()).partitions == ["t": [0, 2]])
        #expect(try ConsumerProtocol.Assignment(decoding: ByteBuffer()).partitions.isEmpty)
    }
}
