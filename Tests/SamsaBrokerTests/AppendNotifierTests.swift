import NIOCore
import SamsaStorage
import Testing

@testable import SamsaBroker

@Suite("AppendNotifier")
struct AppendNotifierTests {
    let events = TopicPartition(topic: "events", partition: 0)
    let other = TopicPartition(topic: "other", partition: 3)

    @Test("an append to a watched partition wakes the wait; others do not")
    func wakes() async throws {
        let notifier = AppendNotifier()
        let snapshot = notifier.snapshot()
        let started = ContinuousClock.now
        async let reason = notifier.wait(for: [events], after: snapshot, timeout: .seconds(20))
        #expect(try await testEventually { notifier.waiterCount == 1 })
        notifier.notifyAppended(other)
        try await Task.sleep(for: .milliseconds(100))
        #expect(notifier.waiterCount == 1)
        notifier.notifyAppended(events)
        #expect(await reason == .appended)
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(notifier.waiterCount == 0)
    }

    @Test("an append between the snapshot and the wait is not lost")
    func noLostWakeup() async {
        let notifier = AppendNotifier()
        let snapshot = notifier.snapshot()
        notifier.notifyAppended(events)
        #expect(await notifier.wait(for: [events], after: snapshot, timeout: .seconds(20)) == .appended)
        // A later snapshot does not see that append any more.
        #expect(await notifier.wait(for: [events], after: notifier.snapshot(), timeout: .milliseconds(50)) == .timedOut)
    }

    @Test("the wait times out, and cancelling it ends it at once")
    func timeoutAndCancel() async throws {
        let notifier = AppendNotifier()
        let started = ContinuousClock.now
        #expect(await notifier.wait(for: [events], after: notifier.snapshot(), timeout: .milliseconds(200)) == .timedOut)
        #expect(ContinuousClock.now - started >= .milliseconds(190))

        let task = Task { await notifier.wait(for: [events], after: notifier.snapshot(), timeout: .seconds(30)) }
        #expect(try await testEventually { notifier.waiterCount == 1 })
        task.cancel()
        #expect(await task.value == .abandoned)
        #expect(notifier.waiterCount == 0)
    }

    @Test("beyond maxWaiters a fetch does not wait")
    func bounded() async throws {
        let notifier = AppendNotifier(maxWaiters: 1)
        async let first = notifier.wait(for: [events], after: notifier.snapshot(), timeout: .seconds(20))
        #expect(try await testEventually { notifier.waiterCount == 1 })
        #expect(await notifier.wait(for: [other], after: notifier.snapshot(), timeout: .seconds(20)) == .abandoned)
        notifier.notifyAppended(events)
        #expect(await first == .appended)
    }
}

extension AppendNotifierTests {
    @Test("forgetting a deleted topic wakes its waiters")
    func forgetWakes() async throws {
        let notifier = AppendNotifier()
        async let reason = notifier.wait(for: [events, other], after: notifier.snapshot(), timeout: .seconds(20))
        #expect(try await testEventually { notifier.waiterCount == 1 })
        notifier.forget(topic: "events")
        #expect(await reason == .appended)
        #expect(notifier.waiterCount == 0)
    }
}
