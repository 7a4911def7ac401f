import NIOConcurrencyHelpers
import NIOCore
import Testing
@testable import SamsaStorage
import SamsaTesting

/// ``PartitionLog/notifyWhenDurable(_:completion:)``: waiters hold no thread, a log has one
/// flusher for all of them, and they hear success only once a fsync covers them.
@Suite struct DurabilityWaiterTests {
    /// What the completions reported, by offset waited for.
    final class Answers: Sendable {
        private let box = NIOLockedValueBox<[Int64: Result<Void, StorageError>]>([:])

        func completion(for offset: Int64) -> @Sendable (Result<Void, StorageError>) -> Void {
            { result in self.box.withLockedValue { $0[offset] = result } }
        }

        var all: [Int64: Result<Void, StorageError>] { box.withLockedValue { $0 } }

        func succeeded(_ offset: Int64) -> Bool {
            if case .success = all[offset] { return true }
            return false
        }

        func failed(_ offset: Int64) -> Bool {
            if case .failure = all[offset] { return true }
            return false
        }
    }

    /// The first waiter starts the flusher, which is held inside its fsync while seven more
    /// appends register: none of them starts another flusher or is answered early, and when the
    /// gate opens one more fsync answers all seven.
    @Test(.timeLimit(.minutes(1)))
    func waitersShareOneFlusherAndItsFsyncs() throws {
        let fileSystem = GatedFileSystem(pathContaining: LogFileNames.logSuffix)
        let log = try PartitionLog.open(
            directory: "/d/t-0", config: smallConfig(segmentBytes: 1 << 20), fileSystem: fileSystem, clock: ManualClock())
        let before = fileSystem.current
        let answers = Answers()
        fileSystem.closeGate()
        let first = try log.append(makeBatch(count: 1, seed: 0))
        #expect(log.notifyWhenDurable(first.lastOffset + 1, completion: answers.completion(for: first.lastOffset + 1)))
        let flusher = ThreadHandle.spawn { log.flushForWaiters() }
        fileSystem.waitUntil { $0.heldSyncs == 1 }
        var ends: [Int64] = []
        for seed in 1..<8 {
            let info = try log.append(makeBatch(count: 1, seed: seed))
            ends.append(info.lastOffset + 1)
            #expect(
                !log.notifyWhenDurable(info.lastOffset + 1, completion: answers.completion(for: info.lastOffset + 1)), "one flusher per log"
            )
        }
        #expect(answers.all.isEmpty, "nobody is answered before a fsync covers them")
        fileSystem.openGate()
        flusher.join()

        #expect(answers.succeeded(first.lastOffset + 1))
        for end in ends { #expect(answers.succeeded(end)) }
        #expect(log.recoveryPoint == 8)
        #expect(fileSystem.current.syncs - before.syncs == 2, "one fsync for the first waiter, one shared by the seven")
        // The flusher has ended: the next waiter starts a new one.
        let next = try log.append(makeBatch(count: 1, seed: 8))
        #expect(log.notifyWhenDurable(next.lastOffset + 1, completion: answers.completion(for: next.lastOffset + 1)))
        log.flushForWaiters()
        #expect(answers.succeeded(next.lastOffset + 1))
    }

    /// A request that became the flusher stops once its own offset is durable: a waiter that
    /// arrived during its fsync is not answered by it, and the flusher's role passes on.
    @Test(.timeLimit(.minutes(1)))
    func flusherUntilAnOffsetHandsTheRestOver() throws {
        let fileSystem = GatedFileSystem(pathContaining: LogFileNames.logSuffix)
        let log = try PartitionLog.open(
            directory: "/d/t-0", config: smallConfig(segmentBytes: 1 << 20), fileSystem: fileSystem, clock: ManualClock())
        let answers = Answers()
        fileSystem.closeGate()
        let first = try log.append(makeBatch(count: 1, seed: 0))
        let firstEnd = first.lastOffset + 1
        #expect(log.notifyWhenDurable(firstEnd, completion: answers.completion(for: firstEnd)))
        let handedOver = NIOLockedValueBox<Bool?>(nil)
        let flusher = ThreadHandle.spawn {
            let result = log.flushForWaiters(until: firstEnd)
            handedOver.withLockedValue { $0 = result }
        }
        fileSystem.waitUntil { $0.heldSyncs == 1 }
        let second = try log.append(makeBatch(count: 1, seed: 1))
        let secondEnd = second.lastOffset + 1
        #expect(!log.notifyWhenDurable(secondEnd, completion: answers.completion(for: secondEnd)), "a flusher is running")
        fileSystem.openGate()
        flusher.join()

        #expect(answers.succeeded(firstEnd))
        #expect(answers.all[secondEnd] == nil, "the second waiter needs a fsync the first flusher did not do")
        #expect(handedOver.withLockedValue { $0 } == true)
        #expect(log.flushForWaiters() == false)
        #expect(answers.succeeded(secondEnd))
        #expect(log.recoveryPoint == secondEnd)
    }

