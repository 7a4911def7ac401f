import NIOCore
import SamsaProtocol

/// Committed offsets of consumer groups (OffsetCommit, OffsetFetch), shared by the consumer
/// and the admin client. Both go to the group's coordinator, found again after
/// NOT_COORDINATOR, and use version 9 at most (v10 names topics by id).
enum GroupOffsets {
    /// Who commits: a member of a generation, or nobody (-1, "": an admin or a consumer without
    /// group membership).
    struct Identity: Sendable {
        var generation: Int32 = -1
        var memberId = ""
        var instanceId: String?
    }

    static func commit(
        _ offsets: [TopicPartition: Int64], group: String, identity: Identity, cluster: ClusterClient, configuration: ClientConfiguration
    ) async throws {
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = identity.generation
        request.memberId = identity.memberId
        request.groupInstanceId = identity.instanceId
        request.topics = offsets.keys.byTopic().map { topic, indexes in
            var entry = OffsetCommitRequest.OffsetCommitRequestTopic()
            entry.name = topic
            entry.partitions = indexes.map { index in
                var item = OffsetCommitRequest.OffsetCommitRequestPartition()
                item.partitionIndex = index
                item.committedOffset = offsets[TopicPartition(topic, index)]!
                return item
            }
            return entry
        }
        let response = try await withCoordinator(group, cluster: cluster, configuration: configuration) { connection in
            let response = try await connection.send(request, maxVersion: 9)
            // A coordinator that moved answers per partition; the lookup is redone.
            let codes = response.topics.flatMap { $0.partitions.map { ErrorCode(rawValue: $0.errorCode) } }
            if let moved = codes.first(where: Self.isCoordinatorError) { throw KafkaError(moved, message: "group \(group)") }
            return response
        }
        for topic in response.topics {
            for partition in topic.partitions where partition.errorCode != 0 {
                throw KafkaError(ErrorCode(rawValue: partition.errorCode), topic: topic.name, partition: partition.partitionIndex)
            }
        }
    }

    /// The group's committed offsets of `partitions` (nil: every partition it has committed);
    /// partitions without a commit are absent. With `lostConnections`, a connection lost or
    /// timed out is retried against a coordinator found again (the admin client's way).
    static func committed(
        _ partitions: [TopicPartition]?, group: String, requireStable: Bool, cluster: ClusterClient, configuration: ClientConfiguration,
        lostConnections: Bool = false
    ) async throws -> [TopicPartition: Int64] {
        var request = OffsetFetchRequest()
        request.groupId = group
        request.topics = partitions.map { partitions in
            partitions.byTopic().map { topic, indexes in
                var entry = OffsetFetchRequest.OffsetFetchRequestTopic()
                entry.name = topic
                entry.partitionIndexes = indexes
                return entry
            }
        }
        var entry = OffsetFetchRequest.OffsetFetchRequestGroup()
        entry.groupId = group
        entry.topics = request.topics?.map { topic in
            var item = OffsetFetchRequest.OffsetFetchRequestTopics()
            item.name = topic.name
            item.partitionIndexes = topic.partitionIndexes
            return item
        }
        request.groups = [entry]
        request.requireStable = requireStable
        let response = try await withCoordinator(group, cluster: cluster, configuration: configuration, lostConnections: lostConnections) {
            connection in
            let response = try await connection.send(request, maxVersion: 9)
            let code = ErrorCode(rawValue: response.groups.first?.errorCode ?? response.errorCode)
            if Self.isCoordinatorError(code) { throw KafkaError(code, message: "group \(group)") }
            return response
        }
        let topics: [(String, [(Int32, Int16, Int64)])]
        if let answer = response.groups.first {
            if answer.errorCode != 0 { throw KafkaError(ErrorCode(rawValue: answer.errorCode), message: "group \(group)") }
            topics = answer.topics.map { ($0.name, $0.partitions.map { ($0.partitionIndex, $0.errorCode, $0.committedOffset) }) }
        } else {
            if response.errorCode != 0 { throw KafkaError(ErrorCode(rawValue: response.errorCode), message: "group \(group)") }
            topics = response.topics.map { ($0.name, $0.partitions.map { ($0.partitionIndex, $0.errorCode, $0.committedOffset) }) }
        }
        var result: [TopicPartition: Int64] = [:]
        for (topic, entries) in topics {
            for (index, code, offset) in entries {
                if code != 0 { throw KafkaError(ErrorCode(rawValue: code), topic: topic, partition: index) }
                if offset >= 0 { result[TopicPartition(topic, index)] = offset }
            }
        }
        return result
    }

