import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SamsaStorage
import Testing

@testable import SamsaBroker

/// The system clock's wake-ups: a timer of the event loop they are armed on, or a sleeping task
/// elsewhere. Each test waits for a wake-up to happen, never for a duration; their deadlines
/// are a few milliseconds away, so they end quickly.
@Suite("ClockWakeUp")
struct ClockWakeUpTests {
    @Test("armed on an event loop, the wake-up fires on that loop")
    func firesOnItsLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let clock = SystemClock()
        let fired = loop.makePromise(of: Bool.self)
        try await loop.submit {
            _ = clock.wake(atMilliseconds: clock.nowMilliseconds() + 2) {
                fired.succeed(loop.inEventLoop)
            }
        }.get()
        #expect(try await fired.futureResult.get(), "the action runs on the loop that armed it")
        try await group.shutdownGracefully()
    }

    @Test("a wake-up cancelled from another thread never fires")
    func cancelledNeverFires() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let clock = SystemClock()
        let cancelledFired = NIOLockedValueBox(false)
        let armed = NIOLockedValueBox<ClockWakeUp?>(nil)
        let later = loop.makePromise(of: Void.self)
        // 1: armed; 2: cancelled. The loop stays in this task until the cancel, so its timers
        // cannot run before it, however slowly this thread gets to it.
        let handOff = ConditionLock(value: 0)
        loop.execute {
            let now = clock.nowMilliseconds()
            armed.withLockedValue { $0 = clock.wake(atMilliseconds: now + 1) { cancelledFired.withLockedValue { $0 = true } } }
            // A loop runs its timers in deadline order: had the first one stayed armed, it
            // would have fired before this one.
            _ = clock.wake(atMilliseconds: now + 2) { later.succeed() }
            handOff.lock()
            handOff.unlock(withValue: 1)
            handOff.lock(whenValue: 2)
            handOff.unlock()
        }
        handOff.lock(whenValue: 1)
        handOff.unlock()
        // Cancelled from another thread, as a fetch's timer is when an append wakes the fetch.
        armed.withLockedValue { $0 }?.cancel()
        handOff.lock()
        handOff.unlock(withValue: 2)
        try await later.futureResult.get()
        #expect(cancelledFired.withLockedValue { $0 } == false)
        try await group.shutdownGracefully()
    }

    @Test("off an event loop, the wake-up is a task sleeping on the clock")
    func firesOffLoop() async throws {
        let clock = SystemClock()
        #expect(MultiThreadedEventLoopGroup.currentEventLoop == nil)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            _ = clock.wake(atMilliseconds: clock.nowMilliseconds() + 1) { continuation.resume() }
        }
    }

    @Test("a long poll on an event loop times out on the loop's timer")
    func longPollTimesOut() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let clock = SystemClock()
        let notifier = AppendNotifier(clock: clock)
        let partition = TopicPartition(topic: "quiet", partition: 0)
        // Where a connection's reading loop runs its fetches.
        let reason = await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            #expect(loop.inEventLoop)
            return await notifier.wait(for: [partition], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 2)
        }
        #expect(reason == .timedOut)
        #expect(notifier.waiterCount == 0)
        try await group.shutdownGracefully()
    }
}
