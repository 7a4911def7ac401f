import Foundation
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords
import Testing

// Golden tests: request frames captured from real clients (kcat with librdkafka 2.0.2,
// confluent-kafka with librdkafka 2.16, kafka-python, aiokafka; see Fixtures/README.md) must
// decode with the generated types, carry what the capture drivers sent, and re-encode byte for
// byte. Re-capture with scripts/capture/capture-all.sh.

/// One captured frame: `Fixtures/<client>/<NN>-<ApiName>-v<version>-<seq>.bin`, the bytes of
/// one request after its int32 size.
struct GoldenFrame: Sendable, CustomTestStringConvertible {
    let client: String
    let fileName: String
    let bytes: [UInt8]
    let apiKey: Int16
    let version: Int16

    var testDescription: String { "\(client)/\(fileName)" }

    /// Every fixture. Empty only if the resources are missing, which `fixturesCoverEveryClient` reports.
    static let all: [GoldenFrame] = (try? load()) ?? []

    static func load() throws -> [GoldenFrame] {
        guard let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else { return [] }
        let files = FileManager.default
        var frames: [GoldenFrame] = []
        for client in try files.contentsOfDirectory(atPath: root.path).sorted() {
            let directory = root.appendingPathComponent(client)
            var isDirectory: ObjCBool = false
            guard files.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            for name in try files.contentsOfDirectory(atPath: directory.path).sorted() where name.hasSuffix(".bin") {
                let parts = name.dropLast(4).split(separator: "-")
                guard parts.count == 4, let key = Int16(parts[0]), let version = Int16(parts[2].dropFirst()) else { continue }
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                frames.append(GoldenFrame(client: client, fileName: name, bytes: [UInt8](data), apiKey: key, version: version))
            }
        }
        return frames
    }

    /// Decodes the frame; `trailingBytes` is what the body left unread.
    func decode() throws -> (request: KafkaRequest, trailingBytes: Int) {
        var buffer = ByteBuffer(bytes: bytes)
        let request = try KafkaRequest.decode(from: &buffer)
        return (request, buffer.readableBytes)
    }

    /// The scenario the capture driver ran: client ids are "<client>-<scenario>".
    func scenario(of header: RequestHeader) -> String? {
        guard let clientId = header.clientId, clientId.hasPrefix(client + "-") else { return nil }
        return String(clientId.dropFirst(client.count + 1))
    }
}

/// What every capture driver sends: `record(i)` in scripts/capture/drive_clients.py.
enum GoldenPayload {
    static let recordCount = 3
    static func key(_ i: Int) -> ByteBuffer { ByteBuffer(string: "key-\(i)") }
    static func value(_ i: Int) -> ByteBuffer {
        ByteBuffer(string: "value-\(i) " + String(repeating: "golden-frame ", count: 10))
    }
    static let headers = [RecordHeader(key: "trace", value: ByteBuffer(string: "golden"))]
    /// The topic id the capturing listener hands out for `golden-consume`: the MD5 of the name.
    static let consumeTopicId = KafkaUUID(mostSignificantBits: 0xE9BD_B684_CE7D_EE58, leastSignificantBits: 0x192A_AEBE_B0CC_B161)
}

@Suite("Golden frames from real clients")
struct GoldenFrameTests {
    @Test("every client's fixtures cover the core APIs and every codec")
    func fixturesCoverEveryClient() throws {
        let byClient = Dictionary(grouping: GoldenFrame.all, by: \.client)
        #expect(Set(byClient.keys) == ["kcat", "confluent-kafka", "kafka-python", "aiokafka"])
        for (client, frames) in byClient {
            let keys = Set(frames.map(\.apiKey))
            // ApiVersions, Metadata, Produce, InitProducerId, ListOffsets, Fetch.
            #expect(keys.isSuperset(of: [18, 3, 0, 22, 2, 1]), "\(client) has keys \(keys.sorted())")
            if client != "kcat" {
                // CreateTopics, DeleteTopics, FindCoordinator: kcat has no admin or group flow.
                #expect(keys.isSuperset(of: [19, 20, 10]), "\(client) has keys \(keys.sorted())")
            }
            var produceScenarios: Set<String> = []
            for frame in frames where frame.apiKey == 0 {
                if let scenario = frame.scenario(of: try frame.decode().request.header) { produceScenarios.insert(scenario) }
            }
            let expected = ["none", "gzip", "snappy", "lz4", "zstd", "idempotent"].map { "produce-" + $0 }
            #expect(produceScenarios == Set(expected), "\(client)")
        }
        // kcat -L asks for all topics with a null list, the encoding Metadata v1+ reserves for it.
        let allTopics = try (byClient["kcat"] ?? []).filter { $0.apiKey == 3 }.contains { frame in
            (try frame.decode().request.body as? MetadataRequest)?.topics == nil
        }
        #expect(allTopics)
    }

