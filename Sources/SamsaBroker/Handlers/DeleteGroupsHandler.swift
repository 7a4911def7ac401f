import SamsaProtocol

/// DeleteGroups (key 42), versions 0-2.
///
/// Deletes empty groups with their committed offsets (tombstones in `__consumer_offsets`).
/// A group with members gets NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
struct DeleteGroupsHandler: RequestHandler {
    typealias Request = DeleteGroupsRequest

    let groups: GroupCoordinator

    func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        let errors = await groups.deleteGroups(request.groupsNames)
        var response = DeleteGroupsResponse()
        response.results = zip(request.groupsNames, errors).map { id, error in
            var result = DeleteGroupsResponse.DeletableGroupResult()
            result.groupId = id
            result.errorCode = error.rawValue
            return result
        }
        return response
    }
}
