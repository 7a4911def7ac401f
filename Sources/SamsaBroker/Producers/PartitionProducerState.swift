import NIOConcurrencyHelpers
import SamsaStorage

/// The producer state of one partition log, guarded by a lock that also covers the append:
/// a batch's sequence check and its append happen together, so two concurrent requests of one
/// producer cannot both pass the check.
///
/// The state is loaded from the log (``ProducerStateLoader``) the first time it is needed,
/// under the same lock, so the first idempotent produce after a start pays for the scan.
final class PartitionProducerState: @unchecked Sendable {
    /// The log this state describes; a recreated topic gets a new log and a new state.
    let log: PartitionLog
    let partition: TopicPartition
    private let lock = NIOLock()
    // Guarded by `lock`.
    private var table = ProducerTable()
    private var loaded = false

    init(partition: TopicPartition, log: PartitionLog) {
        self.partition = partition
        self.log = log
    }

    /// Runs `body` with the table locked, loading it with `load` first if this is the first use.
    /// Blocks (the load reads the log, `body` usually appends): call it on ``BlockingWork``.
    func withTable<Result>(
        load: (PartitionLog) throws -> ProducerTable, _ body: (inout ProducerTable) throws -> Result
    ) throws -> Result {
        try lock.withLock {
            if !loaded {
                table = try load(log)
                loaded = true
            }
            return try body(&table)
        }
    }

    /// Runs `body` on the table if it has been loaded; does nothing otherwise.
    func ifLoaded(_ body: (inout ProducerTable) -> Void) {
        lock.withLock {
            if loaded { body(&table) }
        }
    }
}
