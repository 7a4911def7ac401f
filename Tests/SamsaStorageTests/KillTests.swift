#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore
import SamsaRecords
import Testing
import SamsaTesting
@testable import SamsaStorage

/// kill -9 of a real process appending with fsync per append: every acknowledged batch must be
/// there after reopening, byte-exact, with no gap before it.
@Suite struct KillTests {
    /// The helper executable sits next to the test bundle in the build directory.
    static var helperPath: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let executable =
            length > 0
            ? String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : CommandLine.arguments[0]
        return StoragePath.join(StoragePath.parent(executable), "SamsaStorageCrashHelper")
    }

    /// Same bytes as the helper's `CrashTestBatch.make(seed:)`.
    static func expectedBatch(seed: Int) -> ByteBuffer {
        var builder = RecordBatchBuilder()
        for index in 0..<4 {
            let value = (0..<(100 + seed % 300)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &+ index) }
            builder.append(
                key: ByteBuffer(string: "key-\(seed)"), value: ByteBuffer(bytes: value), timestamp: Int64(seed) * 10 + Int64(index))
        }
        return try! builder.build()
    }

    @Test(.timeLimit(.minutes(1)))
    func killDuringFlushedAppendsLosesNothingAcknowledged() throws {
        let helper = Self.helperPath
        try #require(access(helper, X_OK) == 0, "helper not built at \(helper)")
        let directory = TemporaryDirectory()
        defer { directory.cleanUp() }
        let partition = directory.path + "/t-0"
        var random = SeededGenerator(seed: testSeed("KillTests"))
        var acknowledged: [Int64: Int] = [:]
        for _ in 0..<4 {
            let lines = try runAndKill(
                helper, arguments: [partition, "100000"],
                afterMilliseconds: Int.random(in: 50...400, using: &random))
            for line in lines {
                let fields = line.split(separator: " ")
                try #require(fields.count == 2)
                acknowledged[Int64(fields[0])!] = Int(fields[1])!
            }
            // Reopen as the broker would after the crash and check every acknowledged batch.
            let log = try PartitionLog.open(directory: partition, fileSystem: PosixFileSystem(), clock: SystemClock())
            let stored = try readAll(log)
            for (previous, next) in zip(stored, stored.dropFirst()) {
                #expect(previous.header.nextOffset == next.header.baseOffset, "no gap in the log")
            }
            let byOffset = Dictionary(stored.map { ($0.header.baseOffset, $0) }, uniquingKeysWith: { first, _ in first })
            for (offset, seed) in acknowledged {
                let batch = try #require(byOffset[offset], "acknowledged batch at \(offset) lost")
                var expected = Self.expectedBatch(seed: seed)
                expected.setRecordBatchBaseOffset(offset, at: expected.readerIndex)
                #expect(batch.bytes == expected, "batch at \(offset) differs")
            }
            try log.close()
        }
        #expect(!acknowledged.isEmpty, "the helper acknowledged appends before being killed")
    }

    /// Starts `path`, collects its stdout lines, kills it with SIGKILL after `milliseconds`
    /// and returns the complete lines it printed.
    func runAndKill(_ path: String, arguments: [String], afterMilliseconds milliseconds: Int) throws -> [String] {
        var pipeEnds: [Int32] = [0, 0]
        try #require(pipe(&pipeEnds) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        close(pipeEnds[1])
        try #require(spawned == 0, "posix_spawn failed: \(spawned)")
        usleep(useconds_t(milliseconds * 1000))
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        // Everything the child printed before dying is in the pipe.
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(pipeEnds[0], &chunk, chunk.count)
            if count <= 0 { break }
            output.append(contentsOf: chunk[0..<count])
        }
        close(pipeEnds[0])
        let text = String(decoding: output, as: UTF8.self)
        // A line cut by the kill has no newline; it was not acknowledged in full.
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast()
        return lines.filter { !$0.isEmpty }
    }
}
