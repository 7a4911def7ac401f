import NIOCore
import SamsaCoordination
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// Transactions V2 (KIP-890 part 2) over the wire, as a Kafka 4 Java producer drives them:
/// ApiVersions finalizes `transaction.version` 2, Produce v12 adds partitions itself,
/// TxnOffsetCommit v5 adds the offsets partition itself, and EndTxn v5 bumps the epoch.
@Suite("Transactions V2")
struct TransactionsV2Tests {
    typealias Fixtures = ProduceFixtures

    private func initTransactional(_ connection: ProduceTestConnection, _ id: String) async throws -> Int64 {
        var request = InitProducerIdRequest()
        request.transactionalId = id
        request.transactionTimeoutMs = 60_000
        let response = try await connection.request(request, version: 5)
        #expect(response.errorCode == 0)
        return response.producerId
    }

    /// Produce v12 of one transactional batch of two records to `t-0`; the partition's error code.
    private func produce(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, sequence: Int32
    ) async throws
        -> ErrorCode
    {
        let batch = Fixtures.patched(
            try Fixtures.batch(count: 2, producerId: producerId, epoch: epoch, sequence: sequence), at: 21, int16: 1 << 4)
        var request = Fixtures.request(acks: -1, [("t", 0, batch)])
        request.transactionalId = id
        let response = try await connection.request(request, version: 12)
        return ErrorCode(rawValue: response.responses.first?.partitionResponses.first?.errorCode ?? -1)
    }

    /// EndTxn v5: the error and the producer id and epoch it hands out.
    private func endTxn(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, commit: Bool
    ) async throws
        -> (ErrorCode, Int64, Int16)
    {
        var request = EndTxnRequest()
        request.transactionalId = id
        request.producerId = producerId
        request.producerEpoch = epoch
        request.committed = commit
        let response = try await connection.request(request, version: 5)
        return (ErrorCode(rawValue: response.errorCode), response.producerId, response.producerEpoch)
    }

    /// TxnOffsetCommit v5 of `offset` for `in-0` in group `g`, with no AddOffsetsToTxn before it.
    private func commitOffset(
        _ connection: ProduceTestConnection, _ id: String, producerId: Int64, epoch: Int16, offset: Int64
    )
        async throws -> Int16?
    {
        let request = TransactionRequests.commitOffset(id, producerId: producerId, epoch: epoch, offset: offset)
        return try await connection.request(request, version: 5).topics.first?.partitions.first?.errorCode
    }

