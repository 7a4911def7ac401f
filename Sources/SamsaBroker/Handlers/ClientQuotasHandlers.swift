import Logging
import SamsaProtocol

/// DescribeClientQuotas (v0–1): the quotas of the entities a filter selects. Needs
/// DESCRIBE_CONFIGS on the cluster.
struct DescribeClientQuotasHandler: RequestHandler {
    let core: BrokerCore

    func handle(_ request: DescribeClientQuotasRequest, context: RequestContext) async throws -> DescribeClientQuotasResponse? {
        var response = DescribeClientQuotasResponse()
        response.errorMessage = nil
        guard context.allows(.describeConfigs, .cluster) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.entries = nil
            return response
        }
        let known = ["user", "client-id"]
        for component in request.components where !known.contains(component.entityType) || !(0...2).contains(component.matchType) {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            response.errorMessage = "Unsupported entity type \(component.entityType) or match type \(component.matchType)"
            response.entries = nil
            return response
        }
        let selected = core.topics.image.clientQuotas.filter { entity, _ in
            let present = [("user", entity.user), ("client-id", entity.clientId)].compactMap { type, name in name.map { (type, $0) } }
            if request.strict && Set(present.map(\.0)) != Set(request.components.map(\.entityType)) { return false }
            return request.components.allSatisfy { component in
                guard let name = present.first(where: { $0.0 == component.entityType })?.1 else { return false }
                switch (component.matchType, name) {
                case (0, .named(let value)): return component.match == value
                case (0, .defaultEntity): return component.match == nil
                case (1, .defaultEntity): return true
                case (2, .named): return true
                default: return false
                }
            }
        }
        response.entries = selected.sorted { "\($0.key)" < "\($1.key)" }.map { entity, values in
            var entry = DescribeClientQuotasResponse.EntryData()
            entry.entity = [("user", entity.user), ("client-id", entity.clientId)].compactMap { type, name in
                name.map { name in
                    var data = DescribeClientQuotasResponse.EntityData()
                    data.entityType = type
                    if case .named(let value) = name { data.entityName = value } else { data.entityName = nil }
                    return data
                }
            }
            entry.values = values.sorted { $0.key < $1.key }.map { key, value in
                var data = DescribeClientQuotasResponse.ValueData()
                data.key = key
                data.value = value
                return data
            }
            return entry
        }
        return response
    }
}

/// AlterClientQuotas (v0–1): sets and removes `producer_byte_rate` and `consumer_byte_rate`
/// of users, client ids and their defaults, durably. Needs ALTER_CONFIGS on the cluster.
struct AlterClientQuotasHandler: RequestHandler {
    let core: BrokerCore

    func handle(_ request: AlterClientQuotasRequest, context: RequestContext) async throws -> AlterClientQuotasResponse? {
        var response = AlterClientQuotasResponse()
        let allowed = context.allows(.alterConfigs, .cluster)
        var changes: [ClientQuotaEntity: [String: Double?]] = [:]
        var results: [AlterClientQuotasResponse.EntryData] = []
        for entry in request.entries {
            var result = AlterClientQuotasResponse.EntryData()
            result.errorMessage = nil
            result.entity = entry.entity.map { entity in
                var data = AlterClientQuotasResponse.EntityData()
                data.entityType = entity.entityType
                data.entityName = entity.entityName
                return data
            }
            let problem: (ErrorCode, String)?
            let parsed = Self.entity(of: entry)
            if !allowed {
                problem = (.clusterAuthorizationFailed, "Not authorized to alter client quotas.")
            } else if parsed == nil {
                problem = (.invalidRequest, "Quotas are set for a user, a client-id or both, each named once (ip is not supported)")
            } else if let key = entry.ops.first(where: { !ClientQuotaEntity.supportedKeys.contains($0.key) })?.key {
                problem = (.invalidRequest, "Unsupported quota \(key): producer_byte_rate and consumer_byte_rate are")
            } else if entry.ops.contains(where: { !$0.remove && !($0.value > 0) }) {
                problem = (.invalidRequest, "A quota must be a positive number of bytes per second")
            } else {
                problem = nil
            }
            if let (code, message) = problem {
                result.errorCode = code.rawValue
                result.errorMessage = message
            } else if let parsed {
                for op in entry.ops { changes[parsed, default: [:]][op.key] = op.remove ? .some(nil) : .some(op.value) }
            }
            results.append(result)
        }
        if !request.validateOnly {
            do {
                let topics = core.topics
                let made = changes
                try await core.blocking.run { try topics.changeClientQuotas(made) }
            } catch {
                core.logger.error("could not store client quotas: \(error)")
                for index in results.indices where results[index].errorCode == 0 {
                    results[index].errorCode = ErrorCode.kafkaStorageError.rawValue
                    results[index].errorMessage = "The quotas could not be stored: \(error)"
                }
            }
        }
        response.entries = results
        return response
    }

    private static func entity(of entry: AlterClientQuotasRequest.EntryData) -> ClientQuotaEntity? {
        var entity = ClientQuotaEntity()
        for component in entry.entity {
            let name: ClientQuotaEntity.Name = component.entityName.map { .named($0) } ?? .defaultEntity
            switch component.entityType {
            case "user" where entity.user == nil: entity.user = name
            case "client-id" where entity.clientId == nil: entity.clientId = name
            default: return nil
            }
        }
        return entity.user == nil && entity.clientId == nil ? nil : entity
    }
}