    static func isCoordinatorError(_ code: ErrorCode) -> Bool {
        code == .notCoordinator || code == .coordinatorNotAvailable || code == .coordinatorLoadInProgress
    }

    /// Runs `body` against the coordinator of a group (`type` 0) or transactional id (1),
    /// finding it again after NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE,
    /// COORDINATOR_LOAD_IN_PROGRESS or the codes in `alsoRetrying` (thrown by `body` as
    /// ``KafkaError``), and, with `lostConnections`, after a connection that closed or timed
    /// out: up to `attempts` times, with backoff.
    static func withCoordinator<Result: Sendable>(
        _ group: String, type: Int8 = 0, cluster: ClusterClient, configuration: ClientConfiguration, attempts: Int = 5,
        alsoRetrying: Set<ErrorCode> = [], lostConnections: Bool = false, _ body: (BrokerConnection) async throws -> Result
    ) async throws -> Result {
        var attempt = 0
        while true {
            do {
                return try await body(try await cluster.coordinator(for: group, type: type))
            } catch let error as KafkaError
                where attempt < attempts && (isCoordinatorError(error.code) || alsoRetrying.contains(error.code))
            {
                await cluster.invalidateCoordinator(for: group, type: type)
            } catch let error as SamsaClientError where lostConnections && attempt < attempts && error.isRetriable {
                await cluster.invalidateCoordinator(for: group, type: type)
            }
            try await Task.sleep(for: .milliseconds(configuration.backoffMs(attempt: attempt, random: 0.5)))
            attempt += 1
        }
    }
}

/// Offsets of partitions by time (ListOffsets), shared by the consumer and the admin client.
enum PartitionOffsets {
    /// The offset for each timestamp (-2 earliest, -1 latest), from each partition's leader;
    /// a timestamp after every record gives the end offset.
    static func list(
        _ timestamps: [TopicPartition: Int64], isolation: IsolationLevel, cluster: ClusterClient
    ) async throws -> [TopicPartition: Int64] {
        try await cluster.retryingWithFreshMetadata {
            try await listOnce(timestamps, isolation: isolation, cluster: cluster)
        }
    }

    /// One try of ``list(_:isolation:cluster:)`` with the cached leaders.
    private static func listOnce(
        _ timestamps: [TopicPartition: Int64], isolation: IsolationLevel, cluster: ClusterClient
    ) async throws -> [TopicPartition: Int64] {
        let metadata = try await cluster.metadata(for: Array(Set(timestamps.keys.map(\.topic))))
        let byLeader = try metadata.byLeader(timestamps.keys)
        var result: [TopicPartition: Int64] = [:]
        var afterEverything: [TopicPartition: Int64] = [:]
        for (leader, partitions) in byLeader {
            var request = ListOffsetsRequest()
            request.replicaId = -1
            // From v10 the leader may wait this long for a timestamp in remote storage.
            request.timeoutMs = Int32(clamping: cluster.configuration.requestTimeoutMs)
            request.isolationLevel = isolation.rawValue
            request.topics = partitions.byTopic().map { topic, indexes in
                var entry = ListOffsetsRequest.ListOffsetsTopic()
                entry.name = topic
                entry.partitions = indexes.map { index in
                    var item = ListOffsetsRequest.ListOffsetsPartition()
                    item.partitionIndex = index
                    item.timestamp = timestamps[TopicPartition(topic, index)]!
                    return item
                }
                return entry
            }
            let response = try await cluster.connection(to: leader).send(request)
            for topic in response.topics {
                for partition in topic.partitions {
                    let key = TopicPartition(topic.name, partition.partitionIndex)
                    let code = ErrorCode(rawValue: partition.errorCode)
                    guard code == .noError else { throw KafkaError(code, topic: topic.name, partition: partition.partitionIndex) }
                    if partition.offset >= 0 {
                        result[key] = partition.offset
                    } else if timestamps[key]! >= 0 {
                        afterEverything[key] = -1
                    }
                }
            }
        }
        if !afterEverything.isEmpty {
            for (key, offset) in try await listOnce(afterEverything, isolation: isolation, cluster: cluster) { result[key] = offset }
        }
        return result
    }
}
