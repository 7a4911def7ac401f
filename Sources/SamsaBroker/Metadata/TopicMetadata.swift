import SamsaBinary

/// What the broker knows about one topic: its name, id, partition count and the configs set on
/// it (only the overrides; everything else comes from the broker's defaults).
package struct TopicMetadata: Hashable, Sendable, Codable {
    package var name: String
    package var id: KafkaUUID
    package var partitionCount: Int32
    /// Topic-level config overrides by Kafka name (`retention.ms`, `cleanup.policy`...).
    package var configs: [String: String]

    package init(name: String, id: KafkaUUID, partitionCount: Int32, configs: [String: String] = [:]) {
        self.name = name
        self.id = id
        self.partitionCount = partitionCount
        self.configs = configs
    }

    /// Internal topics (`__consumer_offsets`, `__transaction_state`) are flagged in Metadata.
    package var isInternal: Bool { InternalTopics.all.contains(name) }

    private enum CodingKeys: String, CodingKey {
        case name, id, partitionCount, configs
    }

    package init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        let idText = try container.decode(String.self, forKey: .id)
        guard let id = KafkaUUID(base64: idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "not a topic id: \(idText)")
        }
        self.id = id
        partitionCount = try container.decode(Int32.self, forKey: .partitionCount)
        configs = try container.decode([String: String].self, forKey: .configs)
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(id.base64, forKey: .id)
        try container.encode(partitionCount, forKey: .partitionCount)
        try container.encode(configs, forKey: .configs)
    }
}

/// A consistent view of every topic, replaced as a whole on each change so readers never see a
/// half-applied one.
package struct MetadataImage: Sendable {
    /// The cluster id, generated at the first start and kept in the metadata log.
    package var clusterID: String
    package private(set) var topicsByName: [String: TopicMetadata] = [:]
    private var namesByID: [KafkaUUID: String] = [:]
    /// SCRAM credentials by user, then mechanism.
    package internal(set) var scramCredentials: [String: [SASLMechanism: ScramCredential]] = [:]
    /// Client quotas (`producer_byte_rate`, `consumer_byte_rate`) by entity.
    package internal(set) var clientQuotas: [ClientQuotaEntity: [String: Double]] = [:]
    /// The ACLs, by the type of resource they protect.
    package internal(set) var aclsByType: [AclResourceType: [AclBinding]] = [:]

    /// Every ACL.
    package var acls: [AclBinding] { aclsByType.values.flatMap { $0 } }

    mutating func add(_ acl: AclBinding) {
        if aclsByType[acl.resourceType]?.contains(acl) == true { return }
        aclsByType[acl.resourceType, default: []].append(acl)
    }

    mutating func remove(_ acl: AclBinding) {
        aclsByType[acl.resourceType]?.removeAll { $0 == acl }
    }

    package init(clusterID: String) {
        self.clusterID = clusterID
    }

    /// The topic called `name`.
    package func topic(named name: String) -> TopicMetadata? { topicsByName[name] }

    /// The topic whose id is `id`.
    package func topic(id: KafkaUUID) -> TopicMetadata? {
        namesByID[id].flatMap { topicsByName[$0] }
    }

    /// Every topic, sorted by name.
    package var topics: [TopicMetadata] { topicsByName.values.sorted { $0.name < $1.name } }

    mutating func put(_ topic: TopicMetadata) {
        if let previous = topicsByName[topic.name] {
            namesByID[previous.id] = nil
        }
        topicsByName[topic.name] = topic
        namesByID[topic.id] = topic.name
    }

    mutating func remove(named name: String) {
        if let previous = topicsByName.removeValue(forKey: name) {
            namesByID[previous.id] = nil
        }
    }
}
