import NIOCore
import SamsaRecords
import Testing
@testable import SamsaStorage
import SamsaTesting

@Suite struct PartitionLogTests {
    let clock = ManualClock()

    func openLog(_ fileSystem: any FileSystem = InMemoryFileSystem(), config: LogConfig = smallConfig()) throws -> PartitionLog {
        try PartitionLog.open(directory: "/data/t-0", config: config, fileSystem: fileSystem, clock: clock)
    }

    @Test func appendAssignsOffsetsAndReadsBackByteExact() throws {
        let log = try openLog()
        let first = try log.append(makeBatch(count: 3))
        let second = try log.append(makeBatch(count: 2, seed: 1))
        #expect(first.firstOffset == 0 && first.lastOffset == 2)
        #expect(second.firstOffset == 3 && second.lastOffset == 4)
        #expect(log.logEndOffset == 5 && log.highWatermark == 5)
        let read = try readAll(log)
        #expect(read.map(\.header.baseOffset) == [0, 3])
        for batch in read { try batch.verifyChecksum() }
        #expect(try values(of: read[1]) == (try values(of: try batches(in: makeBatch(count: 2, seed: 1))[0])))
    }

    @Test func rejectsInvalidInputWithoutAppending() throws {
        let log = try openLog()
        var corrupt = makeBatch(count: 2)
        corrupt.setInteger(UInt8(0xFF), at: corrupt.writerIndex - 1)
        #expect { try log.append(corrupt) } throws: { ($0 as? StorageError)?.isInvalidInput == true }
        #expect { try log.append(ByteBuffer(string: "garbage")) } throws: { ($0 as? StorageError)?.isInvalidInput == true }
        var config = smallConfig()
        config.maxBatchBytes = 100
        let small = try openLog(config: config)
        #expect { try small.append(makeBatch(count: 10)) } throws: { ($0 as? StorageError)?.isInvalidInput == true }
        #expect(log.logEndOffset == 0)
    }

    @Test func readAfterAppendProperty() throws {
        var random = SeededGenerator(seed: testSeed("PartitionLogTests.readAfterAppendProperty"))
        for round in 0..<5 {
            let log = try openLog(
                config: smallConfig(
                    segmentBytes: Int.random(in: 600...5000, using: &random),
                    indexInterval: Int.random(in: 1...600, using: &random)))
            var expected: [(offset: Int64, batch: ByteBuffer)] = []
            for index in 0..<60 {
                let batch = makeBatch(
                    count: Int.random(in: 1...8, using: &random), valueSize: Int.random(in: 0...200, using: &random),
                    seed: round * 1000 + index)
                let info = try log.append(batch)
                expected.append((info.firstOffset, batch))
            }
            #expect(log.segmentBaseOffsets.count > 1, "small segments roll")
            // Every offset reads back as the batch holding it, byte-exact apart from the base offset.
            for _ in 0..<40 {
                let pick = expected[Int.random(in: 0..<expected.count, using: &random)]
                let count = Int64(try batches(in: pick.batch)[0].header.recordCount)
                let offset = pick.offset + Int64.random(in: 0..<count, using: &random)
                let data = try log.read(from: offset, maxBytes: Int.random(in: 1...3000, using: &random))
                let first = try #require(try batches(in: try data.readRecords()).first)
                #expect(first.header.baseOffset == pick.offset)
                var original = pick.batch
                original.setRecordBatchBaseOffset(pick.offset, at: original.readerIndex)
                #expect(first.bytes == original)
            }
            #expect(try readAll(log).map(\.header.baseOffset) == expected.map(\.offset))
        }
    }

    @Test func readBoundsAndIsolation() throws {
        let log = try PartitionLog.open(
            directory: "/d/t-0", config: smallConfig(), fileSystem: InMemoryFileSystem(),
            clock: clock, highWatermarkFollowsLogEnd: false)
        try log.append(makeBatch(count: 2))
        try log.append(makeBatch(count: 2))
        #expect(log.highWatermark == 0)
        #expect(try log.read(from: 0, maxBytes: 1000).records == nil)
        log.updateHighWatermark(2)
        let limited = try batches(in: try log.read(from: 0, maxBytes: 10_000).readRecords())
        #expect(limited.map(\.header.baseOffset) == [0])
        #expect(try batches(in: try log.read(from: 0, maxBytes: 10_000, isolation: .logEnd).readRecords()).count == 2)
        #expect(try log.read(from: 4, maxBytes: 100, isolation: .logEnd).records == nil)
        #expect { try log.read(from: 5, maxBytes: 100) } throws: { ($0 as? StorageError)?.isOffsetOutOfRange == true }
        // minOneBatch returns a whole batch even past maxBytes; without it, a cut batch.
        #expect(try log.read(from: 0, maxBytes: 1, isolation: .logEnd).records?.length ?? 0 > 1)
        #expect(try log.read(from: 0, maxBytes: 10, isolation: .logEnd, minOneBatch: false).records?.length == 10)
    }

    @Test func logAppendTimeRewritesTimestampAndChecksum() throws {
        var config = smallConfig()
        config.timestampType = .logAppendTime
        let log = try openLog(config: config)
        let info = try log.append(makeBatch(count: 3, timestamp: 5))
        #expect(info.logAppendTime == clock.nowMilliseconds())
        let batch = try #require(try readAll(log).first)
        #expect(batch.header.maxTimestamp == clock.nowMilliseconds())
        #expect(batch.header.timestampType == .logAppendTime)
        try batch.verifyChecksum()
    }

