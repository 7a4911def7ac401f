import SamsaProtocol

/// AlterConfigs (key 33), versions 0-2.
///
/// The legacy API: a topic's overrides are replaced by exactly the configs given (an empty
/// list removes them all), validated as Kafka validates them (INVALID_CONFIG, with Kafka's
/// messages), recorded durably and applied to the topic's live logs. ValidateOnly checks
/// without changing anything. Null values, duplicate keys and a resource named twice are
/// INVALID_REQUEST; an unknown topic is UNKNOWN_TOPIC_OR_PARTITION. Broker resources accept
/// only an empty change: dynamic broker configs are not kept, so setting one is
/// INVALID_REQUEST with a message saying so (Kafka's answer for a config that cannot change
/// at run time). Other resource types are INVALID_REQUEST.
struct AlterConfigsHandler: RequestHandler {
    typealias Request = AlterConfigsRequest

    let core: BrokerCore

    func handle(_ request: AlterConfigsRequest, context: RequestContext) async throws -> AlterConfigsResponse? {
        let alterations = request.resources.map { resource in
            ConfigAlteration(
                resourceType: resource.resourceType, resourceName: resource.resourceName,
                changes: resource.configs.map { .init(name: $0.name, operation: nil, value: $0.value) },
                isIncremental: false)
        }
        let failures = try await ConfigAlteration.apply(alterations, validateOnly: request.validateOnly, on: core, context: context)
        var response = AlterConfigsResponse()
        response.responses = zip(request.resources, failures).map { resource, failure in
            var result = AlterConfigsResponse.AlterConfigsResourceResponse()
            result.resourceType = resource.resourceType
            result.resourceName = resource.resourceName
            result.errorCode = (failure?.code ?? .noError).rawValue
            result.errorMessage = failure?.message
            return result
        }
        return response
    }
}
