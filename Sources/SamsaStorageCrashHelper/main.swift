// A child process for the kill -9 test of SamsaStorage: it appends batches to a partition log
// with fsync on every append (group commit, durability .flushed) and prints one line per
// acknowledged batch, "<first offset> <seed>", written straight to stdout. The parent kills it
// at random moments and checks that every acknowledged batch survived.
//
// Usage: SamsaStorageCrashHelper <partition directory> <batch count>
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import SamsaRecords
import SamsaStorage

let arguments = CommandLine.arguments
guard arguments.count == 3, let batchCount = Int(arguments[2]) else {
    writeLine("usage: SamsaStorageCrashHelper <partition directory> <batch count>", to: 2)
    exit(2)
}
var logger = Logger(label: "crash-helper")
logger.logLevel = .error
var config = LogConfig()
config.segmentBytes = 64 * 1024
do {
    let log = try PartitionLog.open(
        directory: arguments[1], config: config, fileSystem: PosixFileSystem(), clock: SystemClock(),
        logger: logger)
    let recordsPerBatch: Int64 = 4
    let firstSeed = Int(log.logEndOffset / recordsPerBatch)
    for seed in firstSeed..<(firstSeed + batchCount) {
        let info = try log.append(CrashTestBatch.make(seed: seed), durability: .flushed)
        writeLine("\(info.firstOffset) \(seed)", to: 1)
    }
    try log.close()
} catch {
    writeLine("crash helper failed: \(error)", to: 2)
    exit(1)
}

/// Writes a line straight to a file descriptor: no stdio buffer, so an acknowledgement is in
/// the pipe before the next append starts.
func writeLine(_ line: String, to descriptor: Int32) {
    let bytes = Array((line + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let written = bytes[done...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if written <= 0 { return }
        done += written
    }
}

/// The batch the helper writes for a seed; the test builds the same bytes to compare.
enum CrashTestBatch {
    static func make(seed: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for index in 0..<4 {
            let value = (0..<(100 + seed % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ index) }
            builder.append(
                key: ByteBuffer(string: "key-\(seed)"), value: ByteBuffer(bytes: value), timestamp: Int64(seed) * 10 + Int64(index))
        }
        return try! builder.build()
    }
}
