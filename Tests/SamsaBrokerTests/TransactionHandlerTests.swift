import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// InitProducerId with transactional ids, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn over a
/// socket: Kafka's errors for bad input (nothing written), fencing, and state across a restart.
@Suite("Transactions over the wire")
struct TransactionHandlerTests {
    typealias Fixtures = ProduceFixtures

    private func initTransactional(
        _ connection: ProduceTestConnection, _ id: String, version: Int16 = 4
    ) async throws
        -> InitProducerIdResponse
    {
        var request = InitProducerIdRequest()
        request.transactionalId = id
        request.transactionTimeoutMs = 60_000
        return try await connection.request(request, version: version)
    }

    private func addPartitions(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, _ partitions: [(String, [Int32])],
        version: Int16 = 3
    ) async throws -> [[Int16]] {
        var request = AddPartitionsToTxnRequest()
        request.v3AndBelowTransactionalId = id
        request.v3AndBelowProducerId = producerId
        request.v3AndBelowProducerEpoch = epoch
        request.v3AndBelowTopics = partitions.map { name, indexes in
            var topic = AddPartitionsToTxnRequest.AddPartitionsToTxnTopic()
            topic.name = name
            topic.partitions = indexes
            return topic
        }
        let response = try await connection.request(request, version: version)
        return response.resultsByTopicV3AndBelow.map { $0.resultsByPartition.map(\.partitionErrorCode) }
    }

    private func endTxn(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, commit: Bool
    ) async throws
        -> ErrorCode
    {
        var request = EndTxnRequest()
        request.transactionalId = id
        request.producerId = producerId
        request.producerEpoch = epoch
        request.committed = commit
        return ErrorCode(rawValue: try await connection.request(request, version: 3).errorCode)
    }

    /// AddOffsetsToTxn for group `g`; the error code.
    private func addOffsets(_ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16) async throws -> Int16 {
        var request = AddOffsetsToTxnRequest()
        request.transactionalId = id
        request.producerId = producerId
        request.producerEpoch = epoch
        request.groupId = "g"
        return try await connection.request(request, version: 3).errorCode
    }

    /// TxnOffsetCommit v3 of `offset` for `in-0` in group `g` (generation -1 and no member: a
    /// standalone application); the partition's error code.
    private func commitOffset(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, offset: Int64,
        generation: Int32 = -1, memberId: String = ""
    ) async throws -> Int16? {
        let request = TransactionRequests.commitOffset(
            id, producerId: producerId, epoch: epoch, offset: offset, generation: generation, memberId: memberId)
        return try await connection.request(request, version: 3).topics.first?.partitions.first?.errorCode
    }

    /// OffsetFetch v7 of `in-0` in group `g`: the partition's error code and offset.
    private func fetchOffset(_ connection: ProduceTestConnection, requireStable: Bool) async throws -> (Int16, Int64)? {
        var request = OffsetFetchRequest()
        request.groupId = "g"
        var topic = OffsetFetchRequest.OffsetFetchRequestTopic()
        topic.name = "in"
        topic.partitionIndexes = [0]
        request.topics = [topic]
        request.requireStable = requireStable
        let partition = try await connection.request(request, version: 7).topics.first?.partitions.first
        return partition.map { ($0.errorCode, $0.committedOffset) }
    }

    /// DescribeProducers' CurrentTxnStartOffset of `producerId` in `t-0`.
    private func openTransactionStart(_ connection: ProduceTestConnection, producerId: Int64) async throws -> Int64? {
        var request = DescribeProducersRequest()
        var topic = DescribeProducersRequest.TopicRequest()
        topic.name = "t"
        topic.partitionIndexes = [0]
        request.topics = [topic]
        let response = try await connection.request(request, version: 0)
        return response.topics.first?.partitions.first?.activeProducers.first { $0.producerId == producerId }?.currentTxnStartOffset
    }

    private func transactionalBatch(producerId: Int64, epoch: Int16, sequence: Int32) throws -> ByteBuffer {
        Fixtures.patched(try Fixtures.batch(count: 2, producerId: producerId, epoch: epoch, sequence: sequence), at: 21, int16: 1 << 4)
    }

