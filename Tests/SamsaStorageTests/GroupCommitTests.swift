import NIOConcurrencyHelpers
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import SamsaStorage
import SamsaTesting

@Suite struct GroupCommitTests {
    /// The first writer's fsync is held at a gate while seven more writers append: when it is
    /// let through, exactly one more fsync covers all seven. The test decides the interleaving
    /// (it waits for the held sync and for the writes), so the count is exact every run.
    @Test(.timeLimit(.minutes(1)))
    func concurrentDurableAppendsShareFsyncs() throws {
        let fileSystem = GatedFileSystem(pathContaining: LogFileNames.logSuffix)
        let config = smallConfig(segmentBytes: 1 << 20)
        let log = try PartitionLog.open(directory: "/d/t-0", config: config, fileSystem: fileSystem, clock: ManualClock())
        let before = fileSystem.current
        let writers = 8
        let acknowledged = NIOLockedValueBox<[(offset: Int64, durable: Bool)]>([])
        let writer = { @Sendable (seed: Int) in
            ThreadHandle.spawn {
                let info = try! log.append(makeBatch(count: 1, seed: seed), durability: .flushed)
                // Acknowledged means durable: the recovery point covers the batch.
                let durable = log.recoveryPoint > info.lastOffset
                acknowledged.withLockedValue { $0.append((info.firstOffset, durable)) }
            }
        }
        fileSystem.closeGate()
        // The first writer starts the flush and is held inside its fsync.
        var threads = [writer(0)]
        fileSystem.waitUntil { $0.heldSyncs == 1 }
        // The others append meanwhile (the flush runs without the log's lock) and wait for it.
        threads += (1..<writers).map { writer($0) }
        fileSystem.waitUntil { $0.writes == before.writes + writers }
        fileSystem.openGate()
        for thread in threads { thread.join() }

        let results = acknowledged.withLockedValue { $0 }
        #expect(results.count == writers)
        #expect(results.allSatisfy { $0.durable }, "every acknowledged append is covered by the recovery point")
        #expect(Set(results.map(\.offset)) == Set((0..<writers).map(Int64.init)))
        // One fsync for the first writer, one shared by the seven that appended during it.
        #expect(fileSystem.current.syncs - before.syncs == 2)

        fileSystem.base.crash()
        let reopened = try PartitionLog.open(directory: "/d/t-0", config: config, fileSystem: fileSystem.base, clock: ManualClock())
        #expect(reopened.logEndOffset == Int64(writers), "every acknowledged append survived the crash")
    }

    @Test func intervalPolicyFlushesByCountAndTime() throws {
        let clock = ManualClock()
        var config = smallConfig()
        config.flushPolicy = .interval(messages: 5, milliseconds: 1000)
        let log = try PartitionLog.open(directory: "/d/t-0", config: config, fileSystem: InMemoryFileSystem(), clock: clock)
        try log.append(makeBatch(count: 3), durability: .flushed)
        #expect(log.recoveryPoint == 0, "appends never wait under the interval policy")
        try log.append(makeBatch(count: 3))
        #expect(log.recoveryPoint == 6, "six unflushed messages reach flush.messages")
        try log.append(makeBatch(count: 1))
        #expect(try log.flushIfDue() == false)
        clock.advance(byMilliseconds: 1000)
        #expect(try log.flushIfDue() == true)
        #expect(log.recoveryPoint == 7)
    }
}

/// A plain POSIX thread for tests that need real concurrency on blocking calls.
final class ThreadHandle: @unchecked Sendable {
    private var thread = pthread_t()
    private let body: @Sendable () -> Void

    private init(body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    static func spawn(_ body: @escaping @Sendable () -> Void) -> ThreadHandle {
        let handle = ThreadHandle(body: body)
        let context = Unmanaged.passRetained(handle).toOpaque()
        let result = pthread_create(
            &handle.thread, nil,
            { context in
                let handle = Unmanaged<ThreadHandle>.fromOpaque(context!).takeRetainedValue()
                handle.body()
                return nil
            }, context)
        precondition(result == 0, "pthread_create failed")
        return handle
    }

    func join() {
        pthread_join(thread, nil)
    }
}
