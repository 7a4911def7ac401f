import SamsaProtocol

/// DeleteGroups (key 42), versions 0-2.
///
/// Deletes empty groups with their committed offsets (tombstones in `__consumer_offsets`).
/// A group with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
struct DeleteGroupsHandler: RequestHandler {
    typealias Request = DeleteGroupsRequest

    let groups: GroupCoordinator

    func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        let allowed = request.groupsNames.filter { context.allows(.delete, .group, $0) }
        let errors = Dictionary(zip(allowed, await groups.deleteGroups(allowed)), uniquingKeysWith: { first, _ in first })
        var response = DeleteGroupsResponse()
        response.results = request.groupsNames.map { id in
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = id
            result.errorCode = (errors[id] ?? .groupAuthorizationFailed).rawValue
            return result
        }
        return response
    }
}
