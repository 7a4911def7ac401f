import NIOCore
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("Producer state snapshots")
struct ProducerSnapshotTests {
    typealias Fixtures = ProduceFixtures

    private func initProducerId(_ connection: ProduceTestConnection) async throws -> Int64 {
        var request = InitProducerIdRequest()
        request.transactionalId = nil
        request.transactionTimeoutMs = 60_000
        let response = try await connection.request(request, version: 4)
        #expect(response.errorCode == 0)
        return response.producerId
    }

    /// Produces one idempotent batch to `topic`-0 and returns (error code, base offset).
    private func produce(
        _ connection: ProduceTestConnection, _ topic: String, producerId: Int64, epoch: Int16 = 0, sequence: Int32,
        count: Int = 2
    ) async throws -> (ErrorCode, Int64) {
        let batch = try Fixtures.batch(count: count, producerId: producerId, epoch: epoch, sequence: sequence)
        let response = try await connection.request(Fixtures.request(acks: -1, [(topic, 0, batch)]), version: 9)
        let result = response.responses[0].partitionResponses[0]
        return (ErrorCode(rawValue: result.errorCode), result.baseOffset)
    }

    /// The header of a two-record batch of the producer.
    private func header(producerId: Int64, epoch: Int16, sequence: Int32) throws -> RecordBatchHeader {
        let batch = try Fixtures.batch(count: 2, producerId: producerId, epoch: epoch, sequence: sequence)
        return try RecordBatchHeader(decoding: batch, at: batch.readerIndex)
    }

    /// A recovery window so short that a log scan after a restart finds no producer at all.
    private func tinyWindow(_ configuration: inout BrokerConfiguration) {
        configuration.producerStateRecoveryWindowMilliseconds = 1
    }

    private func snapshotPath(_ directory: TestDataDirectory, _ topic: String) -> String {
        ProducerStateSnapshot.path(in: StoragePath.join(directory.path, "\(topic)-0"))
    }

    private func readFile(_ directory: TestDataDirectory, _ path: String) throws -> [UInt8] {
        let file = try directory.fileSystem.openFile(at: path, create: false)
        return Array(try file.read(at: 0, count: Int(try file.size())).readableBytesView)
    }

    private func writeFile(_ directory: TestDataDirectory, _ path: String, _ bytes: [UInt8]) throws {
        let file = try directory.fileSystem.openFile(at: path, create: true)
        try file.truncate(to: 0)
        try file.write(ByteBuffer(bytes: bytes), at: 0)
        try file.sync()
    }

    private func readSnapshot(_ directory: TestDataDirectory, _ path: String) throws -> ProducerStateSnapshot? {
        ProducerStateSnapshot.decode(ByteBuffer(bytes: try readFile(directory, path)))
    }

    /// Produces epoch 0 (offsets 0-2) then epoch 1 (offsets 3-4) for a new producer; returns its id.
    private func produceTwoEpochs(_ broker: Broker, _ address: SocketAddress, _ topic: String) async throws -> Int64 {
        try await Fixtures.createTopic(broker, topic)
        return try await ProduceTestConnection.with(address) { connection in
            let pid = try await initProducerId(connection)
            #expect(try await produce(connection, topic, producerId: pid, sequence: 0, count: 3) == (.noError, 0))
            #expect(try await produce(connection, topic, producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
            return pid
        }
    }