    @Test("bad input gets Kafka's codes and writes nothing")
    func badInput() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t", partitions: 2)
                try await ProduceTestConnection.with(address) { connection in
                    let ids = try await initTransactional(connection, "app")
                    #expect(ids.errorCode == 0 && ids.producerEpoch == 0)
                    let pid = ids.producerId
                    #expect(try await endTxn(connection, "app", producerId: pid, epoch: 0, commit: true) == .invalidTxnState)
                    #expect(try await endTxn(connection, "app", producerId: pid + 100, epoch: 0, commit: true) == .invalidProducerIdMapping)
                    #expect(try await endTxn(connection, "nobody", producerId: pid, epoch: 0, commit: false) == .invalidProducerIdMapping)
                    let unknown = try await addPartitions(connection, "app", producerId: pid, epoch: 0, [("t", [0, 1]), ("missing", [0])])
                    #expect(unknown == [[55, 55], [3]], "OPERATION_NOT_ATTEMPTED for the known partitions")
                    #expect(await broker.transactions.describe("app")?.state == .empty, "nothing was added")
                    let wrongId = try await addPartitions(connection, "app", producerId: pid + 1, epoch: 0, [("t", [0])])
                    #expect(wrongId == [[ErrorCode.invalidProducerIdMapping.rawValue]])
                    // A transactional batch for a partition never added is refused and not appended.
                    var produce = Fixtures.request(acks: -1, [("t", 1, try transactionalBatch(producerId: pid, epoch: 0, sequence: 0))])
                    produce.transactionalId = "app"
                    let refused = try await connection.request(produce, version: 9)
                    #expect(refused.responses[0].partitionResponses[0].errorCode == ErrorCode.invalidTxnState.rawValue)
                    #expect(try await Fixtures.storedValues(broker, "t", partition: 1).isEmpty)
                    var tooLong = InitProducerIdRequest()
                    tooLong.transactionalId = "app"
                    tooLong.transactionTimeoutMs = 3_600_000
                    #expect(try await connection.request(tooLong, version: 4).errorCode == ErrorCode.invalidTransactionTimeout.rawValue)
                }
            }
        }
    }

    @Test("a committed transaction is durable state; a new producer fences the old epoch (INVALID_PRODUCER_EPOCH before v2)")
    func commitAndFence() async throws {
        try await withProduceTestDirectory { directory in
            let pid = try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t", partitions: 2)
                return try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initTransactional(connection, "app").producerId
                    #expect(try await addPartitions(connection, "app", producerId: pid, epoch: 0, [("t", [0, 1])]) == [[0, 0]])
                    var produce = Fixtures.request(acks: -1, [("t", 0, try transactionalBatch(producerId: pid, epoch: 0, sequence: 0))])
                    produce.transactionalId = "app"
                    #expect(try await connection.request(produce, version: 9).responses[0].partitionResponses[0].errorCode == 0)
                    let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "t", partition: 0)))
                    #expect(log.lastStableOffset == 0)
                    #expect(try await endTxn(connection, "app", producerId: pid, epoch: 0, commit: true) == .noError)
                    #expect(log.lastStableOffset == 3, "two records and the COMMIT marker")
                    #expect(await broker.transactions.describe("app")?.state == .completeCommit)
                    return pid
                }
            }
            // After a restart the id keeps its producer id; the next InitProducerId bumps the epoch.
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                #expect(await broker.transactions.describe("app")?.state == .completeCommit)
                try await ProduceTestConnection.with(address) { connection in
                    let bumped = try await initTransactional(connection, "app")
                    #expect(bumped.producerId == pid && bumped.producerEpoch == 1)
                    let stale = try await addPartitions(connection, "app", producerId: pid, epoch: 0, [("t", [0])], version: 1)
                    #expect(stale == [[ErrorCode.invalidProducerEpoch.rawValue]])
                    let fenced = try await addPartitions(connection, "app", producerId: pid, epoch: 0, [("t", [0])], version: 3)
                    #expect(fenced == [[ErrorCode.producerFenced.rawValue]])
                }
            }
        }
    }

    @Test("a transaction caught between PrepareCommit and its markers by a crash completes after the restart")
    func prepareCommitRecovery() async throws {
        try await withProduceTestDirectory { directory in
            let pid = try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t")
                try await Fixtures.createTopic(broker, "in")
                return try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initTransactional(connection, "app").producerId
                    _ = try await addPartitions(connection, "app", producerId: pid, epoch: 0, [("t", [0])])
                    var produce = Fixtures.request(acks: -1, [("t", 0, try transactionalBatch(producerId: pid, epoch: 0, sequence: 0))])
                    produce.transactionalId = "app"
                    _ = try await connection.request(produce, version: 9)
                    #expect(try await addOffsets(connection, "app", producerId: pid, epoch: 0) == 0)
                    #expect(try await commitOffset(connection, "app", producerId: pid, epoch: 0, offset: 42) == 0)
                    return pid
                }
            }
            // As if the broker had persisted PrepareCommit and crashed before the markers.
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                let key = TopicPartition(topic: "in", partition: 0)
                #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key] == nil, "offsets wait for the marker")
                let core = broker.core
                var prepared = try #require(await broker.transactions.describe("app"))
                prepared.state = .prepareCommit
                let topic = try #require(core.topics.image.topic(named: TransactionStateTopic.name))
                let partition = TransactionStateTopic.partition(for: "app", partitionCount: topic.partitionCount)
                let log = try #require(core.logs.log(for: TopicPartition(topic: TransactionStateTopic.name, partition: partition)))
                let batch = try TransactionStateTopic.batch(transactionalId: "app", prepared, timestamp: 1)
                _ = try await core.blocking.run { try log.append(batch, durability: .flushed) }
            }
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                // `start` ran before the server took requests: the markers are written.
                #expect(try await testEventually { await broker.transactions.describe("app")?.state == .completeCommit })
                let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "t", partition: 0)))
                #expect(log.lastStableOffset == log.logEndOffset)
                #expect(await broker.transactions.describe("app")?.producerId == pid)
                let key = TopicPartition(topic: "in", partition: 0)
                #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 42, "visible with the COMMIT")
            }
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                let key = TopicPartition(topic: "in", partition: 0)
                #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 42, "replayed at the marker")
            }
        }
    }

    @Test("the coordinator aborts a silent producer's transaction at its timeout; the LSO moves on; the producer is fenced")
    func timeout() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t")
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initTransactional(connection, "silent").producerId
                    _ = try await addPartitions(connection, "silent", producerId: pid, epoch: 0, [("t", [0])])
                    var produce = Fixtures.request(acks: -1, [("t", 0, try transactionalBatch(producerId: pid, epoch: 0, sequence: 0))])
                    produce.transactionalId = "silent"
                    _ = try await connection.request(produce, version: 9)
                    let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "t", partition: 0)))
                    #expect(log.lastStableOffset == 0, "the open transaction holds the LSO back")
                    #expect(try await openTransactionStart(connection, producerId: pid) == 0, "DescribeProducers shows where it began")
                    directory.clock.advance(byMilliseconds: 59_999)
                    await broker.transactions.runTimers()
                    #expect(await broker.transactions.describe("silent")?.state == .ongoing)
                    directory.clock.advance(byMilliseconds: 1)
                    await broker.transactions.runTimers()
                    #expect(await broker.transactions.describe("silent")?.state == .completeAbort)
                    #expect(log.lastStableOffset == log.logEndOffset, "the ABORT marker let the LSO pass")
                    #expect(try await openTransactionStart(connection, producerId: pid) == -1)
                    #expect(try await endTxn(connection, "silent", producerId: pid, epoch: 0, commit: true) == .producerFenced)
                }
            }
        }
    }

    @Test("TxnOffsetCommit: offsets wait for the transaction; commit applies them, abort drops them; a wrong generation is refused")
    func transactionalOffsets() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory, configure: fastGroupSettings) { broker, address in
                try await Fixtures.createTopic(broker, "in", partitions: 1)
                let member = try await GroupTestMember.connect(to: address, groupId: "g", topic: "in")
                _ = try await member.rebalance(partitionCount: 1)
                let generation = await member.generation
                let memberId = await member.memberId
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initTransactional(connection, "ctp").producerId
                    func commitOffset(_ offset: Int64, generation: Int32) async throws -> Int16? {
                        try await self.commitOffset(
                            connection, "ctp", producerId: pid, epoch: 0, offset: offset, generation: generation, memberId: memberId)
                    }
                    func addOffsets() async throws -> Int16 {
                        try await self.addOffsets(connection, "ctp", producerId: pid, epoch: 0)
                    }
                    let key = TopicPartition(topic: "in", partition: 0)
                    #expect(
                        try await commitOffset(5, generation: generation) == ErrorCode.invalidTxnState.rawValue, "AddOffsetsToTxn first")
                    #expect(try await addOffsets() == 0)
                    #expect(try await commitOffset(5, generation: generation + 7) == ErrorCode.illegalGeneration.rawValue)
                    #expect(try await commitOffset(5, generation: generation) == 0)
                    #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key] == nil, "pending until the commit")
                    let unstable = try await fetchOffset(connection, requireStable: true)
                    #expect(unstable?.0 == ErrorCode.unstableOffsetCommit.rawValue, "RequireStable waits for the transaction")
                    let plain = try await fetchOffset(connection, requireStable: false)
                    #expect(plain?.0 == 0 && plain?.1 == -1)
                    #expect(try await endTxn(connection, "ctp", producerId: pid, epoch: 0, commit: true) == .noError)
                    #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 5)
                    let stable = try await fetchOffset(connection, requireStable: true)
                    #expect(stable?.0 == 0 && stable?.1 == 5)
                    #expect(try await addOffsets() == 0)
                    #expect(try await commitOffset(9, generation: generation) == 0)
                    #expect(try await endTxn(connection, "ctp", producerId: pid, epoch: 0, commit: false) == .noError)
                    #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 5, "dropped with the abort")
                }
                await member.close()
            }
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                let key = TopicPartition(topic: "in", partition: 0)
                #expect(
                    await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 5,
                    "a replay applies the committed transaction's offsets and not the aborted one's")
            }
        }
    }

    @Test("DescribeTransactions, ListTransactions (state, producer id and duration filters) and WriteTxnMarkers")
    func adminApis() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t", partitions: 2)
                try await ProduceTestConnection.with(address) { connection in
                    let running = try await initTransactional(connection, "running").producerId
                    let idle = try await initTransactional(connection, "idle").producerId
                    _ = try await addPartitions(connection, "running", producerId: running, epoch: 0, [("t", [1, 0])])
                    directory.clock.advance(byMilliseconds: 5_000)

                    var describe = DescribeTransactionsRequest()
                    describe.transactionalIds = ["running", "nobody"]
                    let described = try await connection.request(describe, version: 0).transactionStates
                    #expect(described.map(\.errorCode) == [0, ErrorCode.transactionalIdNotFound.rawValue])
                    #expect(described[0].transactionState == "Ongoing")
                    #expect(described[0].producerId == running && described[0].producerEpoch == 0)
                    #expect(described[0].transactionTimeoutMs == 60_000)
                    #expect(described[0].topics.map(\.topic) == ["t"] && described[0].topics[0].partitions == [0, 1])

                    func list(states: [String] = [], producers: [Int64] = [], duration: Int64 = -1) async throws -> ([String], [String]) {
                        var request = ListTransactionsRequest()
                        request.stateFilters = states
                        request.producerIdFilters = producers
                        request.durationFilter = duration
                        let response = try await connection.request(request, version: 1)
                        return (response.transactionStates.map(\.transactionalId).sorted(), response.unknownStateFilters)
                    }
                    #expect(try await list().0 == ["idle", "running"])
                    #expect(try await list(states: ["Empty"]).0 == ["idle"])
                    #expect(try await list(states: ["Ongoing", "Bogus"]) == (["running"], ["Bogus"]))
                    #expect(try await list(states: ["Bogus"]).0 == [])
                    #expect(try await list(producers: [idle]).0 == ["idle"])
                    #expect(try await list(duration: 5_000).0 == ["running"])
                    #expect(try await list(duration: 5_001).0 == [])

                    // WriteTxnMarkers: an ABORT marker for a producer's open transaction.
                    let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "t", partition: 0)))
                    _ = try await broker.core.blocking.run {
                        try log.append(try transactionalBatch(producerId: 77, epoch: 0, sequence: 0), leaderEpoch: 0)
                    }
                    #expect(log.lastStableOffset == 0)
                    var markers = WriteTxnMarkersRequest()
                    var marker = WriteTxnMarkersRequest.WritableTxnMarker()
                    marker.producerId = 77
                    marker.producerEpoch = 0
                    marker.transactionResult = false
                    var topic = WriteTxnMarkersRequest.WritableTxnMarkerTopic()
                    topic.name = "t"
                    topic.partitionIndexes = [0]
                    var missing = WriteTxnMarkersRequest.WritableTxnMarkerTopic()
                    missing.name = "missing"
                    missing.partitionIndexes = [3]
                    marker.topics = [topic, missing]
                    markers.markers = [marker]
                    let written = try await connection.request(markers, version: 1)
                    #expect(
                        written.markers.first?.topics.map { $0.partitions.map(\.errorCode) } == [
                            [0], [ErrorCode.unknownTopicOrPartition.rawValue],
                        ])
                    #expect(log.lastStableOffset == log.logEndOffset)
                }
            }
        }
    }
}
