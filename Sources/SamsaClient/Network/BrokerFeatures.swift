import SamsaProtocol

/// A broker's features (KIP-584), as its ApiVersions answer (v3 and later) reports them.
public struct BrokerFeatures: Sendable, Equatable {
    /// The levels of each feature the broker can run at.
    public var supported: [String: ClosedRange<Int16>] = [:]
    /// The levels the cluster runs at (for `transaction.version`, one level).
    public var finalized: [String: ClosedRange<Int16>] = [:]
    /// Grows with every change of the finalized levels; -1 when unknown.
    public var finalizedEpoch: Int64 = -1

    public init() {}

    init(_ response: ApiVersionsResponse) {
        for feature in response.supportedFeatures where feature.minVersion <= feature.maxVersion {
            supported[feature.name] = feature.minVersion...feature.maxVersion
        }
        for feature in response.finalizedFeatures where feature.minVersionLevel <= feature.maxVersionLevel {
            finalized[feature.name] = feature.minVersionLevel...feature.maxVersionLevel
        }
        finalizedEpoch = response.finalizedFeaturesEpoch
    }
}
