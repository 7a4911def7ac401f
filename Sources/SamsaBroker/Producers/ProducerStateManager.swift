import Logging
import NIOConcurrencyHelpers
import SamsaStorage

/// The idempotent-producer state of every partition (Kafka's per-log `ProducerStateManager`s,
/// kept together): created on a partition's first idempotent produce, loaded from the
/// partition's snapshot and the log after it (or from the log's tail without a snapshot),
/// expired after `producer.id.expiration.ms` without appends, and snapshotted by the broker's
/// maintenance and at shutdown.
package final class ProducerStateManager: Sendable {
    let states = NIOLockedValueBox<[TopicPartition: PartitionProducerState]>([:])
    let fileSystem: any FileSystem
    private let clock: any StorageClock
    let logger: Logger
    /// `producer.id.expiration.ms`: how long a producer's state outlives its last append.
    let expirationMilliseconds: Int64
    /// How far back (by timestamp) a partition's log is scanned to rebuild its state when it
    /// has no usable snapshot.
    let recoveryWindowMilliseconds: Int64

    init(
        fileSystem: any FileSystem, clock: any StorageClock, logger: Logger, expirationMilliseconds: Int64,
        recoveryWindowMilliseconds: Int64
    ) {
        self.fileSystem = fileSystem
        self.clock = clock
        self.logger = logger
        self.expirationMilliseconds = expirationMilliseconds
        self.recoveryWindowMilliseconds = recoveryWindowMilliseconds
    }

    /// The state of `partition`, whose current log is `log`. A state left from an older log
    /// of the same name (the topic was deleted and created again) is replaced.
    func state(for partition: TopicPartition, log: PartitionLog) -> PartitionProducerState {
        states.withLockedValue { states in
            if let existing = states[partition], existing.log === log { return existing }
            let state = PartitionProducerState(partition: partition, log: log)
            states[partition] = state
            return state
        }
    }

    /// The producer table of `partition`, whose current log is `log`, is loaded: an idempotent
    /// append to it reads nothing from the log first. Never waits.
    func isLoaded(_ partition: TopicPartition, log: PartitionLog) -> Bool {
        states.withLockedValue { states in
            guard let state = states[partition], state.log === log else { return false }
            return state.isLoaded
        }
    }

    /// Runs `body` with the producer table of `partition` locked, loading the table from the
    /// log first if needed. Blocks: call it on ``BlockingWork``.
    func withTable<Result>(
        for partition: TopicPartition, log: PartitionLog, _ body: (inout ProducerTable) throws -> Result
    ) throws -> Result {
        let state = state(for: partition, log: log)
        return try state.withTable(load: { try self.load($0, partition: partition) }, body)
    }

    private func load(_ log: PartitionLog, partition: TopicPartition) throws -> ProducerTable {
        let started = ContinuousClock.now
        var table: ProducerTable?
        var source = "snapshot"
        switch readSnapshot(of: log, partition: partition) {
        case .valid(let snapshot):
            table = try ProducerStateLoader.load(log, snapshot: snapshot)
            if table == nil {
                logger.warning(
                    "ignoring producer state snapshot beyond the log end",
                    metadata: [
                        "partition": "\(partition)", "snapshotOffset": "\(snapshot.offset)",
                        "logEndOffset": "\(log.logEndOffset)",
                    ])
            }
        case .damaged:
            logger.warning("ignoring damaged producer state snapshot", metadata: ["partition": "\(partition)"])
        case .missing:
            break
        }
        if table == nil {
            source = "log"
            table = try ProducerStateLoader.load(log, now: clock.nowMilliseconds(), window: recoveryWindowMilliseconds)
        }
        var loaded = table!
        loaded.removeExpired(now: clock.nowMilliseconds(), expiration: expirationMilliseconds)
        if !loaded.producers.isEmpty {
            logger.info(
                "rebuilt producer state",
                metadata: [
                    "partition": "\(partition)", "producers": "\(loaded.producers.count)", "from": "\(source)",
                    "duration": "\(ContinuousClock.now - started)",
                ])
        }
        return loaded
    }

    /// The partition's snapshot; a file that cannot be read counts as damaged, so a bad
    /// snapshot never fails a produce (the log is scanned instead).
    private func readSnapshot(of log: PartitionLog, partition: TopicPartition) -> ProducerStateSnapshot.Stored {
        do {
            return try ProducerStateSnapshot.read(directory: log.directory, fileSystem: fileSystem)
        } catch {
            logger.warning(
                "cannot read producer state snapshot",
                metadata: [
                    "partition": "\(partition)", "error": "\(error)",
                ])
            return .damaged
        }
    }

    /// Drops expired producers, producers whose batches are all below the log start, and the
    /// states of logs that are gone (deleted topics).
    /// `currentLog` answers the log a partition has now.
    func removeExpired(currentLog: (TopicPartition) -> PartitionLog?) {
        let now = clock.nowMilliseconds()
        let expiration = expirationMilliseconds
        let all = states.withLockedValue { states in
            states = states.filter { currentLog($0.key) === $0.value.log }
            return Array(states.values)
        }
        for state in all {
            let logStart = state.log.logStartOffset
            state.ifLoaded { table in
                let expired = table.removeExpired(now: now, expiration: expiration)
                // Retention or DeleteRecords removed these producers' batches, as Kafka forgets them.
                return expired + table.removeBefore(offset: logStart) > 0
            }
        }
    }
}
