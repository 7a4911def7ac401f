import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("Idempotent produce and InitProducerId")
struct IdempotentProduceTests {
    typealias Fixtures = ProduceFixtures

    private func initProducerId(_ connection: ProduceTestConnection, version: Int16 = 4) async throws -> Int64 {
        var request = InitProducerIdRequest()
        request.transactionalId = nil
        request.transactionTimeoutMs = 60_000
        let response = try await connection.request(request, version: version)
        #expect(response.errorCode == 0)
        #expect(response.producerEpoch == 0)
        return response.producerId
    }

    /// Produces one idempotent batch to `topic`-0 and returns (error code, base offset).
    private func produce(
        _ connection: ProduceTestConnection, _ topic: String, producerId: Int64, epoch: Int16 = 0, sequence: Int32,
        count: Int = 2, acks: Int16 = -1, prefix: String = "v"
    ) async throws -> (ErrorCode, Int64) {
        let batch = try Fixtures.batch(count: count, prefix: prefix, producerId: producerId, epoch: epoch, sequence: sequence)
        let response = try await connection.request(Fixtures.request(acks: acks, [(topic, 0, batch)]), version: 9)
        let result = response.responses[0].partitionResponses[0]
        return (ErrorCode(rawValue: result.errorCode), result.baseOffset)
    }

