import NIOCore
import SamsaBinary
import Testing

@testable import SamsaRecords

@Suite("Record batch scanner")
struct RecordBatchScannerTests {
    static func batches(_ count: Int) throws -> (ByteBuffer, [Int]) {
        var buffer = ByteBuffer()
        var starts: [Int] = []
        for index in 0..<count {
            var builder = RecordBatchBuilder(compression: index % 2 == 0 ? .none : .lz4)
            builder.baseOffset = Int64(index * 10)
            for record in 0..<(index + 1) {
                builder.append(key: nil, value: ByteBuffer(string: "record \(record)"), timestamp: Int64(record))
            }
            starts.append(buffer.writerIndex)
            var bytes = try builder.build()
            buffer.writeBuffer(&bytes)
        }
        return (buffer, starts)
    }

    @Test func yieldsEveryBatchInOrder() throws {
        let (buffer, starts) = try Self.batches(5)
        var scanner = RecordBatchScanner(buffer, verifiesChecksums: true)
        var seen: [(Int, Int64)] = []
        while let (index, header) = try scanner.next() {
            seen.append((index, header.baseOffset))
        }
        #expect(seen.map(\.0) == starts)
        #expect(seen.map(\.1) == [0, 10, 20, 30, 40])
        #expect(scanner.batchCount == 5 && scanner.trailingPartialBytes == 0)
        #expect(try decodeEverything(buffer) == 15)
    }

    @Test func emptyInputHasNoBatches() throws {
        var scanner = RecordBatchScanner(ByteBuffer())
        #expect(try scanner.next() == nil)
    }

    @Test func everyCutPointIsATruncationOrATolerablePartialBatch() throws {
        let (buffer, starts) = try Self.batches(3)
        let total = buffer.readableBytes
        let ends = Array(starts.dropFirst()) + [total]
        for cut in 0..<total {
            let cutBuffer = buffer.getSlice(at: 0, length: cut)!
            let wholeBatches = ends.filter { $0 <= cut }.count
            let lastEnd = wholeBatches == 0 ? 0 : ends[wholeBatches - 1]

            var strict = RecordBatchScanner(cutBuffer)
            var strictCount = 0
            do {
                while try strict.next() != nil { strictCount += 1 }
                #expect(cut == lastEnd, "cut \(cut) must fail")
            } catch {
                #expect(error.isTruncation, "cut \(cut): \(error)")
                #expect(strictCount == wholeBatches)
            }

            var lenient = RecordBatchScanner(cutBuffer, allowsTrailingPartialBatch: true, verifiesChecksums: true)
            var lenientCount = 0
            while try lenient.next() != nil { lenientCount += 1 }
            #expect(lenientCount == wholeBatches, "cut \(cut)")
            #expect(lenient.trailingPartialBytes == cut - lastEnd)

            if cut > lastEnd {
                #expect(throws: WireFormatError.self) { try RecordBatch(cutBuffer.getSlice(at: lastEnd, length: cut - lastEnd)!) }
            }
        }
    }

    @Test func corruptBatchesStopTheScanWithContext() throws {
        let (buffer, starts) = try Self.batches(3)
        var badLength = buffer
        badLength.setInteger(Int32(10), at: starts[1] + 8, endianness: .big)
        var scanner = RecordBatchScanner(badLength, allowsTrailingPartialBatch: true)
        #expect(try scanner.next() != nil)
        let error = #expect(throws: WireFormatError.self) { try scanner.next() }
        #expect(error?.description.contains("batch 1") == true)
        // A failed scan stays failed.
        #expect(throws: WireFormatError.self) { try scanner.next() }

        var badCRC = buffer
        badCRC.setInteger(UInt8(0xFF), at: starts[2] + 70)
        var verifying = RecordBatchScanner(badCRC, verifiesChecksums: true)
        _ = try verifying.next()
        _ = try verifying.next()
        #expect(throws: WireFormatError.self) { try verifying.next() }

        var badMagic = buffer
        badMagic.setInteger(UInt8(1), at: starts[1] + 16)
        var magicScanner = RecordBatchScanner(badMagic, allowsTrailingPartialBatch: true)
        _ = try magicScanner.next()
        #expect(throws: WireFormatError.self) { try magicScanner.next() }
    }
}