    /// Without waiters left, a flusher until an offset ends like any other.
    @Test func flusherUntilAnOffsetEndsWhenNoWaiterIsLeft() throws {
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(), fileSystem: InMemoryFileSystem(), clock: ManualClock())
        let info = try log.append(makeBatch(count: 2))
        let answers = Answers()
        #expect(log.notifyWhenDurable(info.lastOffset + 1, completion: answers.completion(for: info.lastOffset + 1)))
        #expect(log.flushForWaiters(until: info.lastOffset + 1) == false)
        #expect(answers.succeeded(info.lastOffset + 1))
        let next = try log.append(makeBatch(count: 1, seed: 3))
        #expect(log.notifyWhenDurable(next.lastOffset + 1, completion: answers.completion(for: next.lastOffset + 1)), "a new flusher")
        log.flushForWaiters()
    }

    @Test func durableOffsetsAreAnsweredAtOnce() throws {
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(), fileSystem: InMemoryFileSystem(), clock: ManualClock())
        let info = try log.append(makeBatch(count: 3), durability: .flushed)
        let answers = Answers()
        #expect(!log.notifyWhenDurable(info.lastOffset + 1, completion: answers.completion(for: info.lastOffset + 1)))
        #expect(answers.succeeded(info.lastOffset + 1), "answered before returning, no flusher needed")
    }

    /// A failed fsync answers the waiters it was for with the failure, later waiters at once,
    /// and data that was durable before still as durable.
    @Test func failedFsyncAnswersWaitersWithTheFailure() throws {
        let fileSystem = FaultyFileSystem()
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(), fileSystem: fileSystem, clock: ManualClock())
        let durable = try log.append(makeBatch(), durability: .flushed)
        let pending = try log.append(makeBatch())
        let answers = Answers()
        fileSystem.failNextSync()
        #expect(log.notifyWhenDurable(pending.lastOffset + 1, completion: answers.completion(for: pending.lastOffset + 1)))
        log.flushForWaiters()
        #expect(answers.failed(pending.lastOffset + 1))
        #expect(!log.notifyWhenDurable(pending.lastOffset + 1, completion: answers.completion(for: -1)))
        #expect(answers.failed(-1), "a failed log answers later waiters at once")
        #expect(!log.notifyWhenDurable(durable.lastOffset + 1, completion: answers.completion(for: durable.lastOffset + 1)))
        #expect(answers.succeeded(durable.lastOffset + 1), "durable before the failure stays durable")
    }

    /// A log abandoned (as in a crash) between a waiter's registration and its flusher's run:
    /// the flusher answers the waiter with the closed log's error rather than leave it waiting.
    @Test func abandonedLogAnswersItsWaiters() throws {
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(), fileSystem: InMemoryFileSystem(), clock: ManualClock())
        let info = try log.append(makeBatch())
        let answers = Answers()
        #expect(log.notifyWhenDurable(info.lastOffset + 1, completion: answers.completion(for: info.lastOffset + 1)))
        log.abandon()
        log.flushForWaiters()
        #expect(answers.failed(info.lastOffset + 1))
    }

    /// Closing flushes: a waiter registered before the close hears success from its flusher.
    @Test func closedLogAnswersWhatTheCloseMadeDurable() throws {
        let log = try PartitionLog.open(directory: "/d/t-0", config: smallConfig(), fileSystem: InMemoryFileSystem(), clock: ManualClock())
        let info = try log.append(makeBatch())
        let answers = Answers()
        #expect(log.notifyWhenDurable(info.lastOffset + 1, completion: answers.completion(for: info.lastOffset + 1)))
        try log.close()
        log.flushForWaiters()
        #expect(answers.succeeded(info.lastOffset + 1))
    }
}
