import Logging
import NIOConcurrencyHelpers
import SamsaStorage

extension ProducerStateManager {
    /// Writes the snapshot of every loaded partition whose producer state changed since its
    /// last snapshot (every loaded partition when `all`, as at shutdown). A failure is logged
    /// and retried next time: the log still holds everything a snapshot would say.
    /// `currentLog` answers the log a partition has now, so a deleted topic's directory is
    /// left alone. Blocks on fsyncs: call it on ``BlockingWork``.
    ///
    /// Returns how many snapshots were written.
    @discardableResult
    func writeSnapshots(all: Bool = false, currentLog: (TopicPartition) -> PartitionLog?) -> Int {
        let loaded = states.withLockedValue { Array($0.values) }
        var written = 0
        for state in loaded where currentLog(state.partition) === state.log {
            state.snapshotWriteLock.withLock {
                // Taken under the write lock, so an older table never replaces a newer one.
                guard let snapshot = state.takeSnapshot(force: all) else { return }
                do {
                    try snapshot.write(directory: state.log.directory, fileSystem: fileSystem)
                    written += 1
                } catch {
                    state.snapshotFailed()
                    logger.warning(
                        "cannot write producer state snapshot",
                        metadata: [
                            "partition": "\(state.partition)", "error": "\(error)",
                        ])
                }
            }
        }
        return written
    }

    /// Removes the snapshots that cover offsets their log no longer has (recovery truncated
    /// a torn tail after an unclean shutdown). Call it once at start, before any append: a
    /// later append could otherwise bring the log end back above such a snapshot and make it
    /// look valid while it describes batches that are gone. Blocking file I/O.
    func removeSnapshotsBeyondLogEnd(logs: LogManager) {
        for partition in logs.partitions {
            guard let log = logs.log(for: partition) else { continue }
            let path = ProducerStateSnapshot.path(in: log.directory)
            guard fileSystem.exists(at: path) else { continue }
            do {
                guard case .valid(let snapshot) = try ProducerStateSnapshot.read(directory: log.directory, fileSystem: fileSystem),
                    snapshot.offset > log.logEndOffset
                else { continue }
                logger.warning(
                    "removing producer state snapshot beyond the log end",
                    metadata: [
                        "partition": "\(partition)", "snapshotOffset": "\(snapshot.offset)",
                        "logEndOffset": "\(log.logEndOffset)",
                    ])
                try fileSystem.removeFile(at: path)
            } catch {
                logger.warning(
                    "cannot check producer state snapshot",
                    metadata: [
                        "partition": "\(partition)", "error": "\(error)",
                    ])
            }
        }
    }
}
