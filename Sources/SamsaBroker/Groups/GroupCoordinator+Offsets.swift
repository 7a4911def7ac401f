import Logging
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

extension GroupCoordinator {
    /// Commits `entries` for a group once the generation and member checks pass; the answer
    /// (one error for all of them) comes once the records are durable.
    ///
    /// A commit with generation -1 for an unknown group creates a group that only holds
    /// offsets, as Kafka does for standalone consumers and admin tools. `apiVersion` picks
    /// the error for an unknown group with a generation: GROUP_ID_NOT_FOUND from v9,
    /// ILLEGAL_GENERATION before.
    package func commitOffsets(
        groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32,
        entries: [TopicPartition: CommittedOffset], apiVersion: Int16
    ) async -> ErrorCode {
        guard !isShutDown else { return .notCoordinator }
        guard await ensureOffsetsTopic() else { return .coordinatorNotAvailable }
        let error = checkCommitter(
            groupId: groupId, memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, apiVersion: apiVersion)
        guard error == .noError else { return error }
        return await storeOffsets(groupId: groupId, entries: entries)
    }

    /// Writes `entries` of a group to `__consumer_offsets` and applies them once durable (no
    /// group checks: the caller made them).
    func storeOffsets(groupId: String, entries: [TopicPartition: CommittedOffset]) async -> ErrorCode {
        guard !entries.isEmpty else { return .noError }
        let ordered = entries.sorted { $0.key < $1.key }
        let records = ordered.map { OffsetsTopicRecord.offset(group: groupId, topic: $0.key.topic, partition: $0.key.partition, $0.value) }
        let firstOffset: Int64
        commitsInFlight[groupId, default: 0] += 1
        defer {
            commitsInFlight[groupId]! -= 1
            if commitsInFlight[groupId] == 0 { commitsInFlight[groupId] = nil }
        }
        do {
            firstOffset = try await store(records, groupId: groupId)
        } catch {
            logger.error("could not store offsets", metadata: ["group": "\(groupId)", "error": "\(error)"])
            return .coordinatorNotAvailable
        }
        // The group may have been deleted while the write was under way; its tombstones follow
        // these records in the log, so nothing is applied.
        guard isAlive(groupId) else { return .noError }
        let stored = ordered.enumerated().map { index, entry in
            (key: entry.key, value: StoredOffset(committed: entry.value, recordOffset: firstOffset + Int64(index)))
        }
        OffsetsTopic.apply(stored, to: &offsets[groupId, default: [:]])
        return .noError
    }

    /// The generation and member checks of an offset commit (OffsetCommit, and TxnOffsetCommit
    /// from v3). A commit with generation -1 for an unknown group creates a group that only
    /// holds offsets.
    private func checkCommitter(
        groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32, apiVersion: Int16
    ) -> ErrorCode {
        let now = self.now
        if let consumer = consumerGroups[groupId] {
            // KIP-848 groups: the generation is the member epoch.
            return consumer.validateOffsetCommit(memberId: memberId, memberEpoch: generationId, apiVersion: apiVersion)
        }
        if groups[groupId] == nil {
            guard generationId < 0 else { return apiVersion >= 9 ? .groupIdNotFound : .illegalGeneration }
            groups[groupId] = ClassicGroup(groupId: groupId, settings: configuration.classic, now: now)
        }
        let error = groups[groupId]!.validateOffsetCommit(
            memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, now: now)
        scheduleTimer()
        return error
    }

    /// TxnOffsetCommit: checks the group as a commit does (KIP-447: generation, member and
    /// instance id when the client sends them, none from older versions), writes the offsets
    /// to `__consumer_offsets` as a transactional batch of the producer, and keeps them pending
    /// until the transaction's marker reaches that partition
    /// (``endTransaction(producerId:commit:)``). Written first, they survive a crash: a replay
    /// finds them with or without their marker, as Kafka's coordinator does.
    package func stageTransactionalOffsets(
        producerId: Int64, producerEpoch: Int16, groupId: String, memberId: String, groupInstanceId: String?, generationId: Int32,
        entries: [TopicPartition: CommittedOffset]
    ) async -> ErrorCode {
        guard !isShutDown else { return .notCoordinator }
        guard await ensureOffsetsTopic() else { return .coordinatorNotAvailable }
        if generationId >= 0 || !memberId.isEmpty {
            let error = checkCommitter(
                groupId: groupId, memberId: memberId, groupInstanceId: groupInstanceId, generationId: generationId, apiVersion: 8)
            guard error == .noError else { return error }
        } else if groups[groupId] == nil && consumerGroups[groupId] == nil {
            // Before v3 there is no generation to check (as Kafka): only make sure the group exists.
            groups[groupId] = ClassicGroup(groupId: groupId, settings: configuration.classic, now: now)
        }
        guard !entries.isEmpty else { return .noError }
        let ordered = entries.sorted { $0.key < $1.key }
        let records = ordered.map { OffsetsTopicRecord.offset(group: groupId, topic: $0.key.topic, partition: $0.key.partition, $0.value) }
        let firstOffset: Int64
        do {
            firstOffset = try await store(
                records, groupId: groupId,
                producer: OffsetsTopic.TransactionalProducer(producerId: producerId, producerEpoch: producerEpoch))
        } catch {
            logger.error("could not store transactional offsets", metadata: ["group": "\(groupId)", "error": "\(error)"])
            return .coordinatorNotAvailable
        }
        for (index, (partition, committed)) in ordered.enumerated() {
            pendingTransactionalOffsets[producerId, default: [:]][groupId, default: [:]][partition] = StoredOffset(
                committed: committed, recordOffset: firstOffset + Int64(index))
        }
        return .noError
    }

