import SamsaCoordination
import SamsaProtocol

extension KafkaAdmin {
    /// Sends a request to one broker, again after COORDINATOR_LOAD_IN_PROGRESS or
    /// COORDINATOR_NOT_AVAILABLE (it is still loading its coordinators) or a lost connection, up
    /// to 4 times with backoff; throws any other error code of the answer.
    func askBroker<Response: Sendable>(
        _ nodeId: Int32, _ send: (BrokerConnection) async throws -> Response, errorCode: (Response) -> Int16
    ) async throws -> Response {
        try await configuration.retrying(
            attempts: 4, logger: cluster.logger, "broker \(nodeId)",
            when: { $0.code == .coordinatorLoadInProgress || $0.code == .coordinatorNotAvailable }
        ) {
            let response = try await send(try await cluster.connection(to: nodeId))
            let code = ErrorCode(rawValue: errorCode(response))
            guard code == .noError else { throw KafkaError(code) }
            return response
        }
    }

    // MARK: Groups

    /// Every group the cluster knows, with its state and type.
    public func listGroups() async throws -> [GroupListing] {
        let metadata = try await cluster.refreshMetadata(topics: [])
        var groups: [GroupListing] = []
        for nodeId in metadata.brokers.keys.sorted() {
            let response = try await askBroker(nodeId) {
                try await $0.send(ListGroupsRequest())
            } errorCode: {
                $0.errorCode
            }
            groups += response.groups.map {
                GroupListing(groupId: $0.groupId, protocolType: $0.protocolType, state: $0.groupState, type: $0.groupType)
            }
        }
        return groups.sorted { $0.groupId < $1.groupId }
    }

    /// A group's state, protocol and members with their assignments.
    public func describeGroup(_ groupId: String) async throws -> GroupDescription {
        var request = DescribeGroupsRequest()
        request.groups = [groupId]
        let response = try await GroupOffsets.withCoordinator(
            groupId, cluster: cluster, configuration: configuration, lostConnections: true
        ) { connection in
            let response = try await connection.send(request)
            if let code = response.groups.first.map({ ErrorCode(rawValue: $0.errorCode) }), GroupOffsets.isCoordinatorError(code) {
                throw KafkaError(code)
            }
            return response
        }
        guard let group = response.groups.first else { throw KafkaError(.groupIdNotFound, message: groupId) }
        guard group.errorCode == 0 else { throw KafkaError(ErrorCode(rawValue: group.errorCode), message: group.errorMessage ?? groupId) }
        let members = group.members.map { member in
            let assignment = group.protocolType == "consumer" ? (try? ConsumerProtocol.Assignment(decoding: member.memberAssignment)) : nil
            let partitions = (assignment?.partitions ?? [:]).flatMap { topic, indexes in indexes.map { TopicPartition(topic, $0) } }
                .sorted()
            return GroupDescription.Member(
                memberId: member.memberId, groupInstanceId: member.groupInstanceId, clientId: member.clientId, host: member.clientHost,
                assignment: partitions)
        }
        return GroupDescription(
            groupId: group.groupId, state: group.groupState, protocolType: group.protocolType, protocol: group.protocolData,
            members: members)
    }

    /// Deletes groups (they must have no members).
    public func deleteGroup(_ groupId: String) async throws {
        var request = DeleteGroupsRequest()
        request.groupsNames = [groupId]
        let response = try await GroupOffsets.withCoordinator(
            groupId, cluster: cluster, configuration: configuration, lostConnections: true
        ) { connection in
            let response = try await connection.send(request)
            if let code = response.results.map({ ErrorCode(rawValue: $0.errorCode) }).first(where: GroupOffsets.isCoordinatorError) {
                throw KafkaError(code, message: groupId)
            }
            return response
        }
        for result in response.results where result.errorCode != 0 {
            throw KafkaError(ErrorCode(rawValue: result.errorCode), message: result.groupId)
        }
    }

    /// A group's committed offsets (of `partitions`, or of every partition it committed).
    public func groupOffsets(_ groupId: String, partitions: [TopicPartition]? = nil) async throws -> [TopicPartition: Int64] {
        try await GroupOffsets.committed(
            partitions, group: groupId, requireStable: false, cluster: cluster, configuration: configuration, lostConnections: true)
    }

    /// Sets a group's offsets (the group must have no members, as Kafka requires for a reset).
    public func alterGroupOffsets(_ groupId: String, _ offsets: [TopicPartition: Int64]) async throws {
        try await GroupOffsets.commit(offsets, group: groupId, identity: .init(), cluster: cluster, configuration: configuration)
    }

    /// Removes a group's committed offsets of these partitions.
    public func deleteGroupOffsets(_ groupId: String, _ partitions: [TopicPartition]) async throws {
        var request = OffsetDeleteRequest()
        request.groupId = groupId
        request.topics = partitions.byTopic().map { topic, indexes in
            var entry = OffsetDeleteRequest.OffsetDeleteRequestTopic()
            entry.name = topic
            entry.partitions = indexes.map { index in
                var item = OffsetDeleteRequest.OffsetDeleteRequestPartition()
                item.partitionIndex = index
                return item
            }
            return entry
        }
        let response = try await GroupOffsets.withCoordinator(
            groupId, cluster: cluster, configuration: configuration, lostConnections: true
        ) { connection in
            let response = try await connection.send(request)
            let code = ErrorCode(rawValue: response.errorCode)
            if GroupOffsets.isCoordinatorError(code) { throw KafkaError(code, message: groupId) }
            return response
        }
        if response.errorCode != 0 { throw KafkaError(ErrorCode(rawValue: response.errorCode), message: groupId) }
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode != 0 {
                throw KafkaError(ErrorCode(rawValue: partition.errorCode), topic: topic.name, partition: partition.partitionIndex)
            }
        }
    }
}

/// A group in ListGroups.
public struct GroupListing: Hashable, Sendable {
    public var groupId: String
    public var protocolType: String
    public var state: String
    /// `classic` or `consumer` (KIP-848), when the broker says.
    public var type: String
}

/// A group in DescribeGroups.
public struct GroupDescription: Sendable {
    public struct Member: Hashable, Sendable {
        public var memberId: String
        public var groupInstanceId: String?
        public var clientId: String
        public var host: String
        public var assignment: [TopicPartition]
    }

    public var groupId: String
    public var state: String
    public var protocolType: String
    /// The assignor (for consumer groups) the group chose.
    public var `protocol`: String
    public var members: [Member]
}

/// One partition's lag for a group.
public struct PartitionLag: Hashable, Sendable {
    public var committed: Int64
    public var end: Int64
    public var lag: Int64
}
