import NIOConcurrencyHelpers
import NIOCore
import SamsaRecords
import Testing
@testable import SamsaStorage
import SamsaTesting

@Suite struct LogManagerTests {
    let clock = ManualClock()

    func manager(_ fileSystem: any FileSystem, config: LogConfig = smallConfig(segmentBytes: 500)) throws -> LogManager {
        try LogManager(dataDirectory: "/samsa-data", fileSystem: fileSystem, clock: clock, configuration: { _ in config })
    }

    @Test func loadsEveryPartitionAndMarksCleanShutdown() throws {
        let fileSystem = InMemoryFileSystem()
        let first = try manager(fileSystem)
        #expect(!first.hadCleanShutdown)
        for partition in 0..<3 {
            let log = try first.createLog(for: TopicPartition(topic: "orders", partition: Int32(partition)))
            for index in 0...partition { try log.append(makeBatch(seed: index)) }
        }
        try first.close()
        #expect(fileSystem.exists(at: "/samsa-data/.samsa-clean-shutdown"))
        let second = try manager(fileSystem)
        #expect(second.hadCleanShutdown)
        #expect(!fileSystem.exists(at: "/samsa-data/.samsa-clean-shutdown"), "a crash from now on is not clean")
        #expect(second.partitions.map(\.directoryName) == ["orders-0", "orders-1", "orders-2"])
        #expect(second.log(for: TopicPartition(topic: "orders", partition: 2))?.logEndOffset == 9)
        #expect(second.log(for: TopicPartition(topic: "orders", partition: 0))?.recoveredSegmentCount == 0)
    }

    @Test func retentionByTimeAndSizeDeletesWholeOldSegments() throws {
        var config = smallConfig(segmentBytes: 500)
        config.retentionMilliseconds = 60_000
        let fileSystem = InMemoryFileSystem()
        let manager = try manager(fileSystem, config: config)
        let log = try manager.createLog(for: TopicPartition(topic: "t", partition: 0))
        for index in 0..<10 { try log.append(makeBatch(count: 2, valueSize: 60, timestamp: clock.nowMilliseconds(), seed: index)) }
        let oldSegments = log.segmentBaseOffsets
        clock.advance(byMilliseconds: 30_000)
        for index in 0..<10 { try log.append(makeBatch(count: 2, valueSize: 60, timestamp: clock.nowMilliseconds(), seed: index)) }
        #expect(manager.applyRetention() == 0, "nothing is older than retention.ms yet")
        clock.advance(byMilliseconds: 30_100)
        let deleted = manager.applyRetention()
        #expect(deleted >= oldSegments.count - 1)
        #expect(log.logStartOffset >= 18)
        #expect(try readAll(log).allSatisfy { $0.header.maxTimestamp >= clock.nowMilliseconds() - 60_000 - 1000 })

        var sized = smallConfig(segmentBytes: 500)
        sized.retentionBytes = 1200
        let sizeLog = try manager.createLog(for: TopicPartition(topic: "s", partition: 0), config: sized)
        for index in 0..<20 { try sizeLog.append(makeBatch(count: 2, valueSize: 60, seed: index)) }
        #expect(try sizeLog.applyRetention() > 0)
        #expect(sizeLog.size >= 1200 - 500 && sizeLog.size <= 1200 + 500)
        #expect(try readAll(sizeLog).last?.header.nextOffset == sizeLog.logEndOffset)
    }