    /// The transaction of `producerId` ended and its marker is durable in `__consumer_offsets`:
    /// its pending offsets become visible (where no later commit set the partition) or are
    /// dropped. Nothing is written: a replay applies them at the marker.
    package func endTransaction(producerId: Int64, commit: Bool) {
        guard let pending = pendingTransactionalOffsets.removeValue(forKey: producerId), commit else { return }
        for (groupId, entries) in pending where isAlive(groupId) {
            OffsetsTopic.apply(entries, to: &offsets[groupId, default: [:]])
        }
    }

    /// Whether a group (classic or KIP-848) exists and is not dead.
    private func isAlive(_ groupId: String) -> Bool {
        groups[groupId].map { $0.state != .dead } ?? consumerGroups[groupId].map { $0.state != .dead } ?? false
    }

    /// The partitions of a group whose offsets an open transaction has sent (OffsetFetch's
    /// RequireStable answers UNSTABLE_OFFSET_COMMIT for them).
    package func partitionsWithPendingTransactionalOffsets(groupId: String) -> Set<TopicPartition> {
        var partitions = Set<TopicPartition>()
        for pending in pendingTransactionalOffsets.values {
            if let entries = pending[groupId] { partitions.formUnion(entries.keys) }
        }
        return partitions
    }

    /// The committed offsets of a group: of `partitions`, or every partition it has committed
    /// when nil. Partitions without a commit are absent.
    package func fetchOffsets(groupId: String, partitions: [TopicPartition]?) -> [TopicPartition: CommittedOffset] {
        let stored = offsets[groupId] ?? [:]
        guard let partitions else { return stored.mapValues(\.committed) }
        var result: [TopicPartition: CommittedOffset] = [:]
        for partition in partitions {
            if let entry = stored[partition] { result[partition] = entry.committed }
        }
        return result
    }

    /// OffsetDelete: removes committed offsets of partitions the group does not consume. A
    /// group-level error, and one per partition (GROUP_SUBSCRIBED_TO_TOPIC for the topics its
    /// members subscribe to).
    package func deleteOffsets(groupId: String, partitions: [TopicPartition]) async -> (ErrorCode, [TopicPartition: ErrorCode]) {
        guard !isShutDown else { return (.notCoordinator, [:]) }
        guard !groupId.isEmpty else { return (.invalidGroupId, [:]) }
        var subscribed = Set<String>()
        if let consumerTopics = consumerGroupSubscribedTopics(groupId) {
            subscribed = consumerTopics
        } else if let group = groups[groupId], group.state != .dead {
            if group.state != .empty {
                guard group.protocolType == "consumer" else { return (.nonEmptyGroup, [:]) }
                for member in group.orderedMembers {
                    let metadata = group.protocolName.map { member.metadata(for: $0) } ?? member.protocols.first?.metadata
                    subscribed.formUnion(metadata.flatMap(ConsumerProtocolSubscription.topics) ?? [])
                }
            }
        } else {
            return (.groupIdNotFound, [:])
        }
        var errors: [TopicPartition: ErrorCode] = [:]
        var removed: [TopicPartition] = []
        for partition in partitions {
            if subscribed.contains(partition.topic) {
                errors[partition] = .groupSubscribedToTopic
            } else {
                errors[partition] = .noError
                if offsets[groupId]?.removeValue(forKey: partition) != nil {
                    removed.append(partition)
                }
            }
        }
        guard !removed.isEmpty else { return (.noError, errors) }
        let records = removed.sorted().map { OffsetsTopicRecord.offset(group: groupId, topic: $0.topic, partition: $0.partition, nil) }
        do {
            _ = try await store(records, groupId: groupId)
        } catch {
            logger.error("could not delete offsets", metadata: ["group": "\(groupId)", "error": "\(error)"])
            return (.coordinatorNotAvailable, [:])
        }
        return (.noError, errors)
    }

    /// Removes expired offsets (`offsets.retention.minutes`), and empty groups left with no
    /// offsets, writing their tombstones.
    func expireOffsets(now: Int64) {
        let retention = configuration.offsetsRetentionMs
        expireConsumerGroupOffsets(now: now, retentionMs: retention)
        for id in groups.keys.sorted() {
            guard var group = groups[id] else { continue }
            var tombstones: [OffsetsTopicRecord] = []
            for (partition, stored) in (offsets[id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let expired = OffsetRetention.isExpired(
                    stored.committed, groupIsEmpty: group.state == .empty, usesGroupManagement: group.protocolType != nil,
                    emptySince: group.currentStateTimestamp, retentionMs: retention, now: now
                )
                if expired {
                    offsets[id]?[partition] = nil
                    tombstones.append(.offset(group: id, topic: partition.topic, partition: partition.partition, nil))
                }
            }
            if offsets[id]?.isEmpty == true { offsets[id] = nil }
            let inTransaction = pendingTransactionalOffsets.values.contains { $0[id] != nil }
            if group.state == .empty, offsets[id] == nil, group.pendingMembers.isEmpty, commitsInFlight[id] == nil, !inTransaction {
                perform(group.markDead(now: now), groupId: id)
                groups[id] = nil
                tombstones.append(.group(group: id, nil))
            }
            guard !tombstones.isEmpty else { continue }
            logger.info("expired offsets", metadata: ["group": "\(id)", "records": "\(tombstones.count)"])
            let logger = self.logger
            submit(tombstones, groupId: id) { result in
                if case .failure(let error) = result {
                    logger.error("could not write offset tombstones", metadata: ["group": "\(id)", "error": "\(error)"])
                }
            }
        }
    }
}
