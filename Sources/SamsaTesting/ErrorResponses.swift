import SamsaProtocol

/// Builds the response Kafka would give to a request that failed as a whole with one error:
/// every partition, topic or group the request names gets the error, as Java's
/// `AbstractRequest.getErrorResponse` does. Used by ``SamsaTestCluster`` to answer an
/// intercepted request with an error without touching the broker's state.
enum ErrorResponses {
    /// The APIs an error response can be built for.
    static let supportedKeys: Set<ApiKey> = [
        .produce, .fetch, .listOffsets, .metadata, .offsetCommit, .offsetFetch, .findCoordinator,
        .joinGroup, .heartbeat, .leaveGroup, .syncGroup, .listGroups, .createTopics, .initProducerId,
        .addOffsetsToTxn, .endTxn, .consumerGroupHeartbeat, .describeCluster,
    ]

    /// The error response to `request` at `version`, or nil for an API not in ``supportedKeys``.
    static func response(to request: any KafkaRequestMessage, error: ErrorCode) -> (any KafkaResponseMessage)? {
        let code = error.rawValue
        switch request {
        case let request as ProduceRequest:
            var response = ProduceResponse()
            response.responses = request.topicData.map { topic in
                var result = ProduceResponse.TopicProduceResponse()
                result.name = topic.name
                result.topicId = topic.topicId
                result.partitionResponses = topic.partitionData.map { partition in
                    var answer = ProduceResponse.PartitionProduceResponse()
                    answer.index = partition.index
                    answer.errorCode = code
                    answer.baseOffset = -1
                    answer.logAppendTimeMs = -1
                    answer.logStartOffset = -1
                    return answer
                }
                return result
            }
            return response
        case let request as FetchRequest:
            var response = FetchResponse()
            response.responses = request.topics.map { topic in
                var result = FetchResponse.FetchableTopicResponse()
                result.topic = topic.topic
                result.topicId = topic.topicId
                result.partitions = topic.partitions.map { partition in
                    var answer = FetchResponse.PartitionData()
                    answer.partitionIndex = partition.partition
                    answer.errorCode = code
                    answer.highWatermark = -1
                    answer.lastStableOffset = -1
                    answer.logStartOffset = -1
                    answer.records = nil
                    return answer
                }
                return result
            }
            return response
        case let request as ListOffsetsRequest:
            var response = ListOffsetsResponse()
            response.topics = request.topics.map { topic in
                var result = ListOffsetsResponse.ListOffsetsTopicResponse()
                result.name = topic.name
                result.partitions = topic.partitions.map { partition in
                    var answer = ListOffsetsResponse.ListOffsetsPartitionResponse()
                    answer.partitionIndex = partition.partitionIndex
                    answer.errorCode = code
                    answer.timestamp = -1
                    answer.offset = -1
                    return answer
                }
                return result
            }
            return response
        case let request as MetadataRequest:
            var response = MetadataResponse()
            response.errorCode = code
            response.topics = (request.topics ?? []).map { topic in
                var result = MetadataResponse.MetadataResponseTopic()
                result.name = topic.name
                result.topicId = topic.topicId
                result.errorCode = code
                return result
            }
            return response
        case let request as OffsetCommitRequest:
            var response = OffsetCommitResponse()
            response.topics = request.topics.map { topic in
                var result = OffsetCommitResponse.OffsetCommitResponseTopic()
                result.name = topic.name
                result.topicId = topic.topicId
                result.partitions = topic.partitions.map { partition in
                    var answer = OffsetCommitResponse.OffsetCommitResponsePartition()
                    answer.partitionIndex = partition.partitionIndex
                    answer.errorCode = code
                    return answer
                }
                return result
            }
            return response
        case let request as OffsetFetchRequest:
            var response = OffsetFetchResponse()
            response.errorCode = code
            response.groups = request.groups.map { group in
                var result = OffsetFetchResponse.OffsetFetchResponseGroup()
                result.groupId = group.groupId
                result.errorCode = code
                return result
            }
            return response
        case let request as FindCoordinatorRequest:
            var response = FindCoordinatorResponse()
            response.errorCode = code
            response.nodeId = -1
            response.port = -1
            response.coordinators = request.coordinatorKeys.map { key in
                var coordinator = FindCoordinatorResponse.Coordinator()
                coordinator.key = key
                coordinator.nodeId = -1
                coordinator.port = -1
                coordinator.errorCode = code
                return coordinator
            }
            return response
        case let request as CreateTopicsRequest:
            var response = CreateTopicsResponse()
            response.topics = request.topics.map { topic in
                var result = CreateTopicsResponse.CreatableTopicResult()
                result.name = topic.name
                result.errorCode = code
                result.numPartitions = -1
                result.replicationFactor = -1
                return result
            }
            return response
        case is JoinGroupRequest:
            var response = JoinGroupResponse()
            response.errorCode = code
            response.generationId = -1
            return response
        case is InitProducerIdRequest:
            var response = InitProducerIdResponse()
            response.errorCode = code
            response.producerId = -1
            response.producerEpoch = -1
            return response
        case is ConsumerGroupHeartbeatRequest:
            var response = ConsumerGroupHeartbeatResponse()
            response.errorCode = code
            response.memberEpoch = -1
            return response
        case is HeartbeatRequest: return topLevel(HeartbeatResponse.self, code)
        case is LeaveGroupRequest: return topLevel(LeaveGroupResponse.self, code)
        case is SyncGroupRequest: return topLevel(SyncGroupResponse.self, code)
        case is ListGroupsRequest: return topLevel(ListGroupsResponse.self, code)
        case is AddOffsetsToTxnRequest: return topLevel(AddOffsetsToTxnResponse.self, code)
        case is EndTxnRequest: return topLevel(EndTxnResponse.self, code)
        case is DescribeClusterRequest: return topLevel(DescribeClusterResponse.self, code)
        default:
            return nil
        }
    }

    /// A response whose only error is its top-level one, with every other field at its default.
    private static func topLevel<Response: TopLevelErrorResponse>(_: Response.Type, _ code: Int16) -> Response {
        var response = Response()
        response.errorCode = code
        return response
    }
}

/// A response with one error code for the whole request.
protocol TopLevelErrorResponse: KafkaResponseMessage {
    init()
    var errorCode: Int16 { get set }
}

extension HeartbeatResponse: TopLevelErrorResponse {}
extension LeaveGroupResponse: TopLevelErrorResponse {}
extension SyncGroupResponse: TopLevelErrorResponse {}
extension ListGroupsResponse: TopLevelErrorResponse {}
extension AddOffsetsToTxnResponse: TopLevelErrorResponse {}
extension EndTxnResponse: TopLevelErrorResponse {}
extension DescribeClusterResponse: TopLevelErrorResponse {}