    @Test("DescribeProducers lists each partition's producers with epoch, last sequence and timestamp")
    func describeProducers() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "described", partitions: 2)
                try await ProduceTestConnection.with(address) { connection in
                    let first = try await initProducerId(connection)
                    let second = try await initProducerId(connection)
                    #expect(try await produce(connection, "described", producerId: first, sequence: 0, count: 3).0 == .noError)
                    #expect(try await produce(connection, "described", producerId: second, sequence: 0, count: 2).0 == .noError)
                    #expect(try await produce(connection, "described", producerId: second, sequence: 2, count: 2).0 == .noError)
                    var request = DescribeProducersRequest()
                    var topic = DescribeProducersRequest.TopicRequest()
                    topic.name = "described"
                    topic.partitionIndexes = [0, 1, 5]
                    var missing = DescribeProducersRequest.TopicRequest()
                    missing.name = "missing"
                    missing.partitionIndexes = [0]
                    request.topics = [topic, missing]
                    let response = try await connection.request(request, version: 0)
                    let partitions = try #require(response.topics.first?.partitions)
                    #expect(partitions.map(\.errorCode) == [0, 0, ErrorCode.unknownTopicOrPartition.rawValue])
                    let producers = partitions[0].activeProducers
                    #expect(producers.map(\.producerId) == [first, second].sorted())
                    let byId = Dictionary(uniqueKeysWithValues: producers.map { ($0.producerId, $0) })
                    #expect(byId[first]?.lastSequence == 2)
                    #expect(byId[second]?.lastSequence == 3)
                    #expect(byId[second]?.producerEpoch == 0)
                    #expect(byId[second]?.lastTimestamp == 1_700_000_000_000)
                    #expect(producers.allSatisfy { $0.coordinatorEpoch == -1 && $0.currentTxnStartOffset == -1 })
                    #expect(partitions[1].activeProducers.isEmpty)
                    #expect(response.topics.last?.partitions.first?.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
                }
            }
        }
    }

    @Test("InitProducerId hands out distinct ids and checks its arguments")
    func initProducerIdRules() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { _, address in
                try await ProduceTestConnection.with(address) { connection in
                    var ids = Set<Int64>()
                    for version in Int16(0)...5 { ids.insert(try await initProducerId(connection, version: version)) }
                    #expect(ids.count == 6)
                    var bump = InitProducerIdRequest()
                    bump.transactionalId = nil
                    bump.producerId = try #require(ids.max())
                    bump.producerEpoch = 0
                    let bumped = try await connection.request(bump, version: 4)
                    #expect(bumped.errorCode == 0)
                    #expect(!ids.contains(bumped.producerId))
                    var halfSet = InitProducerIdRequest()
                    halfSet.transactionalId = nil
                    halfSet.producerId = 5
                    #expect(try await connection.request(halfSet, version: 4).errorCode == ErrorCode.invalidRequest.rawValue)
                    var empty = InitProducerIdRequest()
                    empty.transactionalId = ""
                    empty.transactionTimeoutMs = 1000
                    #expect(try await connection.request(empty, version: 4).errorCode == ErrorCode.invalidRequest.rawValue)
                    var longTimeout = InitProducerIdRequest()
                    longTimeout.transactionalId = "txn"
                    longTimeout.transactionTimeoutMs = 3_600_000
                    let refused = try await connection.request(longTimeout, version: 4)
                    #expect(refused.errorCode == ErrorCode.invalidTransactionTimeout.rawValue)
                    #expect(refused.producerId == -1)
                }
            }
        }
    }

    @Test("a retried batch gets its original offset and is not appended again")
    func duplicates() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "idem")
                let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "idem", partition: 0)))
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 0, count: 3) == (.noError, 0))
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 3, count: 2) == (.noError, 3))
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 0, count: 3) == (.noError, 0))
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 3, count: 2, acks: 1) == (.noError, 3))
                    #expect(log.logEndOffset == 5)
                    // A gap, a sequence already passed but not a retry, a stale epoch.
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 7).0 == .outOfOrderSequenceNumber)
                    #expect(try await produce(connection, "idem", producerId: pid, sequence: 1, count: 2).0 == .outOfOrderSequenceNumber)
                    #expect(try await produce(connection, "idem", producerId: pid, epoch: 1, sequence: 3).0 == .outOfOrderSequenceNumber)
                    #expect(try await produce(connection, "idem", producerId: pid, epoch: 1, sequence: 0) == (.noError, 5))
                    #expect(try await produce(connection, "idem", producerId: pid, epoch: 0, sequence: 5).0 == .invalidProducerEpoch)
                    // The old epoch's batches are forgotten: its retry is fenced too.
                    #expect(
                        try await produce(connection, "idem", producerId: pid, epoch: 0, sequence: 0, count: 3).0 == .invalidProducerEpoch)
                    #expect(log.logEndOffset == 7)
                }
            }
        }
    }

    @Test("only the last five batches are recognised; sequences wrap after Int32.max")
    func windowAndWrap() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "window")
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    for index in 0..<7 {
                        #expect(
                            try await produce(connection, "window", producerId: pid, sequence: Int32(index), count: 1, acks: 1).1
                                == Int64(index))
                    }
                    #expect(try await produce(connection, "window", producerId: pid, sequence: 2, count: 1) == (.noError, 2))
                    #expect(try await produce(connection, "window", producerId: pid, sequence: 1, count: 1).0 == .outOfOrderSequenceNumber)
                    // A new producer may start anywhere; its sequence wraps to 0 after Int32.max.
                    let other = try await initProducerId(connection)
                    #expect(try await produce(connection, "window", producerId: other, sequence: Int32.max - 1, count: 3).0 == .noError)
                    #expect(try await produce(connection, "window", producerId: other, sequence: 1, count: 1) == (.noError, 10))
                    #expect(try await produce(connection, "window", producerId: other, sequence: Int32.max - 1, count: 3).1 == 7)
                }
            }
        }
    }

    @Test("transactional batches: refused without a transactional id, INVALID_TXN_STATE for an id the coordinator does not know")
    func transactionalBatches() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "txn", partitions: 2)
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    let plain = try Fixtures.batch(count: 1, producerId: pid, epoch: 0, sequence: 0)
                    let transactional = Fixtures.patched(plain, at: 21, int16: 1 << 4)
                    var request = Fixtures.request(acks: -1, [("txn", 0, transactional), ("txn", 1, plain)])
                    let refused = try await connection.request(request, version: 9)
                    #expect(refused.responses[0].partitionResponses.map(\.errorCode) == [53, 53])
                    request.transactionalId = "app"
                    let response = try await connection.request(request, version: 9)
                    #expect(response.responses[0].partitionResponses.map(\.errorCode) == [ErrorCode.invalidTxnState.rawValue, 0])
                }
            }
        }
    }

    @Test("a corrupt retry is CORRUPT_MESSAGE, not a duplicate")
    func corruptRetry() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "crc")
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    let batch = try Fixtures.batch(count: 2, producerId: pid, epoch: 0, sequence: 0)
                    #expect(
                        try await connection.request(Fixtures.request(acks: 1, [("crc", 0, batch)]), version: 9).responses[0]
                            .partitionResponses[0].errorCode == 0)
                    var corrupt = ByteBuffer(buffer: batch)
                    corrupt.setInteger(UInt8(0x33), at: corrupt.writerIndex - 1)
                    let response = try await connection.request(Fixtures.request(acks: 1, [("crc", 0, corrupt)]), version: 9)
                    #expect(response.responses[0].partitionResponses[0].errorCode == ErrorCode.corruptMessage.rawValue)
                }
            }
        }
    }

    @Test("after a restart, retries are still recognised and producer ids are not reused")
    func restart() async throws {
        try await withProduceTestDirectory { directory in
            let (pid, firstIds) = try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "survive")
                return try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    var ids: Set<Int64> = [pid]
                    for _ in 0..<3 { ids.insert(try await initProducerId(connection)) }
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 0, count: 3) == (.noError, 0))
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 3, count: 3, acks: 1) == (.noError, 3))
                    return (pid, ids)
                }
            }
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await ProduceTestConnection.with(address) { connection in
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 3, count: 3) == (.noError, 3))
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 0, count: 3) == (.noError, 0))
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 9).0 == .outOfOrderSequenceNumber)
                    #expect(try await produce(connection, "survive", producerId: pid, sequence: 6) == (.noError, 6))
                    let next = try await initProducerId(connection)
                    #expect(!firstIds.contains(next))
                    #expect(next > firstIds.max()!)
                }
                #expect(broker.core.logs.log(for: TopicPartition(topic: "survive", partition: 0))?.logEndOffset == 8)
            }
        }
    }

    @Test("concurrent acks=-1 produces to one partition: distinct offsets, one append per duplicate, all durable")
    func concurrency() async throws {
        let tasks = 6
        let rounds = 25
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "busy")
                let offsets = try await withThrowingTaskGroup(of: [Int64].self) { group in
                    for task in 0..<tasks {
                        group.addTask {
                            try await ProduceTestConnection.with(address) { connection in
                                var offsets: [Int64] = []
                                for round in 0..<rounds {
                                    let batch = try Fixtures.batch(count: 2, prefix: "t\(task)r\(round)")
                                    let response = try await connection.request(
                                        Fixtures.request(acks: -1, [("busy", 0, batch)]), version: 9)
                                    let result = response.responses[0].partitionResponses[0]
                                    #expect(result.errorCode == 0)
                                    offsets.append(result.baseOffset)
                                }
                                return offsets
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append(contentsOf: $1) }
                }
                #expect(offsets.count == tasks * rounds)
                #expect(Set(offsets).count == offsets.count)
                #expect(Set(offsets) == Set(stride(from: Int64(0), to: Int64(tasks * rounds * 2), by: 2)))

                // The same idempotent batch sent on several connections at once is appended once.
                let pid = try await ProduceTestConnection.with(address) { try await initProducerId($0) }
                let batch = try Fixtures.batch(count: 4, prefix: "once", producerId: pid, epoch: 0, sequence: 0)
                let bases = try await withThrowingTaskGroup(of: Int64.self) { group in
                    for _ in 0..<tasks {
                        group.addTask {
                            try await ProduceTestConnection.with(address) { connection in
                                let response = try await connection.request(Fixtures.request(acks: -1, [("busy", 0, batch)]), version: 9)
                                #expect(response.responses[0].partitionResponses[0].errorCode == 0)
                                return response.responses[0].partitionResponses[0].baseOffset
                            }
                        }
                    }
                    return try await group.reduce(into: Set<Int64>()) { $0.insert($1) }
                }
                #expect(bases == [Int64(tasks * rounds * 2)])
            }
            try await withProduceTestBroker(dataDirectory: directory) { broker, _ in
                let values = try await Fixtures.storedValues(broker, "busy")
                #expect(values.count == tasks * rounds * 2 + 4)
                for task in 0..<tasks {
                    for round in 0..<rounds {
                        #expect(values.contains("t\(task)r\(round)-1"))
                    }
                }
            }
        }
    }
}