    @Test func compactionKeepsTheLatestValuePerKeyInOrder() throws {
        var config = smallConfig(segmentBytes: 400)
        config.cleanupPolicy = [.compact]
        config.deleteRetentionMilliseconds = 10_000
        let fileSystem = InMemoryFileSystem()
        let manager = try manager(fileSystem, config: config)
        let log = try manager.createLog(for: TopicPartition(topic: "state", partition: 0))
        var latest: [String: (offset: Int64, value: String?)] = [:]
        var random = SeededGenerator(seed: testSeed("LogManagerTests.compactionKeepsTheLatestValuePerKeyInOrder"))
        for round in 0..<40 {
            let keys = (0..<3).map { _ in "k\(Int.random(in: 0..<6, using: &random))" }
            let values: [String?] = keys.indices.map { index in round % 7 == 6 && index == 0 ? nil : "v\(round)-\(index)" }
            let info = try log.append(
                makeBatch(
                    count: 3, timestamp: clock.nowMilliseconds(), keys: keys, values: values,
                    compression: round % 2 == 0 ? .none : .gzip))
            for (index, key) in keys.enumerated() { latest[key] = (info.firstOffset + Int64(index), values[index]) }
        }
        let endBefore = log.logEndOffset
        let result = try #require(manager.compactLogs()[TopicPartition(topic: "state", partition: 0)])
        #expect(result.removedRecordCount > 0 && result.bytesAfter < result.bytesBefore)
        #expect(log.logEndOffset == endBefore)
        // What remains: offsets strictly increasing, and in the compacted part one record per key.
        let records = try readAll(log).flatMap { try $0.decodeRecords(maxDecompressedBytes: 1 << 20) }
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.offset < $1.offset })
        let activeBase = log.segmentBaseOffsets.last!
        let compacted = records.filter { $0.offset < activeBase }
        let compactedKeys = compacted.compactMap { $0.key.map { String(buffer: $0) } }
        #expect(Set(compactedKeys).count == compactedKeys.count)
        for record in compacted {
            let key = String(buffer: record.key!)
            let newest = try #require(latest[key]?.offset)
            // Keys updated again in the active segment are compacted on a later pass.
            #expect(newest == record.offset || newest >= activeBase, "only the latest record of \(key) is kept")
        }
        // Tombstones go once older than delete.retention.ms (a batch's max timestamp is its
        // last record's, two milliseconds after the clock reading it was built with).
        clock.advance(byMilliseconds: 10_003)
        try log.compact()
        let after = try readAll(log).flatMap { try $0.decodeRecords(maxDecompressedBytes: 1 << 20) }.filter { $0.offset < activeBase }
        #expect(after.allSatisfy { $0.value != nil })
        // The compacted log reopens after a crash with the same content.
        let reopened = try PartitionLog.open(directory: "/samsa-data/state-0", config: config, fileSystem: fileSystem, clock: clock)
        #expect(
            try readAll(reopened).flatMap { try $0.decodeRecords(maxDecompressedBytes: 1 << 20) }.map(\.offset)
                == (try readAll(log).flatMap { try $0.decodeRecords(maxDecompressedBytes: 1 << 20) }.map(\.offset)))
    }

    @Test func topicDeletionIsAllOrNothing() throws {
        let fileSystem = InMemoryFileSystem()
        let manager = try manager(fileSystem)
        for partition in 0..<3 {
            try manager.createLog(for: TopicPartition(topic: "gone", partition: Int32(partition))).append(makeBatch())
        }
        try manager.createLog(for: TopicPartition(topic: "kept", partition: 0)).append(makeBatch())
        try manager.deleteTopic("gone")
        #expect(manager.partitions.map(\.directoryName) == ["kept-0"])
        #expect(try fileSystem.contentsOfDirectory(at: "/samsa-data") == ["kept-0"])

        // A crash after the marker and one removed partition: the next start finishes the job.
        for partition in 0..<3 {
            try manager.createLog(for: TopicPartition(topic: "half", partition: Int32(partition))).append(makeBatch())
        }
        try AtomicFile.write(ByteBuffer(string: "half"), to: "/samsa-data/.delete-half", fileSystem: fileSystem)
        try fileSystem.removeDirectory(at: "/samsa-data/half-1")
        let restarted = try self.manager(fileSystem)
        #expect(restarted.partitions.map(\.directoryName) == ["kept-0"])
        #expect(try fileSystem.contentsOfDirectory(at: "/samsa-data") == ["kept-0"])
    }

    @Test func createdPartitionsSurviveACrash() throws {
        let fileSystem = InMemoryFileSystem()
        let first = try manager(fileSystem)
        let log = try first.createLog(for: TopicPartition(topic: "orders", partition: 0))
        try log.append(makeBatch(), durability: .flushed)
        fileSystem.crash()
        let second = try manager(fileSystem)
        #expect(second.partitions.map(\.directoryName) == ["orders-0"], "the data and partition directories are durable")
        #expect(second.log(for: TopicPartition(topic: "orders", partition: 0))?.logEndOffset == 3)
    }

    @Test func concurrentCreatorsOfOnePartitionShareOneLog() throws {
        let manager = try manager(InMemoryFileSystem())
        let partition = TopicPartition(topic: "t", partition: 0)
        let logs = NIOLockedValueBox<[ObjectIdentifier]>([])
        let threads = (0..<4).map { _ in
            ThreadHandle.spawn {
                let log = try! manager.createLog(for: partition)
                logs.withLockedValue { $0.append(ObjectIdentifier(log)) }
            }
        }
        for thread in threads { thread.join() }
        #expect(Set(logs.withLockedValue { $0 }).count == 1)
        #expect(manager.partitions == [partition])
    }

    @Test func topicPartitionDirectoryNames() {
        #expect(TopicPartition(directoryName: "my-topic-12") == TopicPartition(topic: "my-topic", partition: 12))
        #expect(TopicPartition(directoryName: "bad") == nil)
        #expect(TopicPartition(directoryName: "a/b-1") == nil)
        #expect(TopicPartition(directoryName: "t-x") == nil)
        #expect(TopicPartition(directoryName: "t--1") == TopicPartition(topic: "t-", partition: 1))
    }

    @Test func segmentFileNamesRoundTrip() {
        #expect(LogFileNames.segmentFileName(0, ".log") == "00000000000000000000.log")
        #expect(LogFileNames.segmentFileName(42, ".timeindex") == "00000000000000000042.timeindex")
        #expect(LogFileNames.segmentFileName(Int64.max, ".index") == "09223372036854775807.index")
        for offset: Int64 in [0, 7, 1_000_000_007, Int64.max] {
            #expect(LogFileNames.baseOffset(fromFileName: LogFileNames.segmentFileName(offset, ".log"), suffix: ".log") == offset)
        }
        for name in [
            "0000000000000000042.log", "000000000000000000042.log", "0000000000000000004x.log", "00000000000000000042.index",
            "99999999999999999999.log", "-0000000000000000042.log", "00000000000000000042.log.tmp",
        ] {
            #expect(LogFileNames.baseOffset(fromFileName: name, suffix: ".log") == nil, "\(name)")
        }
    }
}

