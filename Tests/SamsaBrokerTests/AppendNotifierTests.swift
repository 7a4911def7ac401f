import SamsaStorage
import SamsaTesting
import Testing

@testable import SamsaBroker

/// The purgatory runs on a manual clock: a wait is parked once its timer sleeps on the clock
/// (`waitForSleepers`), and times out exactly when the clock passes its deadline.
@Suite("AppendNotifier")
struct AppendNotifierTests {
    let events = TopicPartition(topic: "events", partition: 0)
    let other = TopicPartition(topic: "other", partition: 3)

    @Test("an append to a watched partition wakes the wait; others do not")
    func wakes() async throws {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock)
        let snapshot = notifier.snapshot()
        async let reason = notifier.wait(for: [events], after: snapshot, deadline: clock.nowMilliseconds() + 20_000)
        await clock.waitForSleepers(atLeast: 1)
        #expect(notifier.waiterCount == 1)
        notifier.notifyAppended(other)
        // Waking is synchronous: had the append to `other` woken it, it would be gone now.
        #expect(notifier.waiterCount == 1)
        notifier.notifyAppended(events)
        #expect(await reason == .appended)
        #expect(notifier.waiterCount == 0)
    }

    @Test("several waits on one partition: one that times out leaves the others, an append wakes them all")
    func severalWaitersOnOnePartition() async throws {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock)
        let snapshot = notifier.snapshot()
        let start = clock.nowMilliseconds()
        async let short = notifier.wait(for: [events], after: snapshot, deadline: start + 100)
        async let first = notifier.wait(for: [events, other], after: snapshot, deadline: start + 20_000)
        async let second = notifier.wait(for: [other, events], after: snapshot, deadline: start + 20_000)
        await clock.waitForSleepers(atLeast: 3)
        #expect(notifier.waiterCount == 3)
        clock.advance(byMilliseconds: 100)
        #expect(await short == .timedOut)
        #expect(notifier.waiterCount == 2)
        notifier.notifyAppended(events)
        #expect(await first == .appended)
        #expect(await second == .appended)
        #expect(notifier.waiterCount == 0)
        // Nothing is left registered for either partition: a new wait is woken by `other` alone.
        async let third = notifier.wait(for: [other], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 20_000)
        await clock.waitForSleepers(atLeast: 1)
        notifier.notifyAppended(events)
        #expect(notifier.waiterCount == 1)
        notifier.notifyAppended(other)
        #expect(await third == .appended)
    }

    @Test("an append between the snapshot and the wait is not lost")
    func noLostWakeup() async {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock)
        let snapshot = notifier.snapshot()
        notifier.notifyAppended(events)
        #expect(await notifier.wait(for: [events], after: snapshot, deadline: clock.nowMilliseconds() + 20_000) == .appended)
        // A later snapshot does not see that append any more: the wait lasts until its deadline.
        async let later = notifier.wait(for: [events], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 50)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(byMilliseconds: 50)
        #expect(await later == .timedOut)
    }

    @Test("the wait times out at its deadline, not before, and cancelling it ends it at once")
    func timeoutAndCancel() async throws {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock)
        let deadline = clock.nowMilliseconds() + 200
        async let timedOut = notifier.wait(for: [events], after: notifier.snapshot(), deadline: deadline)
        await clock.waitForSleepers(atLeast: 1)
        clock.advance(byMilliseconds: 199)
        #expect(notifier.waiterCount == 1, "one millisecond before its deadline the fetch still waits")
        clock.advance(byMilliseconds: 1)
        #expect(await timedOut == .timedOut)

        let task = Task { await notifier.wait(for: [events], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 30_000) }
        await clock.waitForSleepers(atLeast: 1)
        task.cancel()
        #expect(await task.value == .abandoned)
        #expect(notifier.waiterCount == 0)
    }

    @Test("beyond maxWaiters a fetch does not wait")
    func bounded() async throws {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock, maxWaiters: 1)
        async let first = notifier.wait(for: [events], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 20_000)
        await clock.waitForSleepers(atLeast: 1)
        #expect(await notifier.wait(for: [other], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 20_000) == .abandoned)
        notifier.notifyAppended(events)
        #expect(await first == .appended)
    }

    @Test("forgetting a deleted topic wakes its waiters")
    func forgetWakes() async throws {
        let clock = ManualClock()
        let notifier = AppendNotifier(clock: clock)
        async let reason = notifier.wait(for: [events, other], after: notifier.snapshot(), deadline: clock.nowMilliseconds() + 20_000)
        await clock.waitForSleepers(atLeast: 1)
        notifier.forget(topic: "events")
        #expect(await reason == .appended)
        #expect(notifier.waiterCount == 0)
    }
}
