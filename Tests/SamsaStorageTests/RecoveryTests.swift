import NIOCore
import SamsaRecords
import Testing
@testable import SamsaStorage
import SamsaTesting

@Suite struct RecoveryTests {
    let clock = ManualClock()
    let directory = "/data/t-0"

    func open(
        _ fileSystem: any FileSystem, cleanShutdown: Bool = false, config: LogConfig = smallConfig(segmentBytes: 1 << 20)
    ) throws -> PartitionLog {
        try PartitionLog.open(directory: directory, config: config, fileSystem: fileSystem, clock: clock, cleanShutdown: cleanShutdown)
    }

    var segmentPath: String { directory + "/" + LogFileNames.segmentFileName(0, ".log") }

    @Test func tornLastBatchAtEveryBytePosition() throws {
        // Three batches flushed, then a fourth cut at every possible byte.
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem)
        for index in 0..<3 { try log.append(makeBatch(count: 2, valueSize: 20, seed: index)) }
        let last = try log.append(makeBatch(count: 3, valueSize: 20, seed: 9))
        try log.close()
        let file = try fileSystem.openFile(at: segmentPath, create: false)
        let full = try file.read(at: 0, count: Int(try file.size()))
        let lastSize = full.readableBytes - Int(try batches(in: full).dropLast().reduce(0) { $0 + $1.header.totalSize })
        let goodEnd = full.readableBytes - lastSize
        for cut in goodEnd..<full.readableBytes {
            let copy = InMemoryFileSystem()
            try copy.createDirectory(at: directory)
            let target = try copy.openFile(at: segmentPath, create: true)
            try target.write(full.getSlice(at: 0, length: cut)!, at: 0)
            let reopened = try open(copy)
            #expect(reopened.logEndOffset == last.firstOffset, "cut at \(cut)")
            #expect(try readAll(reopened).count == 3)
            #expect(try target.size() == Int64(goodEnd), "torn bytes are truncated")
            // The log keeps working after recovery.
            #expect(try reopened.append(makeBatch()).firstOffset == last.firstOffset)
        }
    }

    @Test func corruptBatchInTheMiddleTruncatesFromThere() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem, config: smallConfig(segmentBytes: 400))
        for index in 0..<12 { try log.append(makeBatch(count: 2, valueSize: 40, seed: index)) }
        let segments = log.segmentBaseOffsets
        #expect(segments.count > 3)
        log.abandon()
        // Flip one byte inside the records of the second segment's first batch.
        let path = directory + "/" + LogFileNames.segmentFileName(segments[1], ".log")
        let file = try fileSystem.openFile(at: path, create: false)
        var byte = try file.read(at: 70, count: 1)
        let value = byte.readInteger(as: UInt8.self)!
        try file.write(ByteBuffer(bytes: [value ^ 0xFF]), at: 70)
        let reopened = try open(fileSystem, config: smallConfig(segmentBytes: 400))
        #expect(reopened.logEndOffset == segments[1], "the corrupt batch and everything after it are gone")
        #expect(reopened.truncatedByteCount > 0)
        for batch in try readAll(reopened) { try batch.verifyChecksum() }
        #expect(reopened.segmentBaseOffsets == [segments[0], segments[1]])
    }

    @Test func corruptIndexIsRebuiltEvenAfterCleanShutdown() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem, config: smallConfig(segmentBytes: 1 << 20, indexInterval: 10))
        for index in 0..<30 { try log.append(makeBatch(count: 2, seed: index)) }
        try log.close()
        let indexFile = try fileSystem.openFile(at: directory + "/" + LogFileNames.segmentFileName(0, ".index"), create: false)
        #expect(try indexFile.size() > 16)
        // Entries out of order: the sanity check fails and the index is rebuilt from the log.
        try indexFile.write(ByteBuffer(bytes: [0, 0, 0, 9, 0, 0, 0, 200, 0, 0, 0, 1, 0, 0, 0, 100]), at: 0)
        let reopened = try open(fileSystem, cleanShutdown: true, config: smallConfig(segmentBytes: 1 << 20, indexInterval: 10))
        #expect(reopened.recoveredSegmentCount == 1)
        #expect(reopened.logEndOffset == 60)
        for offset in stride(from: Int64(0), to: 60, by: 5) {
            let first = try batches(in: try reopened.read(from: offset, maxBytes: 1).readRecords()).first
            #expect(first.map { $0.header.baseOffset <= offset && $0.header.lastOffset >= offset } == true)
        }
        // A truncated index file (not a multiple of the entry size) is rebuilt too.
        try reopened.close()
        try indexFile.truncate(to: 13)
        #expect(try open(fileSystem, cleanShutdown: true).recoveredSegmentCount == 1)
    }

    @Test func cleanShutdownSkipsTheScan() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem)
        for index in 0..<10 { try log.append(makeBatch(seed: index)) }
        try log.close()
        let clean = try open(fileSystem, cleanShutdown: true)
        #expect(clean.recoveredSegmentCount == 0)
        #expect(clean.logEndOffset == 30)
        clean.abandon()
        let unclean = try open(fileSystem)
        #expect(unclean.recoveredSegmentCount == 1, "from the recovery point's segment on")
        #expect(unclean.logEndOffset == 30)
    }

    @Test func crashKeepsExactlyTheFlushedBatches() throws {
        let fileSystem = FaultyFileSystem()
        let log = try open(fileSystem, config: smallConfig(segmentBytes: 700))
        var flushed: [Int64] = []
        for index in 0..<25 {
            let info = try log.append(makeBatch(count: 2, valueSize: 30, seed: index), durability: index % 3 == 0 ? .flushed : .written)
            if index % 3 == 0 { flushed.append(info.firstOffset) }
        }
        let durable = log.recoveryPoint
        fileSystem.crash()
        let reopened = try open(fileSystem, config: smallConfig(segmentBytes: 700))
        let survivors = try readAll(reopened)
        #expect(reopened.logEndOffset >= durable)
        for offset in flushed { #expect(survivors.contains { $0.header.baseOffset == offset }) }
        // Offsets are contiguous: nothing after a gap.
        for (previous, next) in zip(survivors, survivors.dropFirst()) { #expect(previous.header.nextOffset == next.header.baseOffset) }
    }

    @Test func failedFsyncFailsTheLogUntilReopened() throws {
        let fileSystem = FaultyFileSystem()
        let log = try open(fileSystem)
        try log.append(makeBatch(), durability: .flushed)
        fileSystem.failNextSync()
        #expect(throws: StorageError.self) { try log.append(makeBatch(), durability: .flushed) }
        #expect(throws: StorageError.self) { try log.append(makeBatch()) }
        fileSystem.crash()
        let reopened = try open(fileSystem)
        #expect(reopened.logEndOffset == 3, "only the acknowledged batch survives")
    }

    @Test("data made durable before a later fsync failed is still reported durable")
    func durableBeforeAFailureStaysDurable() throws {
        let fileSystem = FaultyFileSystem()
        let log = try open(fileSystem)
        let first = try log.append(makeBatch())
        try log.waitUntilDurable(first.lastOffset + 1)
        fileSystem.failNextSync()
        #expect(throws: StorageError.self) { try log.append(makeBatch(), durability: .flushed) }
        // The log has failed, but the first batch was on disk before: a waiter that comes late
        // hears that, not the failure (a producer would otherwise write it again).
        try log.waitUntilDurable(first.lastOffset + 1)
        #expect(throws: StorageError.self) { try log.waitUntilDurable(log.logEndOffset) }
    }

    @Test func failedWriteAppendsNothing() throws {
        let fileSystem = FaultyFileSystem()
        let log = try open(fileSystem)
        try log.append(makeBatch())
        fileSystem.tearNextWrite(after: 20, pathContaining: ".log")
        #expect(throws: StorageError.self) { try log.append(makeBatch()) }
        #expect(log.logEndOffset == 3)
        #expect(try log.append(makeBatch(seed: 5)).firstOffset == 3)
        try log.close()
        let reopened = try open(fileSystem)
        #expect(try readAll(reopened).map(\.header.baseOffset) == [0, 3])
    }
}

extension RecoveryTests {
    @Test func missingIndexIsRebuilt() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem, config: smallConfig(segmentBytes: 1 << 20, indexInterval: 10))
        for index in 0..<20 { try log.append(makeBatch(count: 2, seed: index)) }
        try log.close()
        let indexPath = directory + "/" + LogFileNames.segmentFileName(0, ".index")
        try fileSystem.removeFile(at: indexPath)
        let reopened = try open(fileSystem, cleanShutdown: true, config: smallConfig(segmentBytes: 1 << 20, indexInterval: 10))
        #expect(reopened.recoveredSegmentCount == 1)
        try reopened.close()
        #expect(try fileSystem.openFile(at: indexPath, create: false).size() > 0)
    }
}

