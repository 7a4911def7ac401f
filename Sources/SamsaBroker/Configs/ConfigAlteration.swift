import SamsaProtocol

/// One resource of an AlterConfigs or IncrementalAlterConfigs request, and the checks and
/// changes both APIs share, in the order Kafka's broker and controller apply them.
struct ConfigAlteration {
    /// One config change; `operation` is nil for the legacy AlterConfigs, which replaces the
    /// whole set.
    struct Change {
        var name: String
        var operation: Int8?
        var value: String?
    }

    var resourceType: Int8
    var resourceName: String
    var changes: [Change]
    /// IncrementalAlterConfigs (operations) rather than AlterConfigs (replace everything).
    var isIncremental: Bool

    /// Answers every resource: INVALID_REQUEST for a resource named twice ("Each resource must
    /// appear at most once."), then each one's own checks and change. Blocks on disk: call
    /// from ``BlockingWork``.
    static func apply(_ alterations: [ConfigAlteration], validateOnly: Bool, core: BrokerCore) throws -> [ConfigChangeFailure?] {
        var counts: [String: Int] = [:]
        func key(_ alteration: ConfigAlteration) -> String { "\(alteration.resourceType):\(alteration.resourceName)" }
        for alteration in alterations { counts[key(alteration), default: 0] += 1 }
        return try alterations.map { alteration in
            if counts[key(alteration)]! > 1 {
                return ConfigChangeFailure(.invalidRequest, "Each resource must appear at most once.")
            }
            return try alteration.apply(validateOnly: validateOnly, core: core)
        }
    }

    /// ``apply(_:validateOnly:core:)`` on the core's blocking pool: each resource's failure,
    /// nil where it succeeded.
    static func apply(
        _ alterations: [ConfigAlteration], validateOnly: Bool, on core: BrokerCore
    ) async throws -> [ConfigChangeFailure?] {
        try await core.blocking.run { try apply(alterations, validateOnly: validateOnly, core: core) }
    }

    /// ``apply(_:validateOnly:on:)`` for the resources the principal may ALTER_CONFIGS; the
    /// others fail with the authorization error.
    static func apply(
        _ alterations: [ConfigAlteration], validateOnly: Bool, on core: BrokerCore, context: RequestContext
    ) async throws -> [ConfigChangeFailure?] {
        let refusals = alterations.map {
            context.configRefusal(.alterConfigs, resourceType: $0.resourceType, resourceName: $0.resourceName)
        }
        let allowed = zip(alterations, refusals).filter { $0.1 == nil }.map(\.0)
        var outcomes = try await apply(allowed, validateOnly: validateOnly, on: core).makeIterator()
        return refusals.map { refusal in refusal ?? outcomes.next()! }
    }

    /// Checks and applies this resource's changes; nil on success.
    func apply(validateOnly: Bool, core: BrokerCore) throws -> ConfigChangeFailure? {
        if Set(changes.map(\.name)).count != changes.count {
            return ConfigChangeFailure(.invalidRequest, "Error due to duplicate config keys")
        }
        let nullNames = changes.filter { $0.value == nil && $0.operation != ConfigOperation.delete.rawValue }.map(\.name)
        if !nullNames.isEmpty {
            return ConfigChangeFailure(.invalidRequest, "Null value not supported for : \(nullNames.joined(separator: ", "))")
        }
        var operations: [(name: String, operation: ConfigOperation, value: String?)] = []
        for change in changes {
            guard let raw = change.operation else { continue }
            guard let operation = ConfigOperation(rawValue: raw) else {
                return ConfigChangeFailure(.invalidRequest, "Unknown operations type \(raw)")
            }
            operations.append((change.name, operation, change.value))
        }
        switch ConfigResourceType(rawValue: resourceType) {
        case .topic:
            let result = try core.changeTopicConfigs(named: resourceName, validateOnly: validateOnly) { current in
                if isIncremental {
                    return TopicConfigs.applying(operations, to: current)
                }
                var replacement: [String: String] = [:]
                for change in changes { replacement[change.name] = change.value ?? "" }
                return .success(replacement)
            }
            return result.errorCode == .noError ? nil : ConfigChangeFailure(result.errorCode, result.errorMessage ?? "")
        case .broker:
            if !resourceName.isEmpty, let failure = nodeIDProblem(core: core) { return failure }
            return brokerChangeProblem()
        case .brokerLogger where isIncremental:
            if let failure = nodeIDProblem(core: core) { return failure }
            if changes.isEmpty { return nil }
            return ConfigChangeFailure(.invalidRequest, "Changing log levels at run time is not supported by this broker")
        default:
            return ConfigChangeFailure(.invalidRequest, "Unknown resource type \(resourceType)")
        }
    }

    private func nodeIDProblem(core: BrokerCore) -> ConfigChangeFailure? {
        guard let id = Int32(resourceName) else {
            return ConfigChangeFailure(.invalidRequest, "Node id must be an integer, but it is: \(resourceName)")
        }
        guard id == core.configuration.nodeID else {
            return ConfigChangeFailure(
                .invalidRequest, "Unexpected broker id, expected \(core.configuration.nodeID), but received \(resourceName)")
        }
        return nil
    }

    /// Dynamic broker configs are not kept, so any change is refused the way Kafka refuses a
    /// config that cannot change at run time; removing nothing is accepted.
    private func brokerChangeProblem() -> ConfigChangeFailure? {
        let names = changes.filter { $0.operation != ConfigOperation.delete.rawValue }.map(\.name)
        guard !names.isEmpty else { return nil }
        return ConfigChangeFailure(
            .invalidRequest,
            "Cannot update these configs dynamically: \(names.joined(separator: ", ")). This broker does not support dynamic broker configs; set them in its configuration and restart it."
        )
    }
}
