import Dispatch
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
    package static let cleanShutdownFileName = LogFileNames.cleanShutdownMarker
    static let topicDeletionPrefix = LogFileNames.topicDeletionPrefix

    /// A partition in the dictionary: its open log, or a claim by a thread that is opening it
    /// outside the lock (others asking for the same partition wait for that thread).
    private enum Entry {
        case open(PartitionLog)
        case creating

        var log: PartitionLog? {
            if case .open(let log) = self { return log }
            return nil
        }

        var isCreating: Bool { log == nil }
    }

    /// The data directory.
    public let dataDirectory: String
    private let fileSystem: any FileSystem
    private let clock: any StorageClock
    private let logger: Logger
    private let configuration: @Sendable (String) -> LogConfig
    /// Held only to look up, claim, insert or remove entries: no file-system work happens under
    /// it, so one slow disk operation does not stall every lookup.
    private let logs = ConditionLock<[TopicPartition: Entry]>([:])
    /// True when the last shutdown was clean (no log was scanned at start).
    public let hadCleanShutdown: Bool

    /// Opens the data directory and every partition log in it.
    ///
    /// - Parameter configuration: the log configuration of a topic, by name.
    public init(
        dataDirectory: String = "samsa-data", fileSystem: any FileSystem, clock: any StorageClock,
        logger: Logger = Logger(label: "samsa.storage"),
        configuration: @escaping @Sendable (String) -> LogConfig = { _ in LogConfig() }
    ) throws(StorageError) {
        self.dataDirectory = dataDirectory
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.configuration = configuration
        try fileSystem.createDirectoryDurably(at: dataDirectory)
        let markerPath = StoragePath.join(dataDirectory, Self.cleanShutdownFileName)
        hadCleanShutdown = fileSystem.exists(at: markerPath)
        try finishTopicDeletions()
        var directories: [(partition: TopicPartition, path: String)] = []
        for name in try fileSystem.contentsOfDirectory(at: dataDirectory) {
            let path = StoragePath.join(dataDirectory, name)
            guard let partition = TopicPartition(directoryName: name), fileSystem.isDirectory(at: path) else { continue }
            directories.append((partition, path))
        }
        // Partitions are independent: they load on every core (a start with thousands of
        // partitions is system calls and parsing, no longer fsyncs).
        let cleanShutdown = hadCleanShutdown
        let opened = try Self.forEachConcurrently(directories) { [fileSystem, clock, logger] directory throws(StorageError) in
            try PartitionLog.open(
                directory: directory.path, config: configuration(directory.partition.topic), fileSystem: fileSystem,
                clock: clock, logger: logger, cleanShutdown: cleanShutdown, durability: .deferred)
        }
        let loaded = Dictionary(uniqueKeysWithValues: zip(directories.map(\.partition), opened))
        // What recovery rebuilt or cut off must be durable before it is served; one sync of the
        // file system does it for every partition (after a crash, five syncs per partition
        // were nearly all of a start with thousands of them).
        if loaded.values.contains(where: \.needsSync) {
            try fileSystem.syncFileSystem(containing: dataDirectory)
        }
        logs.withLock { $0 = loaded.mapValues(Entry.open) }
        // From now on a crash is not a clean shutdown.
        if hadCleanShutdown {
            try fileSystem.removeFile(at: markerPath)
            try fileSystem.syncDirectory(at: dataDirectory)
        }
        logger.info(
            "loaded logs",
            metadata: [
                "dataDirectory": "\(dataDirectory)", "partitions": "\(loaded.count)", "cleanShutdown": "\(hadCleanShutdown)",
            ])
    }

    /// `body` applied to every item, on up to one thread per core; stops at the first error and
    /// throws it.
    private static func forEachConcurrently<Item: Sendable, Result: Sendable>(
        _ items: [Item], _ body: @Sendable (Item) throws(StorageError) -> Result
    ) throws(StorageError) -> [Result] {
        let progress = NIOLockedValueBox(ConcurrentProgress<Result>(results: Array(repeating: nil, count: items.count)))
        DispatchQueue.concurrentPerform(iterations: min(System.coreCount, max(items.count, 1))) { _ in
            while true {
                let index = progress.withLockedValue { progress -> Int? in
                    guard progress.failure == nil, progress.next < items.count else { return nil }
                    progress.next += 1
                    return progress.next - 1
                }
                guard let index else { return }
                do throws(StorageError) {
                    let result = try body(items[index])
                    progress.withLockedValue { $0.results[index] = result }
                } catch {
                    progress.withLockedValue { $0.failure = $0.failure ?? error }
                }
            }
        }
        let outcome = progress.withLockedValue { $0 }
        if let failure = outcome.failure { throw failure }
        return outcome.results.map { $0! }
    }

    /// The partitions with a log, sorted.
    public var partitions: [TopicPartition] { logs.withLock { $0.filter { !$0.value.isCreating }.keys.sorted() } }

    /// The log of `partition`, if it exists.
    public func log(for partition: TopicPartition) -> PartitionLog? {
        logs.withLock { $0[partition]?.log }
    }

    /// The log of `partition`, created empty if it does not exist.
    ///
    /// The partition is claimed under the lock and opened outside it; a second creator of the
    /// same partition waits for the first and gets its log.
    public func createLog(for partition: TopicPartition, config: LogConfig? = nil) throws(StorageError) -> PartitionLog {
        precondition(TopicPartition.isValidTopicName(partition.topic), "invalid topic name \(partition.topic)")
        let existing = logs.withLock(waitingUntil: { $0[partition]?.isCreating != true }) { logs -> PartitionLog? in
            if let log = logs[partition]?.log { return log }
            logs[partition] = .creating
            return nil
        }
        if let existing { return existing }
        do throws(StorageError) {
            let log = try openNewLog(for: partition, config: config ?? configuration(partition.topic))
            logs.withLock(notifyingWaiters: true) { $0[partition] = .open(log) }
            return log
        } catch {
            logs.withLock(notifyingWaiters: true) { $0[partition] = nil }
            throw error
        }
    }

    /// Opens (creating) the log of a partition claimed by ``createLog(for:config:)``, unless its
    /// topic is being deleted.
    private func openNewLog(for partition: TopicPartition, config: LogConfig) throws(StorageError) -> PartitionLog {
        let deletionMarker = StoragePath.join(dataDirectory, Self.topicDeletionPrefix + partition.topic)
        guard !fileSystem.exists(at: deletionMarker) else { throw StorageError.alreadyExists(path: deletionMarker) }
        let log = try PartitionLog.open(
            directory: StoragePath.join(dataDirectory, partition.directoryName), config: config,
            fileSystem: fileSystem, clock: clock, logger: logger, cleanShutdown: false)
        // The loader syncs the data directory when it creates the partition directory; this
        // also covers a directory left by an earlier, interrupted creation.
        try fileSystem.syncDirectory(at: dataDirectory)
        return log
    }

    /// Deletes every partition of `topic`, all or nothing: a durable `.delete-<topic>` marker
    /// is written first, so a crash part way through finishes the deletion at the next start
    /// instead of leaving some partitions behind.
    public func deleteTopic(_ topic: String) throws(StorageError) {
        precondition(TopicPartition.isValidTopicName(topic), "invalid topic name \(topic)")
        let markerPath = StoragePath.join(dataDirectory, Self.topicDeletionPrefix + topic)
        try AtomicFile.write(ByteBuffer(string: topic), to: markerPath, fileSystem: fileSystem)
        // A creator that did not see the marker is let finish; its log goes with the others.
        let removed = logs.withLock(waitingUntil: { !$0.contains { $0.key.topic == topic && $0.value.isCreating } }) { logs in
            let doomed = logs.filter { $0.key.topic == topic }
            for key in doomed.keys { logs.removeValue(forKey: key) }
            return doomed.values.compactMap(\.log)
        }
        for log in removed { log.abandon() }
        try finishTopicDeletions()
        logger.info("deleted topic", metadata: ["topic": "\(topic)", "partitions": "\(removed.count)"])
    }

    private func finishTopicDeletions() throws(StorageError) {
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
        logs.withLock { logs in
            logs.compactMap { partition, entry in entry.log.map { (partition, $0) } }.sorted { $0.0 < $1.0 }
        }
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
    public func close() throws(StorageError) {
        var firstError: StorageError?
        for (partition, log) in allLogs {
            do throws(StorageError) { try log.close() } catch {
                logger.error("close failed", metadata: ["partition": "\(partition)", "error": "\(error)"])
                firstError = firstError ?? error
            }
        }
        // Claims in progress stay, so their waiters keep waiting for the one creator.
        logs.withLock { $0 = $0.filter { $0.value.isCreating } }
        if let firstError { throw firstError }
        try AtomicFile.write(
            ByteBuffer(string: "clean\n"), to: StoragePath.join(dataDirectory, Self.cleanShutdownFileName),
            fileSystem: fileSystem)
    }
}

/// The shared state of ``LogManager``'s concurrent loop: the next item to take, the results so
/// far and the first failure.
private struct ConcurrentProgress<Result: Sendable>: Sendable {
    var next = 0
    var results: [Result?]
    var failure: StorageError?
}