    @Test func offsetIndexAndTimeLookupsMatchBruteForce() throws {
        let log = try openLog(config: smallConfig(segmentBytes: 3000, indexInterval: 100))
        var random = SeededGenerator(seed: testSeed("PartitionLogTests.offsetIndexAndTimeLookupsMatchBruteForce"))
        var timestamp: Int64 = 1000
        for index in 0..<120 {
            timestamp += Int64.random(in: -5...20, using: &random)
            try log.append(makeBatch(count: Int.random(in: 1...4, using: &random), valueSize: 30, timestamp: timestamp, seed: index))
        }
        let all = try readAll(log)
        for target in stride(from: Int64(900), through: timestamp + 30, by: 7) {
            // Brute force: the first batch whose max timestamp reaches the target.
            let expected = all.first { $0.header.maxTimestamp >= target }
            let found = try log.offset(forTimestamp: target)
            #expect(found?.offset == expected?.header.baseOffset, "timestamp \(target)")
        }
        for offset in stride(from: Int64(0), to: log.logEndOffset, by: 3) {
            let expected = all.first { $0.header.lastOffset >= offset }!
            let data = try log.read(from: offset, maxBytes: 1)
            #expect(try batches(in: try data.readRecords()).first?.header.baseOffset == expected.header.baseOffset)
        }
    }

    @Test func rollsBySizeAgeAndFullIndex() throws {
        var config = smallConfig(segmentBytes: 1 << 20, indexInterval: 1)
        config.segmentMilliseconds = 60_000
        let log = try openLog(config: config)
        try log.append(makeBatch())
        try log.append(makeBatch())
        #expect(log.segmentBaseOffsets == [0])
        clock.advance(byMilliseconds: 60_001)
        try log.append(makeBatch())
        #expect(log.segmentBaseOffsets == [0, 6], "rolled by age")

        config.maxIndexEntries = 2
        let indexLog = try openLog(config: config)
        for _ in 0..<7 { try indexLog.append(makeBatch()) }
        // Entries go in from the second batch of a segment: two entries fill it after three batches.
        #expect(indexLog.segmentBaseOffsets == [0, 9, 18], "rolled by full index")

        config = smallConfig(segmentBytes: 300, indexInterval: 1)
        let sizeLog = try openLog(config: config)
        for _ in 0..<4 { try sizeLog.append(makeBatch(valueSize: 100)) }
        #expect(sizeLog.segmentBaseOffsets.count == 4, "rolled by size")
    }

    @Test func truncateAndDeleteRecords() throws {
        let log = try openLog(config: smallConfig(segmentBytes: 500))
        for index in 0..<20 { try log.append(makeBatch(count: 2, valueSize: 50, seed: index)) }
        try log.truncate(to: 31)
        #expect(log.logEndOffset == 30, "the batch holding offset 31 goes whole")
        #expect(try readAll(log).last?.header.lastOffset == 29)
        let next = try log.append(makeBatch())
        #expect(next.firstOffset == 30)
        let segmentsBefore = log.segmentBaseOffsets.count
        #expect(try log.deleteRecords(before: 21) == 21)
        #expect(log.logStartOffset == 21)
        #expect(log.segmentBaseOffsets.count < segmentsBefore)
        #expect { try log.read(from: 20, maxBytes: 100) } throws: { ($0 as? StorageError)?.isOffsetOutOfRange == true }
        #expect(try readAll(log).first?.header.lastOffset ?? 0 >= 21)
        #expect { try log.deleteRecords(before: 1000) } throws: { ($0 as? StorageError)?.isOffsetOutOfRange == true }
    }

    @Test func abortedTransactionsAndLastStableOffset() throws {
        let fileSystem = InMemoryFileSystem()
        let log = try openLog(fileSystem)
        try log.append(makeBatch(count: 2))
        try log.append(makeBatch(count: 2, producerId: 7, transactional: true))
        try log.append(makeBatch(count: 1, producerId: 8, transactional: true))
        #expect(log.lastStableOffset == 2, "open transactions hold the last stable offset back")
        try log.append(ControlRecord(type: .abort, coordinatorEpoch: 0).buildBatch(producerId: 7, producerEpoch: 0, timestamp: 1))
        #expect(log.lastStableOffset == 4)
        try log.append(ControlRecord(type: .commit, coordinatorEpoch: 0).buildBatch(producerId: 8, producerEpoch: 0, timestamp: 1))
        #expect(log.lastStableOffset == log.logEndOffset)
        let data = try log.read(from: 0, maxBytes: 1 << 20, isolation: .committed)
        #expect(data.abortedTransactions == [AbortedTransaction(producerId: 7, firstOffset: 2, lastOffset: 5, lastStableOffset: 4)])
        // The index survives a restart.
        try log.close()
        let reopened = try openLog(fileSystem)
        let again = try reopened.read(from: 0, maxBytes: 1 << 20, isolation: .committed)
        #expect(again.abortedTransactions == data.abortedTransactions)
        #expect(reopened.lastStableOffset == reopened.logEndOffset)
    }
}