/// Crashes that test directory durability: a segment or checkpoint whose name was never made
/// durable by a directory sync is gone after a crash, so these fail if a sync is missing.
extension RecoveryTests {
    @Test func rolledSegmentsSurviveACrashOnceFlushed() throws {
        let fileSystem = InMemoryFileSystem()
        let config = smallConfig(segmentBytes: 400)
        let log = try open(fileSystem, config: config)
        for index in 0..<12 { try log.append(makeBatch(count: 2, valueSize: 40, seed: index)) }
        #expect(log.segmentBaseOffsets.count > 3, "the log rolled into new segments")
        try log.flush()
        #expect(fileSystem.unsyncedNames(inDirectory: directory).isEmpty, "the flush synced the new segments' names")
        let flushed = try readAll(log).map(\.bytes)
        fileSystem.crash()
        let reopened = try open(fileSystem, config: config)
        #expect(reopened.logEndOffset == 24)
        #expect(try readAll(reopened).map(\.bytes) == flushed, "every flushed batch is back, byte-exact")
    }

    @Test func acknowledgedAppendsInANewSegmentSurviveACrash() throws {
        let fileSystem = InMemoryFileSystem()
        let config = smallConfig(segmentBytes: 400)
        let log = try open(fileSystem, config: config)
        var acknowledged: [Int64] = []
        for index in 0..<12 {
            let info = try log.append(makeBatch(count: 2, valueSize: 40, seed: index), durability: .flushed)
            acknowledged.append(info.firstOffset)
        }
        fileSystem.crash()
        let reopened = try open(fileSystem, config: config)
        #expect(reopened.segmentBaseOffsets.count > 3)
        #expect(try readAll(reopened).map(\.header.baseOffset) == acknowledged)
    }

