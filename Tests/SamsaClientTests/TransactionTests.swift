import NIOCore
import SamsaTesting
import Testing

@testable import SamsaClient

/// The transactional producer against a real broker: commit and abort as read_committed
/// consumers see them, offsets sent with the transaction, and fencing.
@Suite("Transactions", .timeLimit(.minutes(1)))
struct TransactionTests {
    private func producer(_ cluster: SamsaTestCluster, id: String) throws -> KafkaProducer {
        var configuration = ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.transactionalId = id
        configuration.client.retryBackoffMs = 5
        return try KafkaProducer(configuration: configuration)
    }

    /// Every value read_committed (or read_uncommitted) sees in `topic` before the `end`
    /// sentinel record each partition ends with.
    private func values(_ cluster: SamsaTestCluster, _ topic: String, partitions: Int32, committedOnly: Bool) async throws -> [String] {
        var configuration = ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
        configuration.isolationLevel = committedOnly ? .readCommitted : .readUncommitted
        configuration.enableAutoCommit = false
        let consumer = try KafkaConsumer(configuration: configuration)
        var assignment: [TopicPartition: OffsetSpec] = [:]
        for partition in 0..<partitions { assignment[TopicPartition(topic, partition)] = .earliest }
        try await consumer.assign(assignment)
        var values: [String] = []
        var ended = 0
        for try await record in consumer.records {
            guard record.valueString != "end" else {
                ended += 1
                if ended == partitions { break }
                continue
            }
            values.append(record.valueString ?? "")
        }
        await consumer.close()
        return values.sorted()
    }

    /// Ends every partition of `topic` with a non-transactional `end` record.
    private func endPartitions(_ cluster: SamsaTestCluster, _ topic: String, partitions: Int32) async throws {
        let producer = try KafkaProducer(
            configuration: ProducerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers)))
        for partition in 0..<partitions {
            _ = try await producer.send(ProducerRecord(topic: topic, value: "end", partition: partition))
        }
        await producer.close()
    }

    @Test("a committed transaction is seen by read_committed; an aborted one only by read_uncommitted; offsets move with the commit")
    func commitAndAbort() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("out", partitions: 2)
            try await cluster.createTopic("in")
            let producer = try producer(cluster, id: "pipeline")
            try await producer.initTransactions()
            let group = ConsumerGroupMetadata(groupId: "copier")

            try producer.beginTransaction()
            for index in 0..<4 {
                try await producer.sendWithoutWaiting(
                    ProducerRecord(topic: "out", value: "committed-\(index)", partition: Int32(index % 2)))
            }
            try await producer.sendOffsetsToTransaction([TopicPartition("in", 0): 4], groupMetadata: group)
            #expect(await cluster.committedOffset(group: "copier", topic: "in") == nil, "offsets wait for the commit")
            try await producer.commitTransaction()
            #expect(await cluster.committedOffset(group: "copier", topic: "in") == 4)

            try producer.beginTransaction()
            try await producer.sendWithoutWaiting(ProducerRecord(topic: "out", value: "aborted", partition: 0))
            await producer.flush()
            try await producer.sendOffsetsToTransaction([TopicPartition("in", 0): 9], groupMetadata: group)
            try await producer.abortTransaction()
            #expect(await cluster.committedOffset(group: "copier", topic: "in") == 4, "aborted offsets are dropped")

            try producer.beginTransaction()
            _ = try await producer.send(ProducerRecord(topic: "out", value: "later", partition: 1))
            // The admin client sees the open transaction, and where it began in the partition.
            let admin = KafkaAdmin(configuration: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            let open = try await admin.describeTransaction("pipeline")
            #expect(open.state == "Ongoing" && open.partitions == [TopicPartition("out", 1)])
            #expect(try await admin.listTransactions(states: ["Ongoing"]).keys.sorted() == ["pipeline"])
            #expect(try await admin.describeProducers(TopicPartition("out", 1)).first?.currentTransactionStartOffset == 3)
            try await producer.commitTransaction()
            #expect(try await admin.describeTransaction("pipeline").state == "CompleteCommit")
            await admin.close()
            await producer.close()
            try await endPartitions(cluster, "out", partitions: 2)

            let committed = try await values(cluster, "out", partitions: 2, committedOnly: true)
            #expect(committed == ["committed-0", "committed-1", "committed-2", "committed-3", "later"])
            let everything = try await values(cluster, "out", partitions: 2, committedOnly: false)
            #expect(everything.contains("aborted"))
        }
    }

    @Test("a second producer with the same transactional id fences the first; sends outside a transaction are refused")
    func fencing() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("t")
            let old = try producer(cluster, id: "shared")
            try await old.initTransactions()
            await #expect(throws: TransactionError.self) { _ = try await old.send(ProducerRecord(topic: "t", value: "no transaction")) }
            try old.beginTransaction()
            _ = try await old.send(ProducerRecord(topic: "t", value: "zombie"))

            let new = try producer(cluster, id: "shared")
            try await new.initTransactions()
            await #expect(throws: TransactionError.self) { try await old.commitTransaction() }
            try new.beginTransaction()
            _ = try await new.send(ProducerRecord(topic: "t", value: "fresh"))
            try await new.commitTransaction()
            await new.close()
            await old.close()
            try await endPartitions(cluster, "t", partitions: 1)
            #expect(try await values(cluster, "t", partitions: 1, committedOnly: true) == ["fresh"])
        }
    }

    @Test("a read_committed consumer learns it reached the end of a partition that holds only an aborted transaction")
    func partitionEndPastAbortedRecords() async throws {
        try await SamsaTestCluster.with { cluster in
            try await cluster.createTopic("aborted")
            let producer = try producer(cluster, id: "aborter")
            try await producer.initTransactions()
            try producer.beginTransaction()
            for index in 0..<3 { _ = try await producer.send(ProducerRecord(topic: "aborted", value: "\(index)")) }
            try await producer.abortTransaction()
            await producer.close()
            let end = try #require(cluster.endOffset(topic: "aborted"))
            #expect(end == 4, "three records and the ABORT marker")

            var configuration = ConsumerConfiguration(client: try ClientConfiguration(bootstrapServers: cluster.bootstrapServers))
            configuration.isolationLevel = .readCommitted
            let consumer = try KafkaConsumer(configuration: configuration)
            let partition = TopicPartition("aborted", 0)
            try await consumer.assign([partition: .earliest])
            var reached: PartitionEnd?
            for await event in consumer.partitionEnds {
                reached = event
                break
            }
            #expect(reached == PartitionEnd(partition: partition, offset: end), "no record handed out, yet at the end")
            #expect(consumer.position(partition) == end)
            await consumer.close()
        }
    }
}
