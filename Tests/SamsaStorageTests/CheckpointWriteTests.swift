import NIOCore
import SamsaTesting
import Testing

@testable import SamsaStorage

/// Checkpoint writes (periodic, and those of retention and DeleteRecords) fsync without the
/// log's lock: appends and reads go on while one is held in its fsync.
@Suite struct CheckpointWriteTests {
    /// A log whose checkpoint fsyncs wait at `gate` while it is closed.
    private func openLog(_ gate: GatedFileSystem, retentionBytes: Int64? = nil) throws -> PartitionLog {
        var config = smallConfig(segmentBytes: 1024)
        config.retentionBytes = retentionBytes
        return try PartitionLog.open(directory: "/d/t-0", config: config, fileSystem: gate, clock: ManualClock())
    }

    @Test("a periodic checkpoint held in its fsync does not hold up appends", .timeLimit(.minutes(1)))
    func periodicCheckpoint() throws {
        let gate = GatedFileSystem(pathContaining: "partition.checkpoint")
        let log = try openLog(gate)
        try log.append(makeBatch(count: 2, seed: 0))
        try log.flush()
        gate.closeGate()
        let writer = ThreadHandle.spawn { try? log.writeCheckpoint() }
        gate.waitUntil { $0.heldSyncs == 1 }
        let appended = try log.append(makeBatch(count: 3, seed: 1))
        #expect(appended.firstOffset == 2)
        #expect(try log.read(from: 0, maxBytes: 1 << 20, isolation: .logEnd).readRecords().readableBytes > 0)
        gate.openGate()
        writer.join()
        try log.close()
        let reopened = try PartitionLog.open(
            directory: "/d/t-0", config: smallConfig(segmentBytes: 1024), fileSystem: gate, clock: ManualClock())
        #expect(reopened.logEndOffset == 5)
    }

    @Test("retention deletes segments and fsyncs its checkpoint without holding up appends", .timeLimit(.minutes(1)))
    func retention() throws {
        let gate = GatedFileSystem(pathContaining: "partition.checkpoint")
        let log = try openLog(gate, retentionBytes: 1500)
        for seed in 0..<12 {
            try log.append(makeBatch(count: 4, valueSize: 100, seed: seed))
        }
        try log.flush()
        let segmentsBefore = log.segmentBaseOffsets.count
        try #require(segmentsBefore > 3, "retention has whole segments to delete")
        gate.closeGate()
        let deleted = DeletedCount()
        let retention = ThreadHandle.spawn { deleted.set((try? log.applyRetention()) ?? -1) }
        gate.waitUntil { $0.heldSyncs == 1 }
        // The segments are gone from the log before the checkpoint's fsync ends.
        let segmentsLeft = log.segmentBaseOffsets.count
        #expect(segmentsLeft < segmentsBefore)
        let appended = try log.append(makeBatch(count: 1, seed: 99))
        #expect(appended.firstOffset == 48)
        gate.openGate()
        retention.join()
        #expect(deleted.value == segmentsBefore - segmentsLeft)
        #expect(log.logStartOffset > 0)
        #expect(
            !gate.exists(at: "/d/t-0/" + LogFileNames.segmentFileName(0, LogFileNames.logSuffix)), "the first segment's file is deleted")
    }
}

/// A count set by another thread.
private final class DeletedCount: @unchecked Sendable {
    private let lock = ConditionLock(0)
    func set(_ value: Int) { lock.withLock { $0 = value } }
    var value: Int { lock.withLock { $0 } }
}