    @Test func crashBeforeTheDirectorySyncLosesOnlyWhatWasNotAcknowledged() throws {
        let fileSystem = InMemoryFileSystem()
        let config = smallConfig(segmentBytes: 400)
        let log = try open(fileSystem, config: config)
        for index in 0..<4 { try log.append(makeBatch(count: 2, valueSize: 40, seed: index), durability: .flushed) }
        let acknowledgedEnd = log.logEndOffset
        let segmentsBefore = log.segmentBaseOffsets
        // Unacknowledged appends roll into new segments whose names are not durable yet.
        for index in 4..<12 { try log.append(makeBatch(count: 2, valueSize: 40, seed: index)) }
        #expect(log.segmentBaseOffsets.count > segmentsBefore.count)
        #expect(!fileSystem.unsyncedNames(inDirectory: directory).isEmpty)
        fileSystem.crash()
        let reopened = try open(fileSystem, config: config)
        #expect(reopened.logEndOffset == acknowledgedEnd, "exactly the acknowledged batches survive")
        #expect(reopened.segmentBaseOffsets == segmentsBefore)
        #expect(try readAll(reopened).map(\.header.baseOffset) == [0, 2, 4, 6])
    }

    @Test func checkpointReplacedByRenameSurvivesACrash() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try open(fileSystem)
        for index in 0..<5 { try log.append(makeBatch(count: 2, seed: index), durability: .flushed) }
        // Each DeleteRecords replaces the checkpoint (temporary file, rename, directory sync).
        try log.deleteRecords(before: 3)
        try log.deleteRecords(before: 5)
        fileSystem.crash()
        let checkpoint = try #require(try PartitionCheckpoint.read(in: directory, fileSystem: fileSystem))
        #expect(checkpoint.logStartOffset == 5)
        #expect(checkpoint.recoveryPoint == 10)
        #expect(!fileSystem.exists(at: directory + "/" + LogFileNames.partitionCheckpoint + LogFileNames.temporarySuffix))
        let reopened = try open(fileSystem)
        #expect(reopened.logStartOffset == 5, "the deleted records stay deleted")
        #expect(reopened.logEndOffset == 10)
    }

    @Test func newLogDirectoriesSurviveACrash() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try PartitionLog.open(directory: "/a/b/t-0", fileSystem: fileSystem, clock: clock)
        try log.append(makeBatch(), durability: .flushed)
        fileSystem.crash()
        #expect(try PartitionLog.open(directory: "/a/b/t-0", fileSystem: fileSystem, clock: clock).logEndOffset == 3)
    }
}
