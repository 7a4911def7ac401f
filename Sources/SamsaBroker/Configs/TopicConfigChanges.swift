import Logging
import SamsaProtocol
import SamsaStorage

/// A Kafka error refusing a config change.
package struct ConfigChangeFailure: Error, Sendable {
    package var code: ErrorCode
    package var message: String

    package init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// One operation of IncrementalAlterConfigs, with Kafka's ids.
package enum ConfigOperation: Int8, Sendable {
    case set = 0
    case delete = 1
    case append = 2
    case subtract = 3

    var name: String {
        switch self {
        case .set: "SET"
        case .delete: "DELETE"
        case .append: "APPEND"
        case .subtract: "SUBTRACT"
        }
    }
}

extension TopicConfigs {
    /// Applies IncrementalAlterConfigs operations to a topic's overrides as Kafka does: APPEND
    /// and SUBTRACT work on list configs only, starting from the default when unset.
    package static func applying(
        _ operations: [(name: String, operation: ConfigOperation, value: String?)], to current: [String: String]
    ) -> Result<[String: String], ConfigChangeFailure> {
        var configs = current
        for (name, operation, value) in operations {
            switch operation {
            case .set:
                configs[name] = value ?? ""
            case .delete:
                configs[name] = nil
            case .append, .subtract:
                guard let definition = definition(named: name), definition.type == .list else {
                    return .failure(
                        ConfigChangeFailure(
                            .invalidConfig, "Can't \(operation.name) to key \(name) because its type is not LIST."))
                }
                var items = ConfigRule.listItems(configs[name] ?? definition.defaultValue ?? "")
                let changes = (value ?? "").split(separator: ",").map(String.init).filter { !$0.isEmpty }
                if operation == .append {
                    for item in changes where !items.contains(item) { items.append(item) }
                } else {
                    items.removeAll { changes.contains($0) }
                }
                configs[name] = items.joined(separator: ",")
            }
        }
        return .success(configs)
    }
}

extension BrokerCore {
    /// Changes the config overrides of topic `name`: `change` gets the current overrides and
    /// returns the new set, which is validated, recorded in the topic registry and applied to
    /// the topic's live logs. Runs under the registry's change lock, so concurrent changes do
    /// not lose each other's updates. Blocks on disk: call from ``BlockingWork``.
    package func changeTopicConfigs(
        named name: String, validateOnly: Bool,
        _ change: ([String: String]) -> Result<[String: String], ConfigChangeFailure>
    ) throws -> TopicChangeResult {
        if name.isEmpty {
            return .failure(.invalidRequest, "Default topic resources are not allowed.")
        }
        if let problem = Self.topicNameProblem(name) {
            return .failure(.invalidTopicException, problem)
        }
        var outcome = TopicChangeResult.failure(.unknownTopicOrPartition, "The topic '\(name)' does not exist.")
        var changed = false
        _ = try topics.update(named: name) { existing in
            guard let existing else { return nil }
            switch change(existing.configs) {
            case .failure(let failure):
                outcome = .failure(failure.code, failure.message)
                return nil
            case .success(let configs):
                if let problem = TopicConfigs.validate(configs) {
                    outcome = .failure(.invalidConfig, problem)
                    return nil
                }
                var topic = existing
                topic.configs = TopicConfigs.normalized(configs)
                outcome = TopicChangeResult(errorCode: .noError, errorMessage: nil, topic: topic)
                changed = topic != existing
                return validateOnly || !changed ? nil : topic
            }
        }
        if changed && !validateOnly, let topic = outcome.topic {
            applyLogConfig(to: topic)
            logger.info("changed topic configs", metadata: ["topic": "\(name)", "configs": "\(topic.configs)"])
        }
        return outcome
    }

    /// Gives every live log of `topic` the configuration its overrides now call for.
    func applyLogConfig(to topic: TopicMetadata) {
        let config = logConfig(for: topic.name)
        for partition in 0..<topic.partitionCount {
            logs.log(for: TopicPartition(topic: topic.name, partition: partition))?.config = config
        }
    }
}
