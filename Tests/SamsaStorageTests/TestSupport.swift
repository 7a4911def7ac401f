import SamsaTesting
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import SamsaRecords
@testable import SamsaStorage

/// A fresh temporary directory, removed by `cleanUp()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/samsa-storage-test-XXXXXX".utf8CString)
        let result = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(result != nil, "mkdtemp failed")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func cleanUp() {
        try? PosixFileSystem().removeDirectory(at: path)
    }
}

/// A batch of `count` records with values of `valueSize` bytes, as a producer would send it.
func makeBatch(
    count: Int = 3, valueSize: Int = 16, timestamp: Int64 = 1_700_000_000_000, keys: [String?]? = nil,
    values: [String?]? = nil, producerId: Int64 = -1, transactional: Bool = false, compression: CompressionCodec = .none,
    seed: Int = 0
) -> ByteBuffer {
    var builder = RecordBatchBuilder(compression: compression)
    builder.producerId = producerId
    builder.producerEpoch = producerId >= 0 ? 0 : -1
    builder.baseSequence = producerId >= 0 ? 0 : -1
    builder.isTransactional = transactional
    for index in 0..<count {
        let key = keys?[index].map { ByteBuffer(string: $0) }
        let value: ByteBuffer?
        if let values {
            value = values[index].map { ByteBuffer(string: $0) }
        } else {
            value = ByteBuffer(bytes: (0..<valueSize).map { UInt8(truncatingIfNeeded: $0 &+ index &* 7 &+ seed) })
        }
        builder.append(key: key, value: value, timestamp: timestamp + Int64(index))
    }
    return try! builder.build()
}

/// The batches laid end to end in `buffer`.
func batches(in buffer: ByteBuffer) throws -> [RecordBatch] {
    var scanner = RecordBatchScanner(buffer, allowsTrailingPartialBatch: true)
    var result: [RecordBatch] = []
    while let batch = try scanner.nextBatch() { result.append(batch) }
    return result
}

/// Every batch of the log from its start, read through the public API.
func readAll(_ log: PartitionLog, isolation: FetchIsolation = .logEnd) throws -> [RecordBatch] {
    var offset = log.logStartOffset
    var result: [RecordBatch] = []
    while offset < log.logEndOffset {
        let data = try log.read(from: offset, maxBytes: 1 << 20, isolation: isolation)
        let found = try batches(in: try data.readRecords())
        guard let last = found.last else { break }
        result.append(contentsOf: found)
        offset = last.header.nextOffset
    }
    return result
}

/// The record values of a batch as byte arrays.
func values(of batch: RecordBatch) throws -> [[UInt8]?] {
    try batch.decodeRecords(maxDecompressedBytes: 1 << 24).map { $0.value.map { Array($0.readableBytesView) } }
}

/// The seed of a randomized test, printed (see ``TestSeed/printed(for:)``).
func testSeed(_ test: String) -> UInt64 { TestSeed.printed(for: test) }

/// The storage tests' name for the shared reproducible generator.
typealias SeededGenerator = SplitMix64

/// A small-segment configuration so tests roll often.
func smallConfig(segmentBytes: Int = 4096, indexInterval: Int = 256) -> LogConfig {
    var config = LogConfig()
    config.segmentBytes = segmentBytes
    config.indexIntervalBytes = indexInterval
    config.retentionMilliseconds = nil
    return config
}
