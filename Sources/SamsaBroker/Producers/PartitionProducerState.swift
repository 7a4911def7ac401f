import NIOConcurrencyHelpers
import SamsaStorage
import Synchronization

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
    /// Set once, under `lock`, when the table is loaded; an atomic so ``isLoaded`` can read it
    /// without the lock, which a load holds for as long as it reads the log.
    private let loaded = Atomic(false)
    /// The table may differ from the last snapshot written.
    private var changedSinceSnapshot = false
    /// Serialises snapshot writes of this partition (they share one temporary file); never
    /// taken inside `lock`, so a slow fsync does not hold up produces.
    let snapshotWriteLock = NIOLock()

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
            if !isLoaded {
                table = try load(log)
                loaded.store(true, ordering: .releasing)
            }
            // Most calls append; telling which did is not worth it for a flag.
            changedSinceSnapshot = true
            return try body(&table)
        }
    }

    /// The table has been loaded: ``withTable(load:_:)`` will not read the log. Does not wait
    /// for a load in progress (it answers false then).
    var isLoaded: Bool { loaded.load(ordering: .acquiring) }

    /// Runs `body` on the table if it has been loaded; does nothing otherwise. `body` returns
    /// whether it changed the table.
    func ifLoaded(_ body: (inout ProducerTable) -> Bool) {
        lock.withLock {
            if isLoaded, body(&table) { changedSinceSnapshot = true }
        }
    }

    /// The table and the log end offset it covers, if it was loaded and changed since the last
    /// snapshot (`force` takes it anyway when loaded). Taken under the lock that also covers
    /// idempotent appends, so the offset and the table agree. Call ``snapshotFailed()`` if
    /// writing it fails.
    func takeSnapshot(force: Bool = false) -> ProducerStateSnapshot? {
        lock.withLock {
            guard isLoaded, changedSinceSnapshot || force else { return nil }
            changedSinceSnapshot = false
            return ProducerStateSnapshot(offset: log.logEndOffset, table: table)
        }
    }

    /// Marks the table as still needing a snapshot.
    func snapshotFailed() {
        lock.withLock { changedSinceSnapshot = true }
    }
}