    @Test("a producer idle past the recovery window keeps its duplicates and fencing across a restart")
    func idleProducerSurvivesRestart() async throws {
        try await withProduceTestDirectory { directory in
            let pid = try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { broker, address in
                try await produceTwoEpochs(broker, address, "idle")
            }
            let snapshot = try #require(try readSnapshot(directory, snapshotPath(directory, "idle")))
            #expect(snapshot.offset == 5)
            #expect(snapshot.table.producers[pid]?.epoch == 1)
            directory.clock.advance(byMilliseconds: 20)
            try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { broker, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    #expect(try await produce(connection, "idle", producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
                    #expect(try await produce(connection, "idle", producerId: pid, epoch: 0, sequence: 3).0 == .invalidProducerEpoch)
                    #expect(try await produce(connection, "idle", producerId: pid, epoch: 1, sequence: 2) == (.noError, 5))
                }
                #expect(broker.core.logs.log(for: TopicPartition(topic: "idle", partition: 0))?.logEndOffset == 7)
            }
            // Without the snapshot the tiny window finds nothing: the producer is unknown and its
            // stale epoch is accepted, which is what the snapshot prevented above.
            try directory.fileSystem.removeFile(at: snapshotPath(directory, "idle"))
            directory.clock.advance(byMilliseconds: 20)
            try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { _, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    #expect(try await produce(connection, "idle", producerId: pid, epoch: 0, sequence: 100) == (.noError, 7))
                }
            }
        }
    }

    @Test("maintenance writes a snapshot and a restart catches up from it by scanning the batches after it")
    func catchUpFromPeriodicSnapshot() async throws {
        try await withProduceTestDirectory { directory in
            let path = snapshotPath(directory, "catchup")
            let (pid, early) = try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { broker, address in
                try await Fixtures.createTopic(broker, "catchup")
                return try await ProduceTestConnection.with(address) { connection in
                    let pid = try await initProducerId(connection)
                    #expect(try await produce(connection, "catchup", producerId: pid, sequence: 0, count: 3) == (.noError, 0))
                    await broker.runMaintenance()
                    let early = try readFile(directory, path)
                    #expect(try readSnapshot(directory, path)?.offset == 3)
                    #expect(try await produce(connection, "catchup", producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
                    return (pid, early)
                }
            }
            // As after a crash: the snapshot on disk is older than the log end.
            try writeFile(directory, path, early)
            directory.clock.advance(byMilliseconds: 20)
            try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { _, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    #expect(try await produce(connection, "catchup", producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
                    #expect(try await produce(connection, "catchup", producerId: pid, epoch: 0, sequence: 3).0 == .invalidProducerEpoch)
                }
            }
            #expect(try readSnapshot(directory, path)?.offset == 5)
        }
    }

    @Test("a corrupt snapshot is ignored: the log is scanned instead and produces succeed")
    func corruptSnapshot() async throws {
        try await withProduceTestDirectory { directory in
            let path = snapshotPath(directory, "corrupt")
            let pid = try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await produceTwoEpochs(broker, address, "corrupt")
            }
            var bytes = try readFile(directory, path)
            bytes[20] ^= 0xFF
            try writeFile(directory, path, bytes)
            #expect(try readSnapshot(directory, path) == nil)
            try await withProduceTestBroker(dataDirectory: directory) { _, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    // The default window still covers these batches.
                    #expect(try await produce(connection, "corrupt", producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
                    #expect(try await produce(connection, "corrupt", producerId: pid, epoch: 0, sequence: 3).0 == .invalidProducerEpoch)
                }
            }
            // Garbage with a tiny window: nothing is known, but the produce is not failed.
            try writeFile(directory, path, Array(repeating: 0x5A, count: 7))
            try await withProduceTestBroker(dataDirectory: directory, configure: tinyWindow) { _, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    #expect(try await produce(connection, "corrupt", producerId: pid, epoch: 1, sequence: 2) == (.noError, 5))
                }
            }
            #expect(try readSnapshot(directory, path)?.offset == 7)
        }
    }

    @Test("a snapshot beyond the log end is ignored")
    func snapshotBeyondLogEnd() async throws {
        try await withProduceTestDirectory { directory in
            let path = snapshotPath(directory, "ahead")
            let pid = try await withProduceTestBroker(dataDirectory: directory) { broker, address in
                try await produceTwoEpochs(broker, address, "ahead")
            }
            // Claims a later epoch at offsets the log does not have (as if recovery truncated it).
            var table = ProducerTable()
            table.record(
                try header(producerId: pid, epoch: 7, sequence: 0), lastOffset: 40, timestamp: 0,
                appendTime: directory.clock.nowMilliseconds())
            try writeFile(directory, path, Array(ProducerStateSnapshot(offset: 50, table: table).encoded().readableBytesView))
            try await withProduceTestBroker(dataDirectory: directory) { _, address in
                try await ProduceTestConnection.with(address) { (connection: ProduceTestConnection) async throws in
                    #expect(try await produce(connection, "ahead", producerId: pid, epoch: 1, sequence: 0) == (.noError, 3))
                    #expect(try await produce(connection, "ahead", producerId: pid, epoch: 1, sequence: 2) == (.noError, 5))
                }
            }
            let rewritten = try #require(try readSnapshot(directory, path))
            #expect(rewritten.offset == 7)
            #expect(rewritten.table.producers[pid]?.epoch == 1)
        }
    }

    @Test("loading from a snapshot refuses one beyond the log end and applies the batches after it")
    func loaderChecksOffsets() throws {
        let log = try PartitionLog.open(directory: "/p-0", fileSystem: InMemoryFileSystem(), clock: SystemClock())
        _ = try log.append(try Fixtures.batch(count: 3, producerId: 9, epoch: 0, sequence: 0), leaderEpoch: 0)
        let ahead = ProducerStateSnapshot(offset: 4, table: ProducerTable())
        #expect(try ProducerStateLoader.load(log, snapshot: ahead) == nil)
        let table = try #require(try ProducerStateLoader.load(log, snapshot: ProducerStateSnapshot(offset: 0, table: ProducerTable())))
        #expect(table.producers[9]?.lastSequence == 2)
        let covered = try #require(try ProducerStateLoader.load(log, snapshot: ProducerStateSnapshot(offset: 3, table: ProducerTable())))
        #expect(covered.producers.isEmpty)
        try log.close()
    }

    @Test("snapshots round-trip and any flipped byte is detected")
    func encoding() throws {
        var table = ProducerTable()
        for sequence in stride(from: Int32(0), to: 14, by: 2) {
            table.record(
                try header(producerId: 3, epoch: 2, sequence: sequence), lastOffset: Int64(sequence) + 1,
                timestamp: 10, appendTime: 20)
        }
        table.record(try header(producerId: 8, epoch: 0, sequence: 5), lastOffset: 30, timestamp: 11, appendTime: 21)
        let encoded = ProducerStateSnapshot(offset: 31, table: table).encoded()
        let decoded = try #require(ProducerStateSnapshot.decode(encoded))
        #expect(decoded.offset == 31)
        #expect(decoded.table.producers == table.producers)
        #expect(decoded.table.producers[3]?.batches.count == ProducerStateEntry.retainedBatchCount)
        for index in 0..<encoded.readableBytes {
            var damaged = encoded
            damaged.setInteger(damaged.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
            #expect(ProducerStateSnapshot.decode(damaged) == nil)
        }
        #expect(ProducerStateSnapshot.decode(encoded.getSlice(at: 0, length: encoded.readableBytes - 1)!) == nil)
    }
}
