import Foundation
import Logging
import NIOCore
import NIOPosix
import SamsaProtocol
import SamsaRecords
import SamsaStorage
import SamsaTesting
import ServiceLifecycle
import Testing

@testable import SamsaBroker

/// A broker and its server running in-process on a free port, over a temporary data directory.
struct FetchTestBroker: Sendable {
    let broker: Broker
    let address: SocketAddress
    /// The broker's clock: long polls end when a test moves it past their MaxWaitMs.
    let clock: ManualClock

    var core: BrokerCore { broker.core }

    /// Runs `body` against a fresh broker, then shuts it down and removes its data.
    static func with<Result: Sendable>(
        configure: (inout BrokerConfiguration) -> Void = { _ in },
        _ body: (FetchTestBroker) async throws -> Result
    ) async throws -> Result {
        // On disk: the fetch path sends file regions with sendfile, which needs real descriptors.
        try await withTestDirectory(prefix: "samsa-fetch", onDisk: true) { directory in
            try await withTestBroker(
                dataDirectory: directory,
                configure: { configuration in
                    configuration.autoCreateTopics = false
                    configure(&configuration)
                }
            ) { broker, address in
                try await body(FetchTestBroker(broker: broker, address: address, clock: directory.clock))
            }
        }
    }

    /// Creates a topic and returns its metadata.
    @discardableResult
    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) async throws -> TopicMetadata {
        let core = self.core
        let result = try await core.blocking.run { try core.createTopic(name: name, partitionCount: partitions, configs: configs) }
        return try #require(result.topic, "create \(name): \(result.errorCode) \(result.errorMessage ?? "")")
    }

    /// Appends `batch` (record batches) to a partition as the produce path will: leader epoch 0,
    /// then a notification to waiting fetches.
    @discardableResult
    func append(_ batch: ByteBuffer, topic: String, partition: Int32 = 0) async throws -> LogAppendInfo {
        let core = self.core
        let key = TopicPartition(topic: topic, partition: partition)
        let log = try #require(core.logs.log(for: key))
        let info = try await core.blocking.run { try log.append(batch, leaderEpoch: 0) }
        core.appendNotifier.notifyAppended(key)
        return info
    }

    /// Sends one request on a new connection and decodes its response.
    func send<Request: KafkaRequestMessage>(
        _ request: Request, version: Int16
    ) async throws -> Request.Response where Request.Response: KafkaResponseMessage {
        try await FetchTestClient.connect(to: address) { client in
            try await client.send(request, version: version)
        }
    }
}

/// The fetch tests' view of a ``TestConnection``, with access to a response's raw bytes.
struct FetchTestClient {
    let connection: TestConnection

    static func connect<Result: Sendable>(
        to address: SocketAddress, _ body: (inout FetchTestClient) async throws -> Result
    ) async throws -> Result {
        try await TestConnection.with(address, clientId: "fetch-test") { connection in
            var client = FetchTestClient(connection: connection)
            return try await body(&client)
        }
    }

    /// The raw bytes of the response frame (after its size prefix) to `request`.
    mutating func sendRaw<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> ByteBuffer {
        try await connection.write(request, version: version)
        return try await connection.receiveFrame()
    }

    mutating func send<Request: KafkaRequestMessage>(_ request: Request, version: Int16) async throws -> Request.Response {
        try await connection.send(request, version: version)
    }
}

/// Record batches for tests.
enum TestBatches {
    /// One uncompressed batch of `count` records with values "value-<offset hint>" and the
    /// given timestamps (default: 1000 + i).
    static func batch(
        count: Int, first: Int = 0, timestamps: [Int64]? = nil, valueBytes: Int = 0,
        compression: CompressionCodec = .none
    ) -> ByteBuffer {
        var builder = RecordBatchBuilder(compression: compression)
        for index in 0..<count {
            let text = "value-\(first + index)" + String(repeating: "x", count: valueBytes)
            builder.append(key: nil, value: ByteBuffer(string: text), timestamp: timestamps?[index] ?? Int64(1000 + first + index))
        }
        return try! builder.build()
    }

    /// The (offset, value) of every record in `records` (possibly ending in a cut-off batch).
    static func decode(_ records: ByteBuffer?) throws -> [(offset: Int64, value: String)] {
        guard let records else { return [] }
        var scanner = RecordBatchScanner(records, allowsTrailingPartialBatch: true)
        var result: [(offset: Int64, value: String)] = []
        while let batch = try scanner.nextBatch() {
            for record in try batch.decodeRecords(maxDecompressedBytes: 64 << 20) {
                result.append((record.offset, record.value.map { String(buffer: $0) } ?? ""))
            }
        }
        return result
    }

    /// Every record in `records` with its key, value (nil for null) and timestamp.
    static func decodeRecords(_ records: ByteBuffer?) throws -> [(key: String?, value: String?, timestamp: Int64)] {
        guard let records else { return [] }
        var scanner = RecordBatchScanner(records, allowsTrailingPartialBatch: true)
        var result: [(key: String?, value: String?, timestamp: Int64)] = []
        while let batch = try scanner.nextBatch() {
            for record in try batch.decodeRecords(maxDecompressedBytes: 64 << 20) {
                result.append((record.key.map { String(buffer: $0) }, record.value.map { String(buffer: $0) }, record.timestamp))
            }
        }
        return result
    }

    /// The base offsets of the whole batches in `records`.
    static func baseOffsets(_ records: ByteBuffer?) throws -> [Int64] {
        guard let records else { return [] }
        var scanner = RecordBatchScanner(records, allowsTrailingPartialBatch: true)
        var result: [Int64] = []
        while let (_, header) = try scanner.next() { result.append(header.baseOffset) }
        return result
    }
}
