import Logging
import NIOConcurrencyHelpers
import NIOCore
import SamsaBinary
import SamsaProtocol
import SamsaRecords

/// Group membership of a consumer: `subscribe`, and the tasks that keep a classic or KIP-848
/// membership and turn its assignments into the partitions read.
extension KafkaConsumer {
    // MARK: Group subscription

    /// Joins the group (`group.id`) and consumes the partitions of `topics` it assigns to this
    /// member, from the group's committed offsets (or `auto.offset.reset`). The group shares
    /// the partitions among its members with the first assignor of
    /// `partition.assignment.strategy` that every member offers; the changes arrive on
    /// ``rebalanceEvents``. Members of other clients (Java, librdkafka, ...) can be in the same
    /// group.
    public func subscribe(_ topics: [String]) throws {
        guard let groupId = configuration.groupId else { throw SamsaClientError.invalidConfiguration("subscribe needs group.id") }
        guard !topics.isEmpty else { throw SamsaClientError.invalidConfiguration("subscribe needs at least one topic") }
        let alreadySubscribed = state.withLockedValue { $0.membership != nil || $0.consumerMembership != nil }
        guard !alreadySubscribed else { throw SamsaClientError.invalidConfiguration("already subscribed; close and create a new consumer") }
        let task: Task<Void, Never>
        switch configuration.groupProtocol {
        case .classic:
            let membership = ClassicGroupMembership(
                groupId: groupId, topics: topics, configuration: configuration, cluster: cluster, logger: logger)
            state.withLockedValue { $0.membership = membership }
            task = Task { [self] in await self.runGroup(membership) }
        case .consumer:
            let membership = ConsumerProtocolMembership(
                groupId: groupId, topics: topics, configuration: configuration, cluster: cluster, logger: logger)
            state.withLockedValue { $0.consumerMembership = membership }
            task = Task { [self] in await self.runConsumerGroup(membership) }
        }
        groupTask.withLockedValue { $0 = task }
    }