    @Test("decodes, names its client and re-encodes byte for byte", arguments: GoldenFrame.all)
    func roundTrip(frame: GoldenFrame) throws {
        let (request, trailingBytes) = try frame.decode()
        #expect(request.header.apiKey.rawValue == frame.apiKey)
        #expect(request.header.apiVersion == frame.version)
        #expect(type(of: request.body).apiKey.rawValue == frame.apiKey)
        #expect(frame.scenario(of: request.header) != nil, "client id \(request.header.clientId ?? "null")")
        #expect(trailingBytes == 0)

        var encoded = ByteBuffer()
        let headerVersion = RequestHeader.headerVersion(apiKey: request.header.apiKey, apiVersion: frame.version)
        request.header.encode(into: &encoded, headerVersion: headerVersion)
        request.body.encode(into: &encoded, version: frame.version)
        #expect(Array(encoded.readableBytesView) == frame.bytes)
    }

    @Test("carries what the capture driver sent", arguments: GoldenFrame.all)
    func contentMatchesScenario(frame: GoldenFrame) throws {
        let request = try frame.decode().request
        let scenario = try #require(frame.scenario(of: request.header))
        switch request.body {
        case let produce as ProduceRequest:
            try checkProduce(produce, scenario: scenario, client: frame.client)
        case let metadata as MetadataRequest:
            let names = (metadata.topics ?? []).compactMap(\.name)
            #expect(names.allSatisfy { $0.hasPrefix("golden-") }, "\(names)")
            // Clients first ask for brokers only (an empty list), then for the topic they want.
            if scenario == "metadata" { #expect(names.isEmpty || names == ["golden-metadata"]) }
            // kcat -L: brokers only, then null (all topics).
            if scenario == "metadata-all" { #expect(metadata.topics?.isEmpty ?? true) }
        case let createTopics as CreateTopicsRequest:
            #expect(createTopics.topics.map(\.name) == ["golden-admin"])
            #expect(createTopics.topics.first?.numPartitions == 3)
            #expect(createTopics.topics.first?.replicationFactor == 1)
        case let deleteTopics as DeleteTopicsRequest:
            let names = frame.version >= 6 ? deleteTopics.topics.compactMap(\.name) : deleteTopics.topicNames
            #expect(names == ["golden-admin"])
        case let listOffsets as ListOffsetsRequest:
            #expect(listOffsets.topics.map(\.name) == ["golden-consume"])
            #expect(listOffsets.topics.first?.partitions.map(\.partitionIndex) == [0])
            #expect(listOffsets.topics.first?.partitions.first?.timestamp == -2)  // earliest
        case let fetch as FetchRequest:
            let topic = try #require(fetch.topics.first)
            if frame.version >= 13 {
                #expect(topic.topicId == GoldenPayload.consumeTopicId)
            } else {
                #expect(topic.topic == "golden-consume")
            }
            #expect(topic.partitions.map(\.partition) == [0])
            #expect(topic.partitions.first?.fetchOffset == 0)
        case let offsetFetch as OffsetFetchRequest:
            #expect(offsetFetch.groupId == "golden-group")
            #expect(offsetFetch.topics?.map(\.name) == ["golden-consume"])
        case let findCoordinator as FindCoordinatorRequest:
            #expect(findCoordinator.key == "golden-group")
            #expect(findCoordinator.keyType == 0)
        case let initProducerId as InitProducerIdRequest:
            #expect(initProducerId.transactionalId == nil)
            #expect(scenario == "produce-idempotent")
        case let apiVersions as ApiVersionsRequest:
            if frame.version >= 3 { #expect(!apiVersions.clientSoftwareName.isEmpty) }
        default:
            Issue.record("no content check for \(type(of: request.body))")
        }
    }

    /// One topic `golden-<codec>`, partition 0, exactly one batch of magic 2 with the scenario's
    /// codec and a valid CRC, holding the three driver records.
    private func checkProduce(_ request: ProduceRequest, scenario: String, client: String) throws {
        let suffix = try #require(scenario.hasPrefix("produce-") ? String(scenario.dropFirst(8)) : nil)
        let idempotent = suffix == "idempotent"
        let codec = idempotent ? CompressionCodec.none : try #require(CompressionCodec(name: suffix))
        #expect(request.transactionalId == nil)
        #expect(request.topicData.map(\.name) == ["golden-\(suffix)"])
        #expect(request.topicData.first?.partitionData.count == 1)
        let partition = try #require(request.topicData.first?.partitionData.first)
        #expect(partition.index == 0)
        if idempotent { #expect(request.acks == -1) }

        let records = try #require(partition.records)
        let batch = try RecordBatch(records)
        #expect(batch.header.totalSize == records.readableBytes, "exactly one batch")
        #expect(batch.header.magic == 2)
        try batch.verifyChecksum()
        #expect(batch.header.compression == codec)
        #expect(batch.header.recordCount == Int32(GoldenPayload.recordCount))
        #expect(batch.header.producerId == (idempotent ? 1000 : -1))
        #expect(batch.header.producerEpoch == (idempotent ? 0 : -1))
        // aiokafka writes base sequence 0 even without a producer id; Java and librdkafka write -1.
        #expect(batch.header.baseSequence == (idempotent || client == "aiokafka" ? 0 : -1))

        let decoded = try batch.decodeRecords(maxDecompressedBytes: 1 << 20)
        #expect(decoded.count == GoldenPayload.recordCount)
        for (i, record) in decoded.enumerated() {
            #expect(record.offset == Int64(i))
            #expect(record.key == GoldenPayload.key(i))
            #expect(record.value == GoldenPayload.value(i))
            #expect(record.headers == GoldenPayload.headers)
        }
    }
}
