import Logging
import SamsaBinary
import SamsaCoordination
import SamsaProtocol
import SamsaStorage

extension GroupCoordinator {
    /// A ConsumerGroupHeartbeat (KIP-848). `memberIdRequired` is true from v1, where clients
    /// make their own member ids; for v0 a joining member without one gets a new UUID.
    ///
    /// Both kinds of group share one namespace, as in Kafka (online migration is not done): an
    /// empty classic group (e.g. one that only holds offsets, as every group does after a
    /// restart) becomes a consumer group keeping its offsets; a classic group with members
    /// answers GROUP_ID_NOT_FOUND.
    ///
    /// Consumer group membership is kept in memory only: after a broker restart members get
    /// UNKNOWN_MEMBER_ID and rejoin with epoch 0; committed offsets are durable as for any group.
    package func consumerGroupHeartbeat(
        groupId: String, _ request: ConsumerHeartbeatRequest, memberIdRequired: Bool
    ) -> ConsumerHeartbeatResult {
        var request = request
        guard !isShutDown else { return ConsumerHeartbeatResult(errorCode: .notCoordinator, memberId: request.memberId) }
        guard !groupId.isEmpty else {
            return ConsumerHeartbeatResult(errorCode: .invalidRequest, errorMessage: KafkaMessage.emptyGroupId, memberId: request.memberId)
        }
        let settings = configuration.consumer
        if let error = ConsumerGroup.validate(request, memberIdRequired: memberIdRequired, settings: settings) {
            return error
        }
        let now = self.now
        if consumerGroups[groupId] == nil {
            if let classic = groups[groupId] {
                guard classic.state == .empty || classic.state == .dead, classic.pendingMembers.isEmpty else {
                    return ConsumerHeartbeatResult(
                        errorCode: .groupIdNotFound, errorMessage: "Group \(groupId) is not a consumer group.", memberId: request.memberId
                    )
                }
            }
            guard request.memberEpoch == 0 else {
                return ConsumerHeartbeatResult(
                    errorCode: .unknownMemberId, errorMessage: "Group \(groupId) has no member \(request.memberId).",
                    memberId: request.memberId
                )
            }
            groups[groupId] = nil
            consumerGroups[groupId] = ConsumerGroup(groupId: groupId, settings: settings, now: now)
        }
        if request.memberId.isEmpty {
            request.memberId = core.random.uuid().description
        }
        let result = consumerGroups[groupId]!.heartbeat(request, topics: consumerGroupTopics(), now: now)
        scheduleTimer()
        return result
    }

    /// The consumer group called `groupId`, or nil if there is none.
    package func consumerGroup(_ groupId: String) -> ConsumerGroup? {
        consumerGroups[groupId]
    }

    /// The topics of the metadata image, internal ones left out, as assignors see them.
    func consumerGroupTopics() -> ConsumerGroupTopics {
        ConsumerGroupTopics(
            core.topics.image.topics.filter { !$0.isInternal }.map {
                ConsumerGroupTopic(name: $0.name, id: $0.id, partitionCount: $0.partitionCount)
            })
    }

    /// Applies due session and revocation timeouts of consumer groups.
    func expireConsumerGroups(now: Int64) {
        for id in consumerGroups.keys.sorted() {
            guard let deadline = consumerGroups[id]?.nextDeadline, deadline <= now else { continue }
            consumerGroups[id]!.expire(now: now)
        }
    }

    /// The topics the members of consumer group `groupId` subscribe to (OffsetDelete refuses
    /// to delete their offsets), or nil if it is not a consumer group.
    func consumerGroupSubscribedTopics(_ groupId: String) -> Set<String>? {
        guard let group = consumerGroups[groupId] else { return nil }
        return Set(group.subscribedTopics.keys).union(group.members.values.flatMap(\.subscribedTopicNames))
    }
}

extension GroupCoordinator {
    /// Offset retention for consumer groups: an empty one keeps its offsets for the retention
    /// period after it emptied; once it has none left it is removed.
    func expireConsumerGroupOffsets(now: Int64, retentionMs: Int64) {
        for id in consumerGroups.keys.sorted() {
            guard let group = consumerGroups[id], group.state == .empty else { continue }
            var tombstones: [OffsetsTopicRecord] = []
            for (partition, stored) in (offsets[id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                let expired = OffsetRetention.isExpired(
                    stored.committed, groupIsEmpty: true, usesGroupManagement: true,
                    emptySince: group.currentStateTimestamp, retentionMs: retentionMs, now: now
                )
                if expired {
                    offsets[id]?[partition] = nil
                    tombstones.append(.offset(group: id, topic: partition.topic, partition: partition.partition, nil))
                }
            }
            if offsets[id]?.isEmpty == true { offsets[id] = nil }
            if offsets[id] == nil, commitsInFlight[id] == nil {
                consumerGroups[id] = nil
            }
            guard !tombstones.isEmpty else { continue }
            let logger = self.logger
            submit(tombstones, groupId: id) { result in
                if case .failure(let error) = result {
                    logger.error("could not write offset tombstones", metadata: ["group": "\(id)", "error": "\(error)"])
                }
            }
        }
    }
}
