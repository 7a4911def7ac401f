import SamsaCoordination
import SamsaProtocol

/// ListGroups (key 16), versions 0-5.
///
/// Lists every group this broker coordinates (all of them). v4 filters by state (names
/// compared case-insensitively, as Kafka does), v5 by type: "classic", or "consumer" for
/// KIP-848 groups (states Empty, Assigning, Reconciling, Stable). A filter naming only
/// unknown states or types matches nothing.
struct ListGroupsHandler: RequestHandler {
    typealias Request = ListGroupsRequest

    let groups: GroupCoordinator

    func handle(_ request: ListGroupsRequest, context: RequestContext) async throws -> ListGroupsResponse? {
        let version = context.apiVersion
        let stateNames = version >= 4 ? request.statesFilter : []
        let typeNames = version >= 5 ? request.typesFilter.map { $0.lowercased() } : []
        let known = Set(
            ClassicGroupState.allCases.map { $0.rawValue.lowercased() } + ConsumerGroupState.allCases.map { $0.rawValue.lowercased() })
        let states = Set(stateNames.map { $0.lowercased() }).intersection(known)
        var response = ListGroupsResponse()
        response.errorCode = ErrorCode.noError.rawValue
        if !stateNames.isEmpty && states.isEmpty {
            return response
        }
        let listed = await groups.listGroups(states: states, types: Set(typeNames))
        if !typeNames.isEmpty && listed.isEmpty {
            return response
        }
        // Without DESCRIBE on the cluster, only the groups the principal may describe are listed.
        let seesAll = context.allows(.describe, .cluster)
        response.groups = listed.filter { seesAll || context.allows(.describe, .group, $0.groupId) }.map { group in
            var entry = ListGroupsResponse.ListedGroup()
            entry.groupId = group.groupId
            entry.protocolType = group.protocolType
            entry.groupState = group.state
            entry.groupType = group.type
            return entry
        }
        return response
    }
}
