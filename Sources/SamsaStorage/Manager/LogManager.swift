import Logging
import NIOConcurrencyHelpers
import NIOCore

/// All partition logs under one data directory (`samsa-data/` by default): loading them at
/// start, creating and deleting them, and the periodic work (retention, compaction, interval
/// flushes, checkpoints).
///
/// Layout: `<data dir>/<topic>-<partition>/` per partition, a `.samsa-clean-shutdown` marker
/// written by ``close()`` (its presence at start means no log needs a recovery scan), and
/// `.delete-<topic>` markers while a topic is being deleted.
public final class LogManager: Sendable {
    /// Name of the marker that ``close()`` leaves behind.
    public static let cleanShutdownFileName = ".samsa-clean-shutdown"
    static let topicDeletionPrefix = ".delete-"

    /// The data directory.
    public let dataDirectory: String
    private let fileSystem: any FileSystem
    private let clock: any StorageClock
    private let logger: Logger
    private let configuration: @Sendable (String) -> LogConfig
    private let logs = NIOLockedValueBox<[TopicPartition: PartitionLog]>([:])
    /// True when the last shutdown was clean (no log was scanned at start).
    public let hadCleanShutdown: Bool

    /// Opens the data directory and every partition log in it.
    ///
    /// - Parameter configuration: the log configuration of a topic, by name.
    public init(
        dataDirectory: String = "samsa-data", fileSystem: any FileSystem, clock: any StorageClock,
        logger: Logger = Logger(label: "samsa.storage"),
        configuration: @escaping @Sendable (String) -> LogConfig = { _ in LogConfig() }
    ) throws {
        self.dataDirectory = dataDirectory
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.configuration = configuration
        try fileSystem.createDirectory(at: dataDirectory)
        let markerPath = StoragePath.join(dataDirectory, Self.cleanShutdownFileName)
        hadCleanShutdown = fileSystem.exists(at: markerPath)
        try finishTopicDeletions()
        var loaded: [TopicPartition: PartitionLog] = [:]
        for name in try fileSystem.contentsOfDirectory(at: dataDirectory) {
            let path = StoragePath.join(dataDirectory, name)
            guard let partition = TopicPartition(directoryName: name), fileSystem.isDirectory(at: path) else { continue }
            loaded[partition] = try PartitionLog.open(
                directory: path, config: configuration(partition.topic), fileSystem: fileSystem, clock: clock,
                logger: logger, cleanShutdown: hadCleanShutdown)
        }
        logs.withLockedValue { $0 = loaded }
        // From now on a crash is not a clean shutdown.
        if hadCleanShutdown {
            try fileSystem.removeFile(at: markerPath)
            try fileSystem.syncDirectory(at: dataDirectory)
        }
        logger.info("loaded logs", metadata: [
            "dataDirectory": "\(dataDirectory)", "partitions": "\(loaded.count)", "cleanShutdown": "\(hadCleanShutdown)",
        ])
    }

    /// The partitions with a log, sorted.
    public var partitions: [TopicPartition] { logs.withLockedValue { $0.keys.sorted() } }

    /// The log of `partition`, if it exists.
    public func log(for partition: TopicPartition) -> PartitionLog? {
        logs.withLockedValue { $0[partition] }
    }

    /// The log of `partition`, created empty if it does not exist.
    public func createLog(for partition: TopicPartition, config: LogConfig? = nil) throws -> PartitionLog {
        precondition(TopicPartition.isValidTopicName(partition.topic), "invalid topic name \(partition.topic)")
        return try logs.withLockedValue { logs in
            if let log = logs[partition] { return log }
            guard !fileSystem.exists(at: StoragePath.join(dataDirectory, Self.topicDeletionPrefix + partition.topic)) else {
                throw StorageError.alreadyExists(path: StoragePath.join(dataDirectory, Self.topicDeletionPrefix + partition.topic))
            }
            let log = try PartitionLog.open(
                directory: StoragePath.join(dataDirectory, partition.directoryName), config: config ?? configuration(partition.topic),
                fileSystem: fileSystem, clock: clock, logger: logger, cleanShutdown: false)
            try fileSystem.syncDirectory(at: dataDirectory)
            logs[partition] = log
            return log
        }
    }

    /// Deletes every partition of `topic`, all or nothing: a durable `.delete-<topic>` marker
    /// is written first, so a crash part way through finishes the deletion at the next start
    /// instead of leaving some partitions behind.
    public func deleteTopic(_ topic: String) throws {
        precondition(TopicPartition.isValidTopicName(topic), "invalid topic name \(topic)")
        let markerPath = StoragePath.join(dataDirectory, Self.topicDeletionPrefix + topic)
        try AtomicFile.write(ByteBuffer(string: topic), to: markerPath, fileSystem: fileSystem)
        let removed = logs.withLockedValue { logs in
            let doomed = logs.filter { $0.key.topic == topic }
            for key in doomed.keys { logs.removeValue(forKey: key) }
            return doomed
        }
        for log in removed.values { log.abandon() }
        try finishTopicDeletions()
        logger.info("deleted topic", metadata: ["topic": "\(topic)", "partitions": "\(removed.count)"])
    }

    private func finishTopicDeletions() throws {
        let names = try fileSystem.contentsOfDirectory(at: dataDirectory)
        for marker in names where marker.hasPrefix(Self.topicDeletionPrefix) {
            let topic = String(marker.dropFirst(Self.topicDeletionPrefix.count))
            for name in names where TopicPartition(directoryName: name)?.topic == topic {
                try fileSystem.removeDirectory(at: StoragePath.join(dataDirectory, name))
            }
            try fileSystem.syncDirectory(at: dataDirectory)
            try fileSystem.removeFile(at: StoragePath.join(dataDirectory, marker))
            try fileSystem.syncDirectory(at: dataDirectory)
        }
    }

    private var allLogs: [(TopicPartition, PartitionLog)] {
        logs.withLockedValue { $0.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Runs retention on every log; returns the number of segments deleted. A log that fails
    /// is logged and skipped.
    @discardableResult
    public func applyRetention() -> Int {
        var deleted = 0
        for (partition, log) in allLogs {
            do { deleted += try log.applyRetention() } catch {
                logger.error("retention failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
        return deleted
    }

    /// Compacts every log whose cleanup policy includes compact.
    @discardableResult
    public func compactLogs() -> [TopicPartition: CompactionResult] {
        var results: [TopicPartition: CompactionResult] = [:]
        for (partition, log) in allLogs where log.config.cleanupPolicy.contains(.compact) {
            do { results[partition] = try log.compact() } catch {
                logger.error("compaction failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
        return results
    }

    /// Flushes the logs whose `flush.ms` interval has passed.
    public func flushDirtyLogs() {
        for (partition, log) in allLogs {
            do { try log.flushIfDue() } catch {
                logger.error("flush failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
    }

    /// Writes every log's checkpoint (recovery point, log start offset).
    public func checkpointLogs() {
        for (partition, log) in allLogs {
            do { try log.writeCheckpoint() } catch {
                logger.error("checkpoint failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
            }
        }
    }

    /// Closes every log and, if all closed cleanly, writes the clean-shutdown marker.
    public func close() throws {
        var firstError: (any Error)?
        for (partition, log) in allLogs {
            do { try log.close() } catch {
                logger.error("close failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
                firstError = firstError ?? error
            }
        }
        logs.withLockedValue { $0 = [:] }
        if let firstError { throw firstError }
        try AtomicFile.write(ByteBuffer(string: "clean\n"), to: StoragePath.join(dataDirectory, Self.cleanShutdownFileName),
                             fileSystem: fileSystem)
    }
}
