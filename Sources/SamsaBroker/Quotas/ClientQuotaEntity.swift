/// Who a client quota applies to: a user, a client id, or both; either may be the default
/// entity (Kafka's `<default>`), which applies to those without a quota of their own.
public struct ClientQuotaEntity: Hashable, Sendable, Codable {
    public enum Name: Hashable, Sendable, Codable {
        case named(String)
        case defaultEntity
    }

    public var user: Name?
    public var clientId: Name?

    public init(user: Name? = nil, clientId: Name? = nil) {
        self.user = user
        self.clientId = clientId
    }

    /// The quota keys this broker enforces.
    public static let producerByteRate = "producer_byte_rate"
    public static let consumerByteRate = "consumer_byte_rate"
    static let supportedKeys: Set<String> = [producerByteRate, consumerByteRate]

    /// The entities whose quota applies to `user` with `clientId`, in Kafka's order of
    /// precedence: the first that sets a key wins.
    static func precedence(user: String, clientId: String) -> [ClientQuotaEntity] {
        [
            ClientQuotaEntity(user: .named(user), clientId: .named(clientId)),
            ClientQuotaEntity(user: .named(user), clientId: .defaultEntity),
            ClientQuotaEntity(user: .named(user)),
            ClientQuotaEntity(user: .defaultEntity, clientId: .named(clientId)),
            ClientQuotaEntity(user: .defaultEntity, clientId: .defaultEntity),
            ClientQuotaEntity(user: .defaultEntity),
            ClientQuotaEntity(clientId: .named(clientId)),
            ClientQuotaEntity(clientId: .defaultEntity),
        ]
    }
}
