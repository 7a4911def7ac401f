import Foundation
import Logging
import NIOCore
import NIOPosix
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import ServiceLifecycle
import Testing

@testable import SamsaBroker

/// Runs `body` with a fresh temporary directory, removed afterwards.
func withProduceTestDirectory<Result>(_ body: (TestDataDirectory) async throws -> Result) async throws -> Result {
    try await withTestDirectory(prefix: "samsa-produce", body)
}

/// Runs a real broker and server on a free port over `dataDirectory` while `body` runs, then
/// shuts both down gracefully (which flushes and closes the logs).
func withProduceTestBroker<Result: Sendable>(
    dataDirectory: TestDataDirectory, configure: (inout BrokerConfiguration) -> Void = { _ in },
    _ body: (Broker, SocketAddress) async throws -> Result
) async throws -> Result {
    try await withTestBroker(dataDirectory: dataDirectory, configure: configure, body)
}

/// The produce tests' view of a ``TestConnection``: `send` returns the correlation id so a test
/// can keep several requests in flight, and `request` waits for the answer.
struct ProduceTestConnection {
    let connection: TestConnection

    /// Connects to `address` for the duration of `body`.
    static func with<Result: Sendable>(
        _ address: SocketAddress, _ body: (ProduceTestConnection) async throws -> Result
    ) async throws -> Result {
        try await TestConnection.with(address, clientId: "produce-test") { try await body(ProduceTestConnection(connection: $0)) }
    }

    /// Sends `request` without waiting; returns its correlation id.
    @discardableResult
    func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Int32 {
        try await connection.write(request, version: version)
    }

    /// Reads the next response, which must answer `correlationId`.
    func receive<Response: KafkaResponseMessage>(_ type: Response.Type, version: Int16, correlationId: Int32) async throws -> Response {
        try await connection.receive(type, version: version, correlationId: correlationId)
    }

    /// Sends `request` and waits for its response.
    func request<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Request.Response {
        try await connection.send(request, version: version)
    }

    /// True once the broker has closed the connection (nothing more to read).
    func isClosedByPeer() async throws -> Bool {
        await connection.isClosedByPeer()
    }
}

extension GatedFileSystem {
    /// Waits until `predicate` holds for the gate's counts, blocking a thread of NIO's own pool
    /// rather than one of the few cooperative threads.
    func reaches(_ predicate: @escaping @Sendable (Counts) -> Bool) async throws {
        try await NIOThreadPool.singleton.runIfActive { self.waitUntil(predicate) }
    }
}

