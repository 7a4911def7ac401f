import SamsaProtocol

/// DescribeCluster (key 60), versions 0-2.
///
/// This broker is the whole cluster: the only broker (never fenced, so IncludeFencedBrokers
/// changes nothing) and the controller id, as a Kafka broker reports a live broker there.
/// The cluster id is the one kept in the metadata log. EndpointType (v1+) must be BROKER (1):
/// CONTROLLER (2) is MISMATCHED_ENDPOINT_TYPE and anything else UNSUPPORTED_ENDPOINT_TYPE
/// (INVALID_REQUEST at v0), with Kafka's messages. Every cluster operation is authorized.
struct DescribeClusterHandler: RequestHandler {
    typealias Request = DescribeClusterRequest

    let core: BrokerCore

    /// Kafka's `EndpointType`.
    private static let brokerEndpoint: Int8 = 1
    private static let controllerEndpoint: Int8 = 2

    func handle(_ request: DescribeClusterRequest, context: RequestContext) async throws -> DescribeClusterResponse? {
        var response = DescribeClusterResponse()
        let endpointType = request.endpointType
        guard endpointType == Self.brokerEndpoint else {
            let isKnown = endpointType == Self.controllerEndpoint
            if context.apiVersion == 0 {
                response.errorCode = ErrorCode.invalidRequest.rawValue
            } else {
                response.errorCode = (isKnown ? ErrorCode.mismatchedEndpointType : .unsupportedEndpointType).rawValue
            }
            response.errorMessage =
                isKnown
                ? "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                : "Unsupported endpoint type \(endpointType)"
            return response
        }
        let nodeID = core.configuration.nodeID
        guard context.allows(.describe, .cluster) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = nil
            return response
        }
        let endpoint = core.advertisedEndpoint(listener: context.connection.session.listenerName)
        var broker = DescribeClusterResponse.DescribeClusterBroker()
        broker.brokerId = nodeID
        broker.host = endpoint.host
        broker.port = endpoint.port
        broker.rack = nil
        broker.isFenced = false
        response.errorCode = ErrorCode.noError.rawValue
        response.errorMessage = nil
        response.endpointType = endpointType
        response.clusterId = core.topics.image.clusterID
        response.controllerId = nodeID
        response.brokers = [broker]
        if request.includeClusterAuthorizedOperations {
            response.clusterAuthorizedOperations = MetadataHandler.allClusterOperations
        }
        return response
    }
}
