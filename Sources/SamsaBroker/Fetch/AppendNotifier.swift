import NIOConcurrencyHelpers
import SamsaStorage
import ServiceLifecycle

/// The purgatory of long-poll fetches: a fetch that found less than its MinBytes waits here
/// until one of its partitions gets new data or its wait expires (Kafka's `DelayedFetch`).
///
/// Whoever appends to a partition log (Produce, transaction markers) calls
/// ``notifyAppended(_:)`` after the append succeeded; waiting fetches on that partition wake and
/// read again. Nothing polls.
///
/// Lost wake-ups are impossible: every notification gets a sequence number, a fetch takes a
/// ``Snapshot`` before it reads, and ``wait(for:after:timeout:)`` returns at once if one of its
/// partitions was appended to after that snapshot.
package final class AppendNotifier: Sendable {
    /// A point in the sequence of notifications, taken before a read.
    package struct Snapshot: Sendable, Hashable {
        let sequence: UInt64
    }

    /// Why a wait ended.
    package enum WakeReason: Sendable, Hashable {
        /// One of the partitions was appended to.
        case appended
        /// The timeout passed.
        case timedOut
        /// The task was cancelled (graceful shutdown) or the purgatory was full.
        case abandoned
    }

    private struct Waiter {
        var partitions: [TopicPartition]
        var continuation: CheckedContinuation<WakeReason, Never>
        var timeout: ClockWakeUp?
    }

    private struct State {
        var sequence: UInt64 = 0
        /// The sequence number of the last append to each partition that ever had one.
        var lastAppend: [TopicPartition: UInt64] = [:]
        var waiters: [UInt64: Waiter] = [:]
        var waitersByPartition: [TopicPartition: WaiterIDs] = [:]
        var nextWaiterID: UInt64 = 1
        /// Waiters whose continuation is not registered yet, and whether they were cancelled meanwhile.
        var registering: [UInt64: Bool] = [:]
    }

    private let state = NIOLockedValueBox(State())
    private let clock: any BrokerClock
    /// The most fetches that may wait at once; further ones are answered without waiting.
    package let maxWaiters: Int

    /// - Parameters:
    ///   - clock: the clock wait deadlines are read on.
    ///   - maxWaiters: the bound on waiting fetches (one per connection at most in practice).
    package init(clock: any BrokerClock, maxWaiters: Int = 10_000) {
        self.clock = clock
        self.maxWaiters = maxWaiters
    }

    /// Records that `partition` got new records and wakes the fetches waiting on it.
    /// Call after every successful append (produce, transaction markers).
    package func notifyAppended(_ partition: TopicPartition) {
        let woken = state.withLockedValue { state -> [Waiter] in
            state.sequence += 1
            state.lastAppend[partition] = state.sequence
            guard let ids = state.waitersByPartition[partition]?.all else { return [] }
            return ids.compactMap { Self.remove($0, from: &state) }
        }
        for waiter in woken {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .appended)
        }
    }

    /// Forgets `topic`'s partitions after the topic was deleted, and wakes the fetches waiting
    /// on them so they answer (UNKNOWN_TOPIC_OR_PARTITION) at once. Call from topic deletion.
    package func forget(topic: String) {
        let woken = state.withLockedValue { state -> [Waiter] in
            state.sequence += 1
            state.lastAppend = state.lastAppend.filter { $0.key.topic != topic }
            let ids = state.waitersByPartition.filter { $0.key.topic == topic }.values.reduce(into: Set<UInt64>()) { $0.formUnion($1.all) }
            return ids.compactMap { Self.remove($0, from: &state) }
        }
        for waiter in woken {
            waiter.timeout?.cancel()
            waiter.continuation.resume(returning: .appended)
        }
    }

    /// The current point in the notification sequence; take it before reading.
    package func snapshot() -> Snapshot {
        Snapshot(sequence: state.withLockedValue { $0.sequence })
    }

    /// How many fetches are waiting now.
    package var waiterCount: Int { state.withLockedValue { $0.waiters.count } }

    /// Waits until one of `partitions` is appended to after `snapshot`, or the clock reaches
    /// `deadline` (milliseconds). Returns at once if such an append already happened.
    /// Cancelling the task ends the wait, and so does a graceful shutdown of the service it runs
    /// in, so that idle consumers do not hold up a stopping server.
    package func wait(for partitions: [TopicPartition], after snapshot: Snapshot, deadline: Int64) async -> WakeReason {
        let id = state.withLockedValue { state -> UInt64 in
            defer { state.nextWaiterID += 1 }
            state.registering[state.nextWaiterID] = false
            return state.nextWaiterID
        }
        // A handler, not `cancelWhenGracefulShutdown`: that runs the wait in a task group beside a
        // task waiting for the shutdown, and ending that task wakes one of Swift's threads.
        return await withGracefulShutdownHandler {
            await waitRegistered(id, for: partitions, after: snapshot, deadline: deadline)
        } onGracefulShutdown: {
            self.resume(id, with: .abandoned)
        }
    }

    private func waitRegistered(
        _ id: UInt64, for partitions: [TopicPartition], after snapshot: Snapshot, deadline: Int64
    ) async -> WakeReason {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<WakeReason, Never>) in
                let immediate = state.withLockedValue { state -> WakeReason? in
                    if state.registering.removeValue(forKey: id) == true { return .abandoned }
                    if partitions.contains(where: { (state.lastAppend[$0] ?? 0) > snapshot.sequence }) { return .appended }
                    if state.waiters.count >= maxWaiters { return .abandoned }
                    state.waiters[id] = Waiter(partitions: partitions, continuation: continuation)
                    for partition in partitions { state.waitersByPartition[partition, default: .none].insert(id) }
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                let timer = clock.wake(atMilliseconds: deadline) { [self] in
                    self.resume(id, with: .timedOut)
                }
                // The waiter may already be gone (woken, cancelled); then the timer is not needed.
                let stillWaiting = state.withLockedValue { state -> Bool in
                    guard state.waiters[id] != nil else { return false }
                    state.waiters[id]?.timeout = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            self.resume(id, with: .abandoned)
        }
    }

    private func resume(_ id: UInt64, with reason: WakeReason) {
        let waiter = state.withLockedValue { state -> Waiter? in
            if let waiter = Self.remove(id, from: &state) { return waiter }
            // Cancelled before the continuation was registered: make the registration give up.
            if reason == .abandoned, state.registering[id] != nil { state.registering[id] = true }
            return nil
        }
        guard let waiter else { return }
        waiter.timeout?.cancel()
        waiter.continuation.resume(returning: reason)
    }

    private static func remove(_ id: UInt64, from state: inout State) -> Waiter? {
        guard let waiter = state.waiters.removeValue(forKey: id) else { return nil }
        for partition in waiter.partitions {
            // One lookup per partition: a consumer of thousands of partitions waits on all of them.
            guard let index = state.waitersByPartition.index(forKey: partition) else { continue }
            state.waitersByPartition.values[index].remove(id)
            if case .none = state.waitersByPartition.values[index] { state.waitersByPartition.remove(at: index) }
        }
        return waiter
    }
}

/// The waiters of one partition: nearly always none or one, kept without a set's allocation.
private enum WaiterIDs {
    case none
    case one(UInt64)
    case many(Set<UInt64>)

    var all: [UInt64] {
        switch self {
        case .none: []
        case .one(let id): [id]
        case .many(let ids): Array(ids)
        }
    }

    mutating func insert(_ id: UInt64) {
        switch self {
        case .none: self = .one(id)
        case .one(let other): self = other == id ? .one(id) : .many([other, id])
        case .many(var ids):
            self = .none
            ids.insert(id)
            self = .many(ids)
        }
    }

    mutating func remove(_ id: UInt64) {
        switch self {
        case .none: break
        case .one(let other): if other == id { self = .none }
        case .many(var ids):
            self = .none
            ids.remove(id)
            self = ids.count == 1 ? .one(ids.first!) : ids.isEmpty ? .none : .many(ids)
        }
    }
}
