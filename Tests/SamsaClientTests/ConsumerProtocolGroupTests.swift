import NIOCore
import SamsaBroker
import SamsaCoordination
import SamsaTesting
import Testing

@testable import SamsaClient

/// KIP-848 consumer groups (`group.protocol=consumer`) with SamsaClient members: the
/// coordinator assigns, members reconcile and report what they own.
@Suite("KIP-848 consumer groups", .timeLimit(.minutes(1)))
struct ConsumerProtocolGroupTests {
    private func options() -> SamsaTestCluster.Options {
        var options = SamsaTestCluster.Options()
        options.configuration.groups.consumer = ConsumerGroupSettings(heartbeatIntervalMs: 50)
        return options
    }

    private func member(_ cluster: SamsaTestCluster) throws -> KafkaConsumer {
        var configuration = ConsumerConfiguration(
            client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers), groupId: "kip848")
        configuration.groupProtocol = .consumer
        configuration.autoOffsetReset = .earliest
        return try KafkaConsumer(configuration: configuration)
    }

    @Test("two members share four partitions; when one leaves, the other takes them all")
    func shareAndTakeOver() async throws {
        try await SamsaTestCluster.with(options()) { cluster in
            try await cluster.createTopic("kt", partitions: 4)
            let first = try member(cluster)
            var firstEvents = first.rebalanceEvents.makeAsyncIterator()
            try first.subscribe(["kt"])
            #expect(await firstEvents.next() == .assigned((0..<4).map { TopicPartition("kt", $0) }))

            let second = try member(cluster)
            var secondEvents = second.rebalanceEvents.makeAsyncIterator()
            try second.subscribe(["kt"])
            // The first gives two back; only then does the second get them.
            guard case .revoked(let given)? = await firstEvents.next() else {
                Issue.record("the first member gave nothing back")
                return
            }
            #expect(given.count == 2)
            #expect(await secondEvents.next() == .assigned(given))
            #expect(first.assignment.count == 2 && second.assignment.count == 2)

            await second.close()
            #expect(await firstEvents.next() == .assigned(given), "the partitions come back once the second member left")
            #expect(first.assignment.count == 4)
            await first.close()
        }
    }
}
