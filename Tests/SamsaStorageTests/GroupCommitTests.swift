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
    @Test func concurrentDurableAppendsShareFsyncs() throws {
        let fileSystem = FaultyFileSystem()
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(segmentBytes: 1 << 20), fileSystem: fileSystem,
                                        clock: ManualClock())
        let writers = 8
        let appendsPerWriter = 50
        let acknowledged = NIOLockedValueBox<[Int64]>([])
        let threads = (0..<writers).map { writer in
            ThreadHandle.spawn {
                for index in 0..<appendsPerWriter {
                    let info = try! log.append(makeBatch(count: 1, seed: writer * 1000 + index), durability: .flushed)
                    // Acknowledged means durable: the recovery point covers the batch.
                    precondition(log.recoveryPoint > info.lastOffset)
                    acknowledged.withLockedValue { $0.append(info.firstOffset) }
                }
            }
        }
        for thread in threads { thread.join() }
        let syncs = fileSystem.operationCounts.syncs
        #expect(acknowledged.withLockedValue { $0.count } == writers * appendsPerWriter)
        #expect(syncs < writers * appendsPerWriter, "fsyncs were shared (\(syncs) for \(writers * appendsPerWriter) appends)")
        fileSystem.crash()
        let reopened = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(segmentBytes: 1 << 20), fileSystem: fileSystem,
                                             clock: ManualClock())
        #expect(reopened.logEndOffset == Int64(writers * appendsPerWriter), "every acknowledged append survived the crash")
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
        let result = pthread_create(&handle.thread, nil, { context in
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
