/// What a broker or client needs to know about one API without naming its types: the request
/// and response types, the version ranges, and the header versions they imply.
///
/// ``ApiMessageTable`` holds one descriptor per API of the spec.
public struct ApiMessageDescriptor: Sendable {
    public let apiKey: ApiKey
    public let requestType: any KafkaRequestMessage.Type
    public let responseType: any KafkaResponseMessage.Type
    /// The versions this library encodes and decodes.
    public let supportedVersions: ClosedRange<Int16>
    /// The versions to advertise in ApiVersions.
    public let advertisedVersions: ClosedRange<Int16>
    /// The first flexible version, or nil if there is none.
    public let firstFlexibleVersion: Int16?

    /// Describes the API of `request`.
    public init<Request: KafkaRequestMessage>(request: Request.Type) {
        self.apiKey = Request.apiKey
        self.requestType = Request.self
        self.responseType = Request.Response.self
        self.supportedVersions = Request.supportedVersions
        self.advertisedVersions = Request.advertisedVersions
        self.firstFlexibleVersion = Request.firstFlexibleVersion
    }

    /// True when `version` uses compact encodings and tagged fields. Flexible ranges are
    /// open-ended, so this also answers for versions above `supportedVersions`.
    public func isFlexible(version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }

    /// The request header version for a request at `version`: 2 if flexible, else 1, except
    /// ControlledShutdown v0, which uses header v0.
    public func requestHeaderVersion(for version: Int16) -> Int16 {
        if apiKey.rawValue == 7 && version == 0 { return 0 }
        return isFlexible(version: version) ? 2 : 1
    }

    /// The response header version for a response at `version`: 1 if flexible, else 0, except
    /// ApiVersions, whose responses always use header v0 so that a client that does not know the
    /// broker's versions yet can read them (KIP-511).
    public func responseHeaderVersion(for version: Int16) -> Int16 {
        if apiKey.rawValue == 18 { return 0 }
        return isFlexible(version: version) ? 1 : 0
    }
}