@Suite struct LogManagerStartTests {
    let clock = ManualClock()

    func open(_ fileSystem: any FileSystem) throws -> LogManager {
        try LogManager(
            dataDirectory: "/samsa-data", fileSystem: fileSystem, clock: clock, configuration: { _ in smallConfig(segmentBytes: 500) })
    }

    @Test("a start after a clean shutdown syncs nothing; after a crash it syncs the file system once, not each partition")
    func syncsAtStart() throws {
        let fileSystem = GatedFileSystem(pathContaining: "")
        func partitionSyncs() -> [String] {
            fileSystem.current.syncedDirectories.filter { $0.hasPrefix("/samsa-data/orders-") }.sorted()
        }
        let first = try open(fileSystem)
        for partition in 0..<3 {
            try first.createLog(for: TopicPartition(topic: "orders", partition: Int32(partition))).append(makeBatch(seed: partition))
        }
        let end = try #require(first.log(for: TopicPartition(topic: "orders", partition: 2))?.logEndOffset)
        try first.close()
        fileSystem.forgetSyncedDirectories()
        let syncsBefore = fileSystem.current.syncs
        let clean = try open(fileSystem)
        #expect(clean.hadCleanShutdown)
        #expect(partitionSyncs().isEmpty, "nothing changed in the partition directories")
        #expect(fileSystem.current.syncs == syncsBefore, "no file synced")
        #expect(fileSystem.current.fileSystemSyncs == 0)
        #expect(clean.log(for: TopicPartition(topic: "orders", partition: 2))?.logEndOffset == end)
        // Not closed: the next start is after a crash.
        fileSystem.forgetSyncedDirectories()
        let recovered = try open(fileSystem)
        #expect(!recovered.hadCleanShutdown)
        #expect(recovered.log(for: TopicPartition(topic: "orders", partition: 0))?.recoveredSegmentCount == 1)
        #expect(partitionSyncs().isEmpty)
        #expect(fileSystem.current.syncs == syncsBefore, "no file synced one by one")
        #expect(fileSystem.current.fileSystemSyncs == 1)
    }

    @Test("records recovered after a kill are durable before the logs are served: a power loss then keeps them")
    func recoveredRecordsSurviveALaterPowerLoss() throws {
        let fileSystem = InMemoryFileSystem()
        let partitions = (0..<4).map { TopicPartition(topic: "orders", partition: Int32($0)) }
        let first = try open(fileSystem)
        for partition in partitions {
            let log = try first.createLog(for: partition)
            // Unflushed: in the page cache only, as a killed process leaves them.
            for seed in 0..<5 { try log.append(makeBatch(seed: seed)) }
        }
        let ends = partitions.map { first.log(for: $0)?.logEndOffset }
        #expect(fileSystem.unsyncedByteCount(at: "/samsa-data/orders-0/00000000000000000000.log") > 0)
        // Killed: never closed. The next start recovers the tails and counts them as durable.
        let recovered = try open(fileSystem)
        #expect(partitions.map { recovered.log(for: $0)?.logEndOffset } == ends)
        #expect(partitions.map { recovered.log(for: $0)?.recoveryPoint } == ends)
        fileSystem.crash()
        let afterPowerLoss = try open(fileSystem)
        #expect(partitions.map { afterPowerLoss.log(for: $0)?.logEndOffset } == ends)
        for partition in partitions {
            #expect(try readAll(#require(afterPowerLoss.log(for: partition))).count == 5)
        }
    }

    @Test("an idle partition holds one open file, its log, whatever its indexes and segments")
    func idlePartitionsHoldOneFileEach() throws {
        let fileSystem = GatedFileSystem(pathContaining: "")
        let manager = try open(fileSystem)
        for partition in 0..<5 {
            let log = try manager.createLog(for: TopicPartition(topic: "idle", partition: Int32(partition)))
            // Enough to fill index entries and roll a few 500-byte segments.
            for seed in 0..<(partition * 6) { try log.append(makeBatch(count: 2, valueSize: 60, seed: seed)) }
            try log.flush()
        }
        let segments = manager.partitions.reduce(0) { $0 + (manager.log(for: $1)?.segmentBaseOffsets.count ?? 0) }
        #expect(segments > 5, "some partitions rolled segments")
        #expect(fileSystem.current.openFiles == segments)
        try manager.close()
        let reopened = try open(fileSystem)
        #expect(fileSystem.current.openFiles == segments)
        _ = reopened
    }
}
