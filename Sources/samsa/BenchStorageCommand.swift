import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaRecords
import SamsaStorage

/// `samsa bench storage`: append and read throughput of the partition log, next to the raw
/// write speed of the same disk measured in the same run.
struct BenchStorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Measure partition-log append and read throughput against raw file writes.",
        discussion: """
            For 1 KiB records in batches of 16 KiB and 1 MiB: raw sequential pwrite to a plain \
            file without and with fsync after each write; log appends without flush, with an \
            fsync per append (one writer) and with group commit (8 concurrent writers waiting \
            for durability); then a sequential read of the log. Each measurement runs for \
            --seconds or --megabytes, whichever ends first, in a fresh directory under \
            --directory. Figures are MB/s (10^6 bytes per second). Build with -c release.
            """
    )

    @Option(help: "Directory for the benchmark files (removed afterwards).")
    var directory = "/tmp/samsa-bench-storage"

    @Option(help: "Maximum seconds per measurement.")
    var seconds = 3.0

    @Option(help: "Maximum megabytes written per measurement.")
    var megabytes = 1024

    @Option(help: "Concurrent writers for the group-commit measurement.")
    var writers = 8

    func validate() throws {
        guard seconds > 0, megabytes > 0, writers > 0 else {
            throw ValidationError("--seconds, --megabytes and --writers must be positive")
        }
    }

    func run() throws {
        let fileSystem = PosixFileSystem()
        if fileSystem.exists(at: directory) { try fileSystem.removeDirectory(at: directory) }
        try fileSystem.createDirectory(at: directory)
        defer { try? fileSystem.removeDirectory(at: directory) }
        print("samsa bench storage: 1 KiB records, \(seconds) s or \(megabytes) MB per measurement, in \(directory)")
        print("measurement                                   16 KiB batches   1 MiB batches")
        let batches = [Self.batch(bytes: 16 * 1024), Self.batch(bytes: 1024 * 1024)]
        var results: [String: [Double]] = [:]
        func row(_ name: String, _ measure: (ByteBuffer, String) throws -> Double) rethrows {
            var figures: [Double] = []
            for (index, batch) in batches.enumerated() {
                let path = StoragePath.join(directory, "run-\(results.count)-\(index)")
                figures.append(try measure(batch, path))
                if fileSystem.exists(at: path) {
                    if fileSystem.isDirectory(at: path) {
                        try? fileSystem.removeDirectory(at: path)
                    } else {
                        try? fileSystem.removeFile(at: path)
                    }
                }
            }
            results[name] = figures
            print(
                name.rightPadded(to: 44)
                    + figures.map { Self.format($0).leftPadded(to: 16) }.joined())
        }
        try row("raw write, no fsync") { batch, path in try rawWrite(batch, path: path, fsync: false) }
        try row("raw write, fsync per write") { batch, path in try rawWrite(batch, path: path, fsync: true) }
        try row("raw write, fsync per \(writers) writes") { batch, path in
            try rawWrite(batch, path: path, fsync: true, writesPerSync: writers)
        }
        try row("log append, no flush") { batch, path in try append(batch, path: path, writers: 1, durability: .written) }
        try row("log append, fsync per append (1 writer)") { batch, path in try append(batch, path: path, writers: 1, durability: .flushed)
        }
        try row("log append, group commit (\(writers) writers)") { batch, path in
            try append(batch, path: path, writers: writers, durability: .flushed)
        }
        try row("log sequential read") { batch, path in try sequentialRead(batch, path: path) }
        let raw = results["raw write, no fsync"]!
        let rawSync = results["raw write, fsync per write"]!
        let noFlush = results["log append, no flush"]!
        let group = results["log append, group commit (\(writers) writers)"]!
        print(
            "append without flush / raw write:             " + zip(noFlush, raw).map { Self.percent($0 / $1).leftPadded(to: 16) }.joined())
        print("group commit / raw write (no fsync):          " + zip(group, raw).map { Self.percent($0 / $1).leftPadded(to: 16) }.joined())
        print(
            "group commit / raw write (fsync per write):   " + zip(group, rawSync).map { Self.percent($0 / $1).leftPadded(to: 16) }.joined()
        )
        let rawGroup = results["raw write, fsync per \(writers) writes"]!
        print(
            "group commit / raw write (fsync per \(writers) writes): "
                + zip(group, rawGroup).map { Self.percent($0 / $1).leftPadded(to: 16) }.joined())
    }

    /// A batch of 1 KiB records, about `bytes` long.
    static func batch(bytes: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var index = 0
        while builder.uncompressedSize + 1024 + 20 <= bytes {
            let value = (0..<1024).map { _ -> UInt8 in
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return UInt8(truncatingIfNeeded: state >> 56) % 26 + 97
            }
            builder.append(key: ByteBuffer(string: "k\(index % 1000)"), value: ByteBuffer(bytes: value), timestamp: 1_700_000_000_000)
            index += 1
        }
        return try! builder.build()
    }

    /// Runs `body` repeatedly until the time or byte budget is spent; returns MB/s.
    private func timed(bytesPerCall: Int, _ body: () throws -> Void) rethrows -> Double {
        let limit = Int64(megabytes) * 1_000_000
        let start = Self.now()
        var written: Int64 = 0
        while written < limit, Self.now() - start < seconds {
            try body()
            written += Int64(bytesPerCall)
        }
        return Double(written) / 1e6 / (Self.now() - start)
    }

    /// Sequential pwrite of `batch` to a plain file, with an fsync every `writesPerSync` writes
    /// when `fsync` (the ideal that group commit of that many writers approaches).
    private func rawWrite(_ batch: ByteBuffer, path: String, fsync: Bool, writesPerSync: Int = 1) throws -> Double {
        let file = try PosixFileSystem().openFile(at: path, create: true)
        var position: Int64 = 0
        var count = 0
        return try timed(bytesPerCall: batch.readableBytes) {
            try file.write(batch, at: position)
            position += Int64(batch.readableBytes)
            count += 1
            if fsync, count % writesPerSync == 0 { try file.sync() }
        }
    }

    private func openLog(_ path: String) throws -> PartitionLog {
        var config = LogConfig()
        config.maxBatchBytes = 2 << 20
        config.retentionMilliseconds = nil
        var logger = Logger(label: "samsa.bench")
        logger.logLevel = .warning
        return try PartitionLog.open(directory: path, config: config, fileSystem: PosixFileSystem(), clock: SystemClock(), logger: logger)
    }

    private func append(_ batch: ByteBuffer, path: String, writers: Int, durability: AppendDurability) throws -> Double {
        let log = try openLog(path)
        defer { try? log.close() }
        guard writers > 1 else {
            return try timed(bytesPerCall: batch.readableBytes) { try log.append(batch, durability: durability) }
        }
        let limit = Int64(megabytes) * 1_000_000
        let deadline = Self.now() + seconds
        let written = NIOLockedValueBox<Int64>(0)
        let start = Self.now()
        let threads = (0..<writers).map { _ in
            BenchThread {
                while Self.now() < deadline, written.withLockedValue({ $0 }) < limit {
                    do { try log.append(batch, durability: durability) } catch { fatalError("append failed: \(error)") }
                    written.withLockedValue { $0 += Int64(batch.readableBytes) }
                }
            }
        }
        for thread in threads { thread.join() }
        return Double(written.withLockedValue { $0 }) / 1e6 / (Self.now() - start)
    }

    private func sequentialRead(_ batch: ByteBuffer, path: String) throws -> Double {
        let log = try openLog(path)
        defer { try? log.close() }
        let target = Int64(min(megabytes, 512)) * 1_000_000
        while log.size < target { try log.append(batch) }
        try log.flush()
        let start = Self.now()
        var offset = log.logStartOffset
        var bytes = 0
        while offset < log.logEndOffset {
            let data = try log.read(from: offset, maxBytes: 1 << 20)
            let buffer = try data.readRecords()
            var scanner = RecordBatchScanner(buffer, allowsTrailingPartialBatch: true)
            var next = offset
            while let (_, header) = try scanner.next() { next = header.nextOffset }
            guard next > offset else { break }
            bytes += buffer.readableBytes - scanner.trailingPartialBytes
            offset = next
        }
        return Double(bytes) / 1e6 / (Self.now() - start)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) MB/s"
    }

    static func percent(_ ratio: Double) -> String {
        "\(Int((ratio * 100).rounded())) %"
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }

    fileprivate func rightPadded(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}

/// A POSIX thread running one closure, for the concurrent writers.
private final class BenchThread: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<BenchThread>.fromOpaque(context!).takeRetainedValue().body()
                return nil
            }, context)
        precondition(result == 0, "pthread_create failed")
    }

    func join() { pthread_join(thread, nil) }
}