/// Builders for produce requests and batches.
enum ProduceFixtures {
    /// A batch of `count` records with values "<prefix>-i" (and keys unless `keyless`).
    static func batch(
        count: Int = 3, prefix: String = "value", keyless: Bool = false, producerId: Int64 = -1, epoch: Int16 = -1,
        sequence: Int32 = -1, compression: CompressionCodec = .none, valueSize: Int? = nil
    ) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(compression: compression)
        builder.producerId = producerId
        builder.producerEpoch = epoch
        builder.baseSequence = sequence
        // The test clock's start (ManualClock's default): batches are as old as the clock says.
        let now: Int64 = 1_700_000_000_000
        for index in 0..<count {
            let value: ByteBuffer
            if let valueSize {
                value = ByteBuffer(repeating: UInt8(truncatingIfNeeded: index), count: valueSize)
            } else {
                value = ByteBuffer(string: "\(prefix)-\(index)")
            }
            builder.append(key: keyless ? nil : ByteBuffer(string: "key-\(index)"), value: value, timestamp: now)
        }
        return try builder.build()
    }

    /// `batch` with its header field at `offset` overwritten and, unless `keepCRC`, its CRC fixed.
    static func patched(_ batch: ByteBuffer, at offset: Int, int16 value: Int16, keepCRC: Bool = false) -> ByteBuffer {
        var copy = ByteBuffer(buffer: batch)
        copy.setInteger(value, at: copy.readerIndex + offset)
        if !keepCRC { fixCRC(&copy) }
        return copy
    }

    static func fixCRC(_ batch: inout ByteBuffer) {
        let crc = RecordBatch.computeChecksum(batch, at: batch.readerIndex)!
        batch.setInteger(crc, at: batch.readerIndex + 17)
    }

    /// A produce request with one batch per (topic, partition).
    static func request(acks: Int16 = 1, _ entries: [(topic: String, partition: Int32, records: ByteBuffer?)]) -> ProduceRequest {
        var request = ProduceRequest()
        request.acks = acks
        request.timeoutMs = 30_000
        var topics: [String: Int] = [:]
        for entry in entries {
            var partition = ProduceRequest.PartitionProduceData()
            partition.index = entry.partition
            partition.records = entry.records
            if let index = topics[entry.topic] {
                request.topicData[index].partitionData.append(partition)
            } else {
                var topic = ProduceRequest.TopicProduceData()
                topic.name = entry.topic
                topic.partitionData = [partition]
                topics[entry.topic] = request.topicData.count
                request.topicData.append(topic)
            }
        }
        return request
    }

    /// Runs a broker with a blocking pool of `blockingThreads` over an in-memory file system whose
    /// fsyncs of slow-0's first segment wait at a gate while it is closed (it starts open), with
    /// the topics "slow" and "fast".
    static func withSlowAndFastTopics(
        blockingThreads: Int, _ body: (Broker, SocketAddress, GatedFileSystem) async throws -> Void
    ) async throws {
        let gated = GatedFileSystem(pathContaining: "slow-0/" + LogFileNames.segmentFileName(0, LogFileNames.logSuffix))
        let directory = TestDataDirectory(path: "/samsa-data", fileSystem: gated, clock: ManualClock(), memory: gated.base)
        try await withProduceTestBroker(dataDirectory: directory, configure: { $0.blockingThreadCount = blockingThreads }) {
            broker, address in
            try await createTopic(broker, "slow")
            try await createTopic(broker, "fast")
            try await body(broker, address, gated)
        }
    }

    /// Runs `body` on a broker whose blocking pool has one thread, held all along by an acks=-1
    /// produce to "slow" waiting in its fsync at the closed gate; the held request must be
    /// answered once the gate opens after `body`. What `body` gets answered needed no thread of
    /// the pool; `afterwards` runs once the gate is open again, with the pool free.
    static func whileTheOnlyBlockingThreadIsHeld(
        _ body: (Broker, SocketAddress) async throws -> Void, afterwards: (Broker) async throws -> Void = { _ in }
    ) async throws {
        try await withSlowAndFastTopics(blockingThreads: 1) { broker, address, gated in
            gated.closeGate()
            try await ProduceTestConnection.with(address) { durable in
                let held = try await durable.send(request(acks: -1, [("slow", 0, try batch(count: 1, prefix: "s"))]), version: 9)
                try await gated.reaches { $0.heldSyncs == 1 }
                try await body(broker, address)
                #expect(gated.current.heldSyncs == 1, "the fsync of slow-0 was held all along")
                gated.openGate()
                let response = try await durable.receive(ProduceResponse.self, version: 9, correlationId: held)
                #expect(response.responses[0].partitionResponses[0].errorCode == 0)
            }
            try await afterwards(broker)
        }
    }

    /// Creates `name` through the broker core.
    static func createTopic(_ broker: Broker, _ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) async throws {
        let core = broker.core
        let result = try await core.blocking.run { try core.createTopic(name: name, partitionCount: partitions, configs: configs) }
        precondition(result.errorCode == .noError, "could not create \(name): \(result.errorMessage ?? "")")
    }

    /// Every record value stored in `topic`'s partition, as strings, in offset order.
    static func storedValues(_ broker: Broker, _ topic: String, partition: Int32 = 0) async throws -> [String] {
        let core = broker.core
        return try await core.blocking.run {
            guard let log = core.logs.log(for: .init(topic: topic, partition: partition)) else { return [] }
            var values: [String] = []
            var offset = log.logStartOffset
            while offset < log.logEndOffset {
                let bytes = try log.read(from: offset, maxBytes: 1 << 20, isolation: .logEnd).readRecords()
                var scanner = RecordBatchScanner(bytes, allowsTrailingPartialBatch: true, verifiesChecksums: true)
                var progressed = false
                while let batch = try scanner.nextBatch() {
                    for record in try batch.decodeRecords(maxDecompressedBytes: 1 << 26) where record.offset >= offset {
                        values.append(record.value.map { String(buffer: $0) } ?? "<null>")
                    }
                    offset = batch.header.nextOffset
                    progressed = true
                }
                if !progressed { break }
            }
            return values
        }
    }
}
