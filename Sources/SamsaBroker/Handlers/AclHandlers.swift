import Logging
import SamsaProtocol

/// CreateAcls (v0–3): stores ACLs durably. Needs ALTER on the cluster.
struct CreateAclsHandler: RequestHandler {
    let core: BrokerCore

    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: CreateAclsRequest, context: RequestContext) async throws -> CreateAclsResponse? {
        var response = CreateAclsResponse()
        guard context.allows(.alter, .cluster) else {
            response.results = request.creations.map { _ in .failure(.clusterAuthorizationFailed, nil) }
            return response
        }
        var accepted: [AclBinding] = []
        var results: [CreateAclsResponse.AclCreationResult] = []
        for creation in request.creations {
            guard let binding = AclBinding(creation) else {
                results.append(.failure(.invalidRequest, "Unknown resource type, pattern type, operation or permission"))
                continue
            }
            if let reason = binding.invalidReason {
                results.append(.failure(.invalidRequest, reason))
                continue
            }
            accepted.append(binding)
            results.append(.failure(.noError, nil))
        }
        do {
            let topics = core.topics
            let added = accepted
            try await core.blocking.run { try topics.changeAcls(adding: added, removing: []) }
        } catch {
            core.logger.error("could not store ACLs: \(error)")
            results = results.map { $0.errorCode == 0 ? .failure(.kafkaStorageError, "The ACLs could not be stored: \(error)") : $0 }
        }
        response.results = results
        return response
    }
}

/// DescribeAcls (v0–3): the ACLs a filter selects, grouped by resource. Needs DESCRIBE on the
/// cluster.
struct DescribeAclsHandler: RequestHandler {
    let core: BrokerCore

    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: DescribeAclsRequest, context: RequestContext) async throws -> DescribeAclsResponse? {
        var response = DescribeAclsResponse()
        guard context.allows(.describe, .cluster) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = nil
            return response
        }
        guard
            let filter = AclBindingFilter(
                resourceType: request.resourceTypeFilter, resourceName: request.resourceNameFilter, patternType: request.patternTypeFilter,
                principal: request.principalFilter, host: request.hostFilter, operation: request.operation,
                permission: request.permissionType)
        else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = "Unknown resource type, pattern type, operation or permission in the filter"
            return response
        }
        response.errorMessage = nil
        let selected = core.topics.image.acls.filter(filter.matches)
        let byResource = Dictionary(grouping: selected) {
            ResourceKey(type: $0.resourceType, name: $0.resourceName, pattern: $0.patternType)
        }
        response.resources = byResource.keys.sorted().map { key in
            var resource = DescribeAclsResponse.DescribeAclsResource()
            resource.resourceType = key.type.rawValue
            resource.resourceName = key.name
            resource.patternType = key.pattern.rawValue
            resource.acls = byResource[key]!.map { acl in
                var description = DescribeAclsResponse.AclDescription()
                description.principal = acl.principal
                description.host = acl.host
                description.operation = acl.operation.rawValue
                description.permissionType = acl.permission.rawValue
                return description
            }
            return resource
        }
        return response
    }

    private struct ResourceKey: Hashable, Comparable {
        var type: AclResourceType
        var name: String
        var pattern: AclPatternType

        static func < (left: ResourceKey, right: ResourceKey) -> Bool {
            (left.type.rawValue, left.name, left.pattern.rawValue) < (right.type.rawValue, right.name, right.pattern.rawValue)
        }
    }
}

/// DeleteAcls (v0–3): removes the ACLs each filter selects and lists them. Needs ALTER on the
/// cluster.
struct DeleteAclsHandler: RequestHandler {
    let core: BrokerCore

    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: DeleteAclsRequest, context: RequestContext) async throws -> DeleteAclsResponse? {
        var response = DeleteAclsResponse()
        let allowed = context.allows(.alter, .cluster)
        let existing = core.topics.image.acls
        var removed: Set<AclBinding> = []
        response.filterResults = request.filters.map { filterRequest in
            var result = DeleteAclsResponse.DeleteAclsFilterResult()
            result.errorMessage = nil
            guard allowed else {
                result.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
                return result
            }
            guard
                let filter = AclBindingFilter(
                    resourceType: filterRequest.resourceTypeFilter, resourceName: filterRequest.resourceNameFilter,
                    patternType: filterRequest.patternTypeFilter, principal: filterRequest.principalFilter, host: filterRequest.hostFilter,
                    operation: filterRequest.operation, permission: filterRequest.permissionType)
            else {
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Unknown resource type, pattern type, operation or permission in the filter"
                return result
            }
            let matching = existing.filter(filter.matches)
            removed.formUnion(matching)
            result.matchingAcls = matching.map { acl in
                var entry = DeleteAclsResponse.DeleteAclsMatchingAcl()
                entry.errorMessage = nil
                entry.resourceType = acl.resourceType.rawValue
                entry.resourceName = acl.resourceName
                entry.patternType = acl.patternType.rawValue
                entry.principal = acl.principal
                entry.host = acl.host
                entry.operation = acl.operation.rawValue
                entry.permissionType = acl.permission.rawValue
                return entry
            }
            return result
        }
        do {
            let topics = core.topics
            let gone = Array(removed)
            try await core.blocking.run { try topics.changeAcls(adding: [], removing: gone) }
        } catch {
            core.logger.error("could not delete ACLs: \(error)")
            for index in response.filterResults.indices where response.filterResults[index].errorCode == 0 {
                response.filterResults[index].errorCode = ErrorCode.kafkaStorageError.rawValue
                response.filterResults[index].errorMessage = "The ACLs could not be deleted: \(error)"
                response.filterResults[index].matchingAcls = []
            }
        }
        return response
    }
}

extension CreateAclsResponse.AclCreationResult {
    fileprivate static func failure(_ code: ErrorCode, _ message: String?) -> Self {
        var result = Self()
        result.errorCode = code.rawValue
        result.errorMessage = message
        return result
    }
}

extension AclBinding {
    /// The ACL of a CreateAcls entry; nil for unknown codes.
    fileprivate init?(_ creation: CreateAclsRequest.AclCreation) {
        guard let type = AclResourceType(rawValue: creation.resourceType),
            let pattern = AclPatternType(rawValue: creation.resourcePatternType),
            let operation = AclOperation(rawValue: creation.operation),
            let permission = AclPermission(rawValue: creation.permissionType)
        else { return nil }
        self.init(
            resourceType: type, resourceName: creation.resourceName, patternType: pattern, principal: creation.principal,
            host: creation.host, operation: operation, permission: permission)
    }
}

extension AclBindingFilter {
    /// The filter of a DescribeAcls or DeleteAcls request; nil for unknown codes.
    fileprivate init?(
        resourceType: Int8, resourceName: String?, patternType: Int8, principal: String?, host: String?, operation: Int8, permission: Int8
    ) {
        guard let type = AclResourceType(rawValue: resourceType), let pattern = AclPatternType(rawValue: patternType),
            let operation = AclOperation(rawValue: operation), let permission = AclPermission(rawValue: permission)
        else { return nil }
        self.init(
            resourceType: type, resourceName: resourceName, patternType: pattern, principal: principal, host: host, operation: operation,
            permission: permission)
    }
}
