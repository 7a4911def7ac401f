import SamsaProtocol

/// IncrementalAlterConfigs (key 44), versions 0-1.
///
/// Per topic: SET and DELETE change single overrides; APPEND and SUBTRACT add items to or
/// remove them from list configs (cleanup.policy, the throttled-replica lists), starting from
/// the default when the topic has no override, and are INVALID_CONFIG on other configs, as in
/// Kafka. The result is validated (INVALID_CONFIG), recorded durably and applied to the
/// topic's live logs; ValidateOnly checks without changing anything. An unknown operation,
/// duplicate keys, a null value outside DELETE, or a resource named twice is INVALID_REQUEST.
/// Broker resources accept only DELETEs of configs that are not set (dynamic broker configs
/// are not kept); broker-logger levels cannot change at run time. Other resource types are
/// INVALID_REQUEST.
struct IncrementalAlterConfigsHandler: RequestHandler {
    typealias Request = IncrementalAlterConfigsRequest

    let core: BrokerCore

    func handle(
        _ request: IncrementalAlterConfigsRequest, context: RequestContext
    ) async throws -> IncrementalAlterConfigsResponse? {
        let alterations = request.resources.map { resource in
            ConfigAlteration(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                changes: resource.configs.map { .init(name: $0.name, operation: $0.configOperation, value: $0.value) },
                isIncremental: true)
        }
        let failures = try await ConfigAlteration.apply(alterations, validateOnly: request.validateOnly, on: core, context: context)
        var response = IncrementalAlterConfigsResponse()
        response.responses = zip(request.resources, failures).map { resource, failure in
            var result = IncrementalAlterConfigsResponse.AlterConfigsResourceResponse()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            result.errorCode = (failure?.code ?? .noError).rawValue
            result.errorMessage = failure?.message
            return result
        }
        return response
    }
}
