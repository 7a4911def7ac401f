#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaRecords
import SamsaStorage

/// The durable record of which topics exist: names, ids, partition counts and config
/// overrides, plus the cluster id and the users' SCRAM credentials.
///
/// Every change is one record appended (and fsynced) to a small metadata log in
/// `<data dir>/__cluster_metadata/` before it takes effect; at start the log is replayed. It
/// is the same segmented log as any partition, so it shares its recovery. Record keys are
/// `topic:<name>` with the topic as JSON (a null value deletes it), `cluster-id`, and
/// `scram:<mechanism>:<user>` with the credential as JSON (null deletes it), and `acl:<the ACL as
/// JSON>` (null deletes it).
///
/// Readers get the current ``MetadataImage`` without waiting for writers; changes are
/// serialised by a separate lock and block on disk, so call them from ``BlockingWork``.
package final class TopicRegistry: Sendable {
    /// The metadata log's directory name inside the data directory. It has no `-<partition>`
    /// suffix, so the log manager never mistakes it for a topic partition.
    package static let directoryName = InternalTopics.clusterMetadata

    private let log: PartitionLog
    private let clock: any StorageClock
    private let current: NIOLockedValueBox<MetadataImage>
    private let changeLock = NIOLock()

    /// Opens (or creates) the metadata log under `dataDirectory` and replays it.
    package init(
        dataDirectory: String, fileSystem: any FileSystem, clock: any StorageClock,
        random: any RandomSource = SystemRandomSource(), logger: Logger
    ) throws {
        var config = LogConfig()
        config.flushPolicy = .groupCommit
        config.retentionMilliseconds = nil
        config.segmentBytes = 16 * 1024 * 1024
        try fileSystem.createDirectory(at: dataDirectory)
        let directory = StoragePath.join(dataDirectory, Self.directoryName)
        log = try PartitionLog.open(directory: directory, config: config, fileSystem: fileSystem, clock: clock, logger: logger)
        self.clock = clock
        var image = MetadataImage(clusterID: "")
        try Self.replay(log, into: &image)
        current = NIOLockedValueBox(image)
        if image.clusterID.isEmpty {
            let clusterID = random.uuid().base64
            try append(key: "cluster-id", value: Array(clusterID.utf8))
            current.withLockedValue { $0.clusterID = clusterID }
        }
    }

    /// The current view of all topics.
    package var image: MetadataImage { current.withLockedValue { $0 } }

    /// Records `topic` (a new topic, or new partitions or configs of an existing one).
    package func put(_ topic: TopicMetadata) throws {
        let value = try JSONEncoder().encode(topic)
        try changeLock.withLock {
            try append(key: "topic:\(topic.name)", value: Array(value))
            current.withLockedValue { $0.put(topic) }
        }
    }

    /// Records that `name` no longer exists.
    package func remove(named name: String) throws {
        try changeLock.withLock {
            try append(key: "topic:\(name)", value: nil)
            current.withLockedValue { $0.remove(named: name) }
        }
    }

    /// Makes `change` to the topic called `name` under the change lock, so concurrent changes
    /// to one topic (two CreatePartitions, say) apply one after the other. Returns the result of
    /// `change`, which gets the current topic (nil if none) and returns the new one, or nil to
    /// change nothing.
    package func update(named name: String, _ change: (TopicMetadata?) throws -> TopicMetadata?) throws -> TopicMetadata? {
        try changeLock.withLock {
            let existing = current.withLockedValue { $0.topic(named: name) }
            guard let updated = try change(existing) else { return existing }
            let value = try JSONEncoder().encode(updated)
            try append(key: "topic:\(updated.name)", value: Array(value))
            current.withLockedValue { $0.put(updated) }
            return updated
        }
    }

    /// Records the SCRAM credentials of `changes` (nil removes one) in one durable append.
    package func changeScramCredentials(_ changes: [(user: String, mechanism: SASLMechanism, credential: ScramCredential?)]) throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        let records = try changes.map { change in
            (
                key: Self.scramKey(user: change.user, mechanism: change.mechanism),
                value: try change.credential.map { Array(try encoder.encode($0)) }
            )
        }
        try changeLock.withLock {
            try append(records)
            current.withLockedValue { image in
                for change in changes {
                    image.scramCredentials[change.user, default: [:]][change.mechanism] = change.credential
                    if image.scramCredentials[change.user]?.isEmpty == true { image.scramCredentials[change.user] = nil }
                }
            }
        }
    }

    /// Records ACLs added and removed, in one durable append.
    package func changeAcls(adding added: [AclBinding], removing removed: [AclBinding]) throws {
        guard !added.isEmpty || !removed.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let records =
            try added.map { (key: "acl:" + String(decoding: try encoder.encode($0), as: UTF8.self), value: Optional([UInt8(1)])) }
            + removed.map { (key: "acl:" + String(decoding: try encoder.encode($0), as: UTF8.self), value: [UInt8]?.none) }
        try changeLock.withLock {
            try append(records)
            current.withLockedValue { image in
                for acl in removed { image.remove(acl) }
                for acl in added { image.add(acl) }
            }
        }
    }

    /// Records new client quota values (nil removes a key) for each entity, in one durable append.
    package func changeClientQuotas(_ changes: [ClientQuotaEntity: [String: Double?]]) throws {
        guard !changes.isEmpty else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let image = self.image
        var updated: [ClientQuotaEntity: [String: Double]] = [:]
        for (entity, values) in changes {
            var merged = image.clientQuotas[entity] ?? [:]
            for (key, value) in values { merged[key] = value }
            updated[entity] = merged
        }
        let records = try updated.map { entity, values in
            (
                key: "quota:" + String(decoding: try encoder.encode(entity), as: UTF8.self),
                value: values.isEmpty ? nil : Array(try encoder.encode(values))
            )
        }
        try changeLock.withLock {
            try append(records)
            current.withLockedValue { image in
                for (entity, values) in updated { image.clientQuotas[entity] = values.isEmpty ? nil : values }
            }
        }
    }

    private static func scramKey(user: String, mechanism: SASLMechanism) -> String { "scram:\(mechanism.rawValue):\(user)" }

    /// Flushes and closes the metadata log.
    package func close() throws {
        try log.close()
    }

    private func append(key: String, value: [UInt8]?) throws {
        try append([(key, value)])
    }

    /// Appends the records in one batch, so they take effect together or not at all.
    private func append(_ records: [(key: String, value: [UInt8]?)]) throws {
        var builder = RecordBatchBuilder()
        let now = clock.nowMilliseconds()
        for record in records {
            builder.append(key: ByteBuffer(string: record.key), value: record.value.map { ByteBuffer(bytes: $0) }, timestamp: now)
        }
        let batch = try builder.build()
        _ = try log.append(batch, durability: .flushed)
    }

    private static func replay(_ log: PartitionLog, into image: inout MetadataImage) throws {
        var offset = log.logStartOffset
        let end = log.logEndOffset
        let decoder = JSONDecoder()
        while offset < end {
            let data = try log.read(from: offset, maxBytes: 4 * 1024 * 1024, isolation: .logEnd)
            let bytes = try data.readRecords()
            var scanner = RecordBatchScanner(bytes, allowsTrailingPartialBatch: true, verifiesChecksums: true)
            var progressed = false
            while let batch = try scanner.nextBatch() {
                for record in try batch.decodeRecords(maxDecompressedBytes: 64 * 1024 * 1024) where record.offset >= offset {
                    apply(record, to: &image, decoder: decoder)
                }
                offset = batch.header.lastOffset + 1
                progressed = true
            }
            if !progressed { break }
        }
    }

    private static func apply(_ record: BatchRecord, to image: inout MetadataImage, decoder: JSONDecoder) {
        guard let keyBuffer = record.key else { return }
        let key = String(buffer: keyBuffer)
        if key == "cluster-id", let value = record.value {
            image.clusterID = String(buffer: value)
        } else if key.hasPrefix("topic:") {
            let name = String(key.dropFirst("topic:".count))
            if let value = record.value, let topic = try? decoder.decode(TopicMetadata.self, from: Data(value.readableBytesView)) {
                image.put(topic)
            } else {
                image.remove(named: name)
            }
        } else if key.hasPrefix("quota:") {
            guard let entity = try? decoder.decode(ClientQuotaEntity.self, from: Data(key.dropFirst("quota:".count).utf8)) else { return }
            image.clientQuotas[entity] = record.value.flatMap {
                try? decoder.decode([String: Double].self, from: Data($0.readableBytesView))
            }
        } else if key.hasPrefix("acl:") {
            guard let acl = try? decoder.decode(AclBinding.self, from: Data(key.dropFirst("acl:".count).utf8)) else { return }
            if record.value != nil { image.add(acl) } else { image.remove(acl) }
        } else if key.hasPrefix("scram:") {
            let parts = key.split(separator: ":", maxSplits: 2)
            guard parts.count == 3, let mechanism = SASLMechanism(rawValue: String(parts[1])) else { return }
            let user = String(parts[2])
            let credential = record.value.flatMap { try? decoder.decode(ScramCredential.self, from: Data($0.readableBytesView)) }
            image.scramCredentials[user, default: [:]][mechanism] = credential
            if image.scramCredentials[user]?.isEmpty == true { image.scramCredentials[user] = nil }
        }
    }
}
