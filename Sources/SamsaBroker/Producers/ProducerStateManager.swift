import Logging
import NIOConcurrencyHelpers
import SamsaStorage

/// The idempotent-producer state of every partition (Kafka's per-log `ProducerStateManager`s,
/// kept together): created on a partition's first idempotent produce, loaded from the log's
/// tail, expired after `producer.id.expiration.ms` without appends.
public final class ProducerStateManager: Sendable {
    private let states = NIOLockedValueBox<[TopicPartition: PartitionProducerState]>([:])
    private let clock: any StorageClock
    private let logger: Logger
    /// `producer.id.expiration.ms`: how long a producer's state outlives its last append.
    let expirationMilliseconds: Int64
    /// How far back (by timestamp) a partition's log is scanned to rebuild its state.
    let recoveryWindowMilliseconds: Int64

    init(clock: any StorageClock, logger: Logger, expirationMilliseconds: Int64, recoveryWindowMilliseconds: Int64) {
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
        var table = try ProducerStateLoader.load(log, now: clock.nowMilliseconds(), window: recoveryWindowMilliseconds)
        table.removeExpired(now: clock.nowMilliseconds(), expiration: expirationMilliseconds)
        if !table.producers.isEmpty {
            logger.info("rebuilt producer state from the log", metadata: [
                "partition": "\(partition)", "producers": "\(table.producers.count)",
                "duration": "\(ContinuousClock.now - started)",
            ])
        }
        return table
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
                table.removeExpired(now: now, expiration: expiration)
                // Retention or DeleteRecords removed these producers' batches, as Kafka forgets them.
                table.removeBefore(offset: logStart)
            }
        }
    }
}
