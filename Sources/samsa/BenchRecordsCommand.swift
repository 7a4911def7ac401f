import ArgumentParser
import NIOCore
import SamsaBinary
import SamsaRecords

/// `samsa bench records`: throughput of record-batch decoding, CRC32C and the compression codecs.
struct BenchRecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records",
        abstract: "Measure record-batch decode, CRC32C and compression throughput.",
        discussion: """
            Builds batches of uncompressed records in memory, then times: decoding them (header \
            parse, CRC-32C check and record iteration), raw CRC-32C over a large buffer, and \
            compressing and decompressing the same record bytes with each codec. Figures are in \
            MB/s (10^6 bytes per second) of uncompressed data. Build with -c release.
            """
    )

    @Option(help: "Number of batches to build and decode per pass.")
    var batches = 2_000

    @Option(help: "Size of each record's value in bytes.")
    var recordSize = 1_024

    @Option(help: "Target size of each batch in bytes.")
    var batchSize = 16_384

    @Option(help: "Minimum seconds to spend on each measurement.")
    var seconds = 1.0

    func validate() throws {
        guard batches > 0, recordSize > 0, batchSize >= recordSize, seconds > 0 else {
            throw ValidationError("--batches, --record-size and --seconds must be positive, and --batch-size at least --record-size")
        }
    }

    func run() throws {
        let recordsPerBatch = max(1, batchSize / recordSize)
        var generator = BenchGenerator(seed: 42)
        var log = ByteBuffer()
        var plainRecords = ByteBuffer()
        for batchIndex in 0..<batches {
            var builder = RecordBatchBuilder()
            builder.baseOffset = Int64(batchIndex * recordsPerBatch)
            for index in 0..<recordsPerBatch {
                let value = ByteBuffer(bytes: generator.text(count: recordSize))
                builder.append(key: ByteBuffer(string: "key-\(index)"), value: value, timestamp: 1_700_000_000_000 + Int64(index))
            }
            var batch = try builder.build()
            plainRecords.writeImmutableBuffer(
                batch.getSlice(at: RecordBatchHeader.size, length: batch.readableBytes - RecordBatchHeader.size)!)
            log.writeBuffer(&batch)
        }
        let totalRecords = batches * recordsPerBatch
        print(
            "samsa bench records: \(batches) batches of \(log.readableBytes / batches) bytes, \(recordsPerBatch) records of \(recordSize) bytes each"
        )

        let decode = try measure(bytes: log.readableBytes) {
            var scanner = RecordBatchScanner(log, verifiesChecksums: true)
            var seen = 0
            while let batch = try scanner.nextBatch() {
                var records = try batch.records(maxDecompressedBytes: batchSize * 4)
                while let record = try records.next() { seen += record.value?.readableBytes == recordSize ? 1 : 0 }
            }
            guard seen == totalRecords else { throw ValidationError("decoded \(seen) of \(totalRecords) records") }
        }
        let recordsPerSecond = Double(totalRecords) * decode.passes / decode.elapsed
        print(
            format("record batch decode (header + CRC + records)", decode.megabytesPerSecond)
                + "  \(format(recordsPerSecond / 1e6, digits: 2)) M records/s")

        let expectedCRC = CRC32C.checksum(log)
        let crc = try measure(bytes: log.readableBytes) {
            guard CRC32C.checksum(log) == expectedCRC else { throw ValidationError("CRC-32C is not deterministic") }
        }
        print(format("CRC-32C (hardware: \(CRC32C.isHardwareAccelerated ? "yes" : "no"))", crc.megabytesPerSecond))

        print("codec    ratio  compress MB/s  decompress MB/s   (\(plainRecords.readableBytes / 1_000_000) MB of record data)")
        for codec in CompressionCodec.allCases where codec != .none {
            guard codec.systemLibrary?.isAvailable ?? true else {
                print("\(codec.description.padding(8))  library \(codec.systemLibrary!.fileName) not available")
                continue
            }
            var compressed = ByteBuffer()
            let compress = try measure(bytes: plainRecords.readableBytes) { compressed = try codec.compress(plainRecords) }
            let decompress = try measure(bytes: plainRecords.readableBytes) {
                let output = try codec.decompress(compressed, maxDecompressedBytes: plainRecords.readableBytes)
                guard output.readableBytes == plainRecords.readableBytes else { throw ValidationError("\(codec) round trip lost bytes") }
            }
            let ratio = Double(plainRecords.readableBytes) / Double(compressed.readableBytes)
            print(
                "\(codec.description.padding(8)) \(format(ratio, digits: 2).leftPadding(5))  \(format(compress.megabytesPerSecond, digits: 1).leftPadding(13))  \(format(decompress.megabytesPerSecond, digits: 1).leftPadding(15))"
            )
        }
    }

    struct Measurement {
        var passes: Double
        var elapsed: Double
        var bytes: Int
        var megabytesPerSecond: Double { Double(bytes) * passes / elapsed / 1e6 }
    }

    /// Runs `body` once to warm up, then repeatedly until `seconds` have passed.
    func measure(bytes: Int, _ body: () throws -> Void) throws -> Measurement {
        try body()
        let clock = ContinuousClock()
        let start = clock.now
        var passes = 0
        var elapsed = 0.0
        repeat {
            try body()
            passes += 1
            let duration = clock.now - start
            elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        } while elapsed < seconds
        return Measurement(passes: Double(passes), elapsed: elapsed, bytes: bytes)
    }

    private func format(_ label: String, _ megabytesPerSecond: Double) -> String {
        "\(label.padding(46)) \(format(megabytesPerSecond, digits: 1).leftPadding(9)) MB/s"
    }

    private func format(_ value: Double, digits: Int) -> String {
        let scale = (0..<digits).reduce(1.0) { value, _ in value * 10 }
        let rounded = (value * scale).rounded() / scale
        var text = "\(rounded)"
        if let dot = text.firstIndex(of: ".") {
            let decimals = text.distance(from: dot, to: text.endIndex) - 1
            if decimals < digits { text += String(repeating: "0", count: digits - decimals) }
        }
        return text
    }
}

/// Record values that look like log lines: compressible, but not trivially.
private struct BenchGenerator {
    var state: UInt64
    private let words = [
        "order", "created", "user", "4711", "eu-west-1", "payment", "ok", "retry", "{\"id\":", "}", "2024-05-01T12:00:00Z", "amount",
    ]
    .map { Array($0.utf8) }

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }

    mutating func text(count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 32)
        while out.count < count {
            if next() % 4 == 0 {
                out += String(next() % 1_000_000).utf8
            } else {
                out += words[Int(next() % UInt64(words.count))]
            }
            out.append(0x20)
        }
        return Array(out.prefix(count))
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    fileprivate func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