    @Test("ApiVersions v3 finalizes transaction.version 2 and advertises EndTxn and TxnOffsetCommit v5")
    func advertised() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { _, address in
                try await ProduceTestConnection.with(address) { connection in
                    var request = ApiVersionsRequest()
                    request.clientSoftwareName = "test"
                    request.clientSoftwareVersion = "1"
                    let response = try await connection.request(request, version: 3)
                    #expect(
                        response.finalizedFeatures.map { "\($0.name) \($0.minVersionLevel)-\($0.maxVersionLevel)" } == [
                            "transaction.version 2-2"
                        ])
                    #expect(
                        response.supportedFeatures.map { "\($0.name) \($0.minVersion)-\($0.maxVersion)" } == ["transaction.version 0-2"])
                    #expect(response.finalizedFeaturesEpoch >= 0)
                    let keys = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.maxVersion) })
                    #expect(keys[ApiKey.endTxn.rawValue] == 5)
                    #expect(keys[ApiKey.txnOffsetCommit.rawValue] == 5)
                    #expect((keys[ApiKey.produce.rawValue] ?? 0) >= 12)
                }
            }
        }
    }

    @Test("Produce v12 and TxnOffsetCommit v5 join the transaction themselves; EndTxn v5 bumps the epoch and fences the old one")
    func implicitPartitionsAndEpochBump() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await Fixtures.createTopic(broker, "t")
                try await Fixtures.createTopic(broker, "in")
                let log = try #require(broker.core.logs.log(for: TopicPartition(topic: "t", partition: 0)))
                let key = TopicPartition(topic: "in", partition: 0)
                try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initTransactional(connection, "v2")
                    #expect(
                        try await produce(connection, "v2", producerId: pid, epoch: 0, sequence: 0) == .noError, "no AddPartitionsToTxn")
                    #expect(await broker.transactions.describe("v2")?.state == .ongoing)
                    #expect(
                        await broker.transactions.describe("v2")?.partitions.contains(TransactionPartition(topic: "t", partition: 0))
                            == true)
                    #expect(log.lastStableOffset == 0)
                    #expect(try await commitOffset(connection, "v2", producerId: pid, epoch: 0, offset: 7) == 0, "no AddOffsetsToTxn")
                    #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key] == nil)

                    let (code, nextId, nextEpoch) = try await endTxn(connection, "v2", producerId: pid, epoch: 0, commit: true)
                    #expect(code == .noError && nextId == pid && nextEpoch == 1, "the answer carries the bumped epoch")
                    #expect(log.lastStableOffset == log.logEndOffset)
                    #expect(await broker.groups.fetchOffsets(groupId: "g", partitions: [key])[key]?.offset == 7)
                    let end = log.logEndOffset

                    // The ended transaction's epoch is fenced: a late write is refused and not appended.
                    #expect(try await produce(connection, "v2", producerId: pid, epoch: 0, sequence: 2) == .invalidProducerEpoch)
                    #expect(log.logEndOffset == end)
                    // A retried EndTxn (the answer was lost) gets the same answer; the other outcome does not.
                    let retry = try await endTxn(connection, "v2", producerId: pid, epoch: 0, commit: true)
                    #expect(retry.0 == .noError && retry.2 == 1)
                    #expect(try await endTxn(connection, "v2", producerId: pid, epoch: 0, commit: false).0 == .invalidTxnState)

                    // The next transaction runs at the new epoch from sequence 0, and is aborted.
                    #expect(try await produce(connection, "v2", producerId: pid, epoch: 1, sequence: 0) == .noError)
                    let aborted = try await endTxn(connection, "v2", producerId: pid, epoch: 1, commit: false)
                    #expect(aborted.0 == .noError && aborted.2 == 2)
                    #expect(log.lastStableOffset == log.logEndOffset)
                    // An abort with no transaction running only moves to a new epoch.
                    let empty = try await endTxn(connection, "v2", producerId: pid, epoch: 2, commit: false)
                    #expect(empty.0 == .noError && empty.2 == 3)
                    #expect(try await endTxn(connection, "v2", producerId: pid, epoch: 3, commit: true).0 == .invalidTxnState)
                }
            }
        }
    }

    @Test("ListTransactions v2 filters by a regular expression over the whole id; a bad one is INVALID_REGULAR_EXPRESSION")
    func listByPattern() async throws {
        try await withProduceTestDirectory { directory in
            try await withProduceTestBroker(dataDirectory: directory) { _, address in
                try await ProduceTestConnection.with(address) { connection in
                    for id in ["orders-1", "orders-2", "payments-1"] {
                        _ = try await initTransactional(connection, id)
                    }
                    func list(_ pattern: String?) async throws -> (Int16, [String]) {
                        var request = ListTransactionsRequest()
                        request.transactionalIdPattern = pattern
                        let response = try await connection.request(request, version: 2)
                        return (response.errorCode, response.transactionStates.map(\.transactionalId).sorted())
                    }
                    #expect(try await list("orders-.*") == (0, ["orders-1", "orders-2"]))
                    #expect(try await list("orders") == (0, []), "the whole id must match")
                    #expect(try await list(nil) == (0, ["orders-1", "orders-2", "payments-1"]))
                    #expect(try await list("(").0 == ErrorCode.invalidRegularExpression.rawValue)
                }
            }
        }
    }
}
