import SamsaProtocol

/// FindCoordinator (key 10), versions 0-6.
///
/// This broker coordinates every group and every transactional id, so each key is answered
/// with this node. Looking up a group creates `__consumer_offsets` if it does not exist yet
/// (Kafka answers COORDINATOR_NOT_AVAILABLE while it creates it; creation here is
/// synchronous, so the answer is ready at once). v4+ batches keys. Key type 2 (share groups)
/// gets INVALID_REQUEST: share groups are not implemented.
struct FindCoordinatorHandler: RequestHandler {
    typealias Request = FindCoordinatorRequest

    let core: BrokerCore
    let groups: GroupCoordinator

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) async throws -> FindCoordinatorResponse? {
        let version = context.apiVersion
        let keys = version >= 4 ? request.coordinatorKeys : [request.key]
        var coordinators: [FindCoordinatorResponse.Coordinator] = []
        for key in keys {
            coordinators.append(
                await find(key: key, keyType: version >= 1 ? request.keyType : 0, context: context))
        }
        var response = FindCoordinatorResponse()
        if version >= 4 {
            response.coordinators = coordinators
        } else if let only = coordinators.first {
            response.errorCode = only.errorCode
            response.errorMessage = only.errorMessage
            response.nodeId = only.nodeId
            response.host = only.host
            response.port = only.port
        }
        return response
    }

    private func find(key: String, keyType: Int8, context: RequestContext) async -> FindCoordinatorResponse.Coordinator {
        let listener = context.connection.session.listenerName
        var coordinator = FindCoordinatorResponse.Coordinator()
        coordinator.key = key
        coordinator.errorMessage = nil
        func fail(_ code: ErrorCode, _ message: String) -> FindCoordinatorResponse.Coordinator {
            coordinator.errorCode = code.rawValue
            coordinator.errorMessage = message
            coordinator.nodeId = -1
            coordinator.host = ""
            coordinator.port = -1
            return coordinator
        }
        if keyType == 0, !context.allows(.describe, .group, key) {
            return fail(.groupAuthorizationFailed, "Not authorized to access group \(key).")
        }
        if keyType == 1, !context.allows(.describe, .transactionalId, key) {
            return fail(.transactionalIdAuthorizationFailed, "Not authorized to use transactional id \(key).")
        }
        switch keyType {
        case 0:
            guard await groups.ensureOffsetsTopic() else {
                return fail(.coordinatorNotAvailable, "The coordinator is not available.")
            }
        case 1:
            break
        default:
            return fail(.invalidRequest, "Unsupported key type \(keyType).")
        }
        let endpoint = core.advertisedEndpoint(listener: listener)
        coordinator.errorCode = ErrorCode.noError.rawValue
        coordinator.nodeId = core.configuration.nodeID
        coordinator.host = endpoint.host
        coordinator.port = endpoint.port
        return coordinator
    }
}
