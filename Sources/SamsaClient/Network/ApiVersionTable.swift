import SamsaProtocol

/// The versions a broker serves per API (from its ApiVersions answer), and the version this
/// client uses for each request: the highest both sides speak.
struct ApiVersionTable: Sendable {
    private var ranges: [Int16: ClosedRange<Int16>]

    init(_ keys: [ApiVersionsResponse.ApiVersion]) {
        var ranges: [Int16: ClosedRange<Int16>] = [:]
        for key in keys where key.minVersion <= key.maxVersion {
            ranges[key.apiKey] = key.minVersion...key.maxVersion
        }
        self.ranges = ranges
    }

    /// The version to send `Request` at, or nil when the broker serves none this client speaks.
    func version<Request: KafkaRequestMessage>(for _: Request.Type) -> Int16? {
        version(for: Request.apiKey, supported: Request.supportedVersions)
    }

    func version(for apiKey: ApiKey, supported: ClosedRange<Int16>) -> Int16? {
        guard let served = ranges[apiKey.rawValue] else { return nil }
        let high = min(served.upperBound, supported.upperBound)
        return high >= max(served.lowerBound, supported.lowerBound) ? high : nil
    }

    /// Every API the broker serves, by key, with its version range.
    var all: [(apiKey: Int16, versions: ClosedRange<Int16>)] {
        ranges.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// The broker's range for `apiKey`, if it serves the API.
    func served(_ apiKey: ApiKey) -> ClosedRange<Int16>? { ranges[apiKey.rawValue] }
}
