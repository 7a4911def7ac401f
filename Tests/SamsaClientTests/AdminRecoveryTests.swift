import NIOConcurrencyHelpers
import SamsaProtocol
import SamsaTesting
import Testing

@testable import SamsaClient

/// The admin client recovers from what Kafka's admin clients recover from: stale leaders and
/// partitions, a moved controller or coordinator, a coordinator still loading; and it sends
/// nothing once closed.
@Suite("Admin recovery", .timeLimit(.minutes(1)))
struct AdminRecoveryTests {
    private func makeAdmin(_ cluster: SamsaTestCluster) throws -> KafkaAdmin {
        KafkaAdmin(configuration: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
    }

    @Test("a partition added by another client is found, even after a metadata refresh that named no topic")
    func partitionAddedElsewhere() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = try makeAdmin(cluster)
            let other = try makeAdmin(cluster)
            try await admin.createTopic(NewTopic(name: "grows", partitions: 1))
            #expect(try await admin.listOffsets([TopicPartition("grows", 0): .latest]) == [TopicPartition("grows", 0): 0])
            try await other.createPartitions(topic: "grows", totalCount: 2)
            // Learns the brokers only; it must not make the cached topic look fresh.
            _ = try await admin.describeCluster()
            #expect(try await admin.listOffsets([TopicPartition("grows", 1): .latest]) == [TopicPartition("grows", 1): 0])
            await admin.close()
            await other.close()
        }
    }

    @Test("NOT_LEADER_OR_FOLLOWER from a leader: the metadata is asked again and the request retried")
    func staleLeaderIsRetried() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = try makeAdmin(cluster)
            try await admin.createTopic(NewTopic(name: "moves", partitions: 1))
            let metadataRequests = NIOLockedValueBox(0)
            cluster.observe(.metadata) { _ in metadataRequests.withLockedValue { $0 += 1 } }
            try cluster.failNext(.listOffsets, with: .notLeaderOrFollower)
            #expect(try await admin.listOffsets([TopicPartition("moves", 0): .earliest]) == [TopicPartition("moves", 0): 0])
            #expect(metadataRequests.withLockedValue { $0 } >= 1, "the leader was looked up again")
            await admin.close()
        }
    }

    @Test("NOT_CONTROLLER is retried; of several topics, those that can be are created and the error names the one that cannot")
    func controllerMovesAndPartialFailures() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = try makeAdmin(cluster)
            try cluster.failNext(.createTopics, with: .notController)
            try await admin.createTopic(NewTopic(name: "first", partitions: 1))
            do {
                try await admin.createTopics([NewTopic(name: "first", partitions: 1), NewTopic(name: "second", partitions: 1)])
                Issue.record("creating an existing topic succeeded")
            } catch let error as KafkaError {
                #expect(error.code == .topicAlreadyExists && error.topic == "first")
            }
            #expect(try await admin.listTopics() == ["first", "second"])
            await admin.close()
        }
    }

    @Test("a coordinator still loading or not available yet is asked again, for groups and transactions")
    func coordinatorsAreFoundAgain() async throws {
        try await SamsaTestCluster.with { cluster in
            let admin = try makeAdmin(cluster)
            try cluster.failNext(.listGroups, with: .coordinatorLoadInProgress)
            #expect(try await admin.listGroups().isEmpty)
            try cluster.failNext(.findCoordinator, with: .coordinatorNotAvailable)
            do {
                _ = try await admin.describeTransaction("nobody")
                Issue.record("an unknown transactional id was described")
            } catch let error as KafkaError {
                #expect(error.code == .transactionalIdNotFound, "the coordinator's answer, not the first lookup's error")
            }
            await admin.close()
        }
    }

    @Test("a connection that finishes opening after close() is closed, and its request is not sent")
    func closeWhileConnecting() async throws {
        try await SamsaTestCluster.with { cluster in
            let (gate, open) = AsyncStream.makeStream(of: Void.self)
            let (seen, saw) = AsyncStream.makeStream(of: Void.self)
            cluster.intercept(.apiVersions, times: 1) { _ in
                saw.yield()
                for await _ in gate { break }
                return .pass
            }
            let admin = try makeAdmin(cluster)
            let listing = Task { try await admin.listTopics() }
            for await _ in seen { break }
            await admin.close()
            let sentAfterClose = NIOLockedValueBox(false)
            cluster.observe(.metadata) { _ in sentAfterClose.withLockedValue { $0 = true } }
            open.yield()
            do {
                _ = try await listing.value
                Issue.record("a request was answered after close()")
            } catch SamsaClientError.closed {
            }
            #expect(!sentAfterClose.withLockedValue { $0 })
        }
    }
}