    /// Joins, consumes the assignment while heartbeating, and on a rebalance gives the
    /// partitions back (committing their positions first with auto-commit) and joins again.
    func runGroup(_ membership: ClassicGroupMembership) async {
        var owned: [TopicPartition] = []
        while !state.withLockedValue({ $0.closed }) {
            let assigned: [TopicPartition]
            let cooperative: Bool
            var revoked: [TopicPartition] = []
            do {
                state.withLockedValue { $0.joining = true }
                defer { state.withLockedValue { $0.joining = false } }
                assigned = try await membership.join(owned: owned)
                cooperative = await membership.isCooperative
                if cooperative {
                    // Incremental: give back only what moved away, take only what is new.
                    revoked = Set(owned).subtracting(assigned).sorted()
                    let added = Set(assigned).subtracting(owned)
                    if !revoked.isEmpty {
                        await giveBack(Set(revoked), commit: configuration.enableAutoCommit)
                        announce(.revoked(revoked))
                    }
                    if !added.isEmpty {
                        try await retryingPassingErrors { try await take(added) }
                        announce(.assigned(added.sorted()))
                    }
                } else {
                    try await retryingPassingErrors { try await assign(assigned) }
                    announce(.assigned(assigned))
                }
                owned = assigned
            } catch {
                if state.withLockedValue({ $0.closed }) { break }
                logger.error("could not join the group", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                break
            }
            // Partitions given back can move to their new member only in another rebalance.
            if cooperative && !revoked.isEmpty { continue }
            var outcome = ClassicGroupMembership.HeartbeatOutcome.stable
            while outcome == .stable && !state.withLockedValue({ $0.closed }) {
                await heartbeatWake.wait(until: .now + .milliseconds(configuration.heartbeatIntervalMs))
                if state.withLockedValue({ $0.closed }) { break }
                do {
                    outcome = try await membership.heartbeat()
                } catch {
                    logger.error("heartbeat failed", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                    outcome = .rejoin
                }
            }
            if outcome == .lost {
                // Someone else's already: nothing is committed for them.
                await giveBack(Set(owned), commit: false)
                announce(.lost(owned))
                owned = []
            } else if !cooperative || state.withLockedValue({ $0.closed }) {
                // Eager rebalancing (and closing): commit, then give everything back.
                await giveBack(Set(owned), commit: configuration.enableAutoCommit)
                announce(.revoked(owned))
                owned = []
            }
            // Cooperative: keep consuming while joining again with what is owned.
        }
        await membership.leave()
    }

    /// Heartbeats in a KIP-848 group and reconciles each new assignment: partitions no longer
    /// assigned are given back (their positions committed first with auto-commit), new ones are
    /// taken from the group's committed offsets, and the next heartbeat reports the change.
    func runConsumerGroup(_ membership: ConsumerProtocolMembership) async {
        var owned = Set<TopicPartition>()
        while !state.withLockedValue({ $0.closed }) {
            let outcome: ConsumerProtocolMembership.Outcome
            do {
                outcome = try await membership.heartbeat()
            } catch {
                if state.withLockedValue({ $0.closed }) { break }
                logger.error("could not heartbeat in the group", metadata: ["group": "\(membership.groupId)", "error": "\(error)"])
                state.withLockedValue { $0.failure = error }
                recordsWake.fire()
                break
            }
            var changed = false
            switch outcome {
            case .unchanged:
                break
            case .assignment(let target):
                let revoked = owned.subtracting(target)
                let added = target.subtracting(owned)
                if !revoked.isEmpty {
                    await giveBack(revoked, commit: configuration.enableAutoCommit)
                    announce(.revoked(revoked.sorted()))
                }
                if !added.isEmpty {
                    do {
                        try await retryingPassingErrors { try await take(added) }
                    } catch {
                        logger.warning("could not take new partitions", metadata: ["error": "\(error)"])
                        continue
                    }
                    announce(.assigned(added.sorted()))
                }
                owned = target
                await membership.owns(owned)
                changed = !revoked.isEmpty || !added.isEmpty
            case .lost:
                if !owned.isEmpty {
                    await giveBack(owned, commit: false)
                    announce(.lost(owned.sorted()))
                }
                owned = []
                changed = true
            }
            if changed { continue }
            let interval = await membership.heartbeatIntervalMs
            await heartbeatWake.wait(until: .now + .milliseconds(interval))
        }
        if !owned.isEmpty {
            await giveBack(owned, commit: configuration.enableAutoCommit)
            announce(.revoked(owned.sorted()))
        }
        await membership.leave()
    }

    /// Stops consuming `partitions`, committing their positions first when `commit`.
    func giveBack(_ partitions: Set<TopicPartition>, commit: Bool) async {
        if commit {
            let positions = state.withLockedValue { state in
                state.partitions.filter { partitions.contains($0.key) }.compactMapValues { $0.consumed }
            }
            do {
                try await self.commit(positions)
            } catch {
                logger.warning("could not commit given-back partitions", metadata: ["error": "\(error)"])
            }
        }
        state.withLockedValue { $0.stop(partitions) }
    }

    /// Runs `body` (taking partitions in a rebalance: committed offsets, offset lookups) again
    /// after a retriable error, such as UNSTABLE_OFFSET_COMMIT while a transaction's offsets are
    /// being committed, or a lost connection: up to 5 times with backoff, so a passing error
    /// does not end the consumer.
    func retryingPassingErrors(_ body: () async throws -> Void) async throws {
        try await configuration.client.retrying(
            attempts: 5, logger: logger, "to take partitions", when: \.isRetriable,
            beforeRetry: { if state.withLockedValue({ $0.closed }) { throw SamsaClientError.closed } }, body)
    }

    /// Starts consuming `partitions` (besides those already assigned) from the group's
    /// committed offsets, or `auto.offset.reset`.
    func take(_ partitions: Set<TopicPartition>) async throws {
        let list = partitions.sorted()
        let committed = try await committed(list)
        let reset: OffsetSpec = configuration.autoOffsetReset == .earliest ? .earliest : .latest
        var starts: [TopicPartition: OffsetSpec] = [:]
        for partition in list { starts[partition] = committed[partition].map { .offset($0) } ?? reset }
        let offsets = try await resolve(starts)
        state.withLockedValue { state in
            for (partition, offset) in offsets { state.start(partition, at: offset) }
        }
        fetchWake.fire()
    }

    /// The consumer's identity in its group, for ``KafkaProducer/sendOffsetsToTransaction(_:groupMetadata:)``;
    /// nil without `group.id`.
    public func groupMetadata() async -> ConsumerGroupMetadata? {
        guard let groupId = configuration.groupId else { return nil }
        let identity = await groupIdentity() ?? GroupOffsets.Identity()
        return ConsumerGroupMetadata(
            groupId: groupId, generationId: identity.generation, memberId: identity.memberId, groupInstanceId: identity.instanceId)
    }

    /// Who commits while subscribed: the member's generation (or KIP-848 epoch) and id; nil
    /// without a group subscription.
    func groupIdentity() async -> GroupOffsets.Identity? {
        let (classic, consumer) = state.withLockedValue { ($0.membership, $0.consumerMembership) }
        if let classic { return await classic.commitIdentity }
        if let consumer { return await consumer.commitIdentity }
        return nil
    }
}
