extension BrokerCore {
    /// This broker's configs as DescribeConfigs lists them, sorted by name.
    package var brokerConfigValues: [BrokerConfigs.Value] {
        BrokerConfigs.values(for: configuration, advertised: advertisedEndpoint, listenPort: boundPort.value)
    }

    /// Every config of a topic with the overrides `overrides`: the override where there is
    /// one, else the broker's value of its synonym, else Kafka's default. Sorted by name.
    package func topicConfigEntries(overrides: [String: String]) -> [ConfigEntry] {
        let broker = Dictionary(uniqueKeysWithValues: brokerConfigValues.map { ($0.name, $0) })
        return TopicConfigs.definitions.map { definition in
            var synonyms: [ConfigEntry.Synonym] = []
            if let override = overrides[definition.name] {
                synonyms.append(.init(name: definition.name, value: override, source: .topicConfig))
            }
            if let name = definition.brokerSynonym, let value = broker[name] {
                synonyms += value.synonyms
            }
            let value = synonyms.first.map(\.value) ?? definition.defaultValue
            let source = synonyms.first?.source ?? .defaultConfig
            return ConfigEntry(
                name: definition.name, value: value, source: source, type: definition.type, isReadOnly: false,
                isSensitive: false, synonyms: synonyms)
        }
    }
}

extension TopicConfigs {
    /// The value as Kafka stores and reports it after parsing: trimmed, booleans lowercased,
    /// list items trimmed.
    package static func normalized(_ value: String, for name: String) -> String {
        let trimmed = value.trimmingASCIISpaces
        switch definition(named: name)?.type {
        case .boolean: return trimmed.lowercased()
        case .list: return ConfigRule.listItems(trimmed).joined(separator: ",")
        default: return trimmed
        }
    }

    /// `configs` with every value normalized (see ``normalized(_:for:)``).
    package static func normalized(_ configs: [String: String]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: configs.map { ($0.key, normalized($0.value, for: $0.key)) })
    }
}
