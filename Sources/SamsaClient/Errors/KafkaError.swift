import SamsaProtocol

/// An error a broker answered with: Kafka's error code, whether trying again can help, and
/// the topic and partition it concerns, when it concerns one.
public struct KafkaError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Kafka's error code.
    public var code: ErrorCode
    /// The broker's error message, when it sent one.
    public var message: String?
    /// The topic the error concerns, if any.
    public var topic: String?
    /// The partition the error concerns, if any.
    public var partition: Int32?

    public init(_ code: ErrorCode, message: String? = nil, topic: String? = nil, partition: Int32? = nil) {
        self.code = code
        self.message = message
        self.topic = topic
        self.partition = partition
    }

    /// Whether the same request may succeed later (Kafka's retriable errors).
    public var isRetriable: Bool { code.isRetriable }

    public var description: String {
        var text = "\(code.name) (\(code.rawValue))"
        if let topic {
            text += " for \(topic)"
            if let partition { text += "-\(partition)" }
        }
        text += ": " + (message.flatMap { $0.isEmpty ? nil : $0 } ?? code.message)
        return text
    }
}

/// A failure of the client itself rather than an error code from a broker.
public enum SamsaClientError: Error, Sendable, CustomStringConvertible {
    /// No broker of the bootstrap list or of the cluster's metadata could be reached.
    case noBrokerAvailable(tried: [String], lastError: String?)
    /// The connection to a broker closed with requests outstanding.
    case connectionClosed(broker: String)
    /// A broker did not answer a request within the request timeout.
    case requestTimedOut(api: ApiKey, broker: String, timeoutMs: Int64)
    /// A broker serves no version of an API that this client speaks.
    case unsupportedVersion(api: ApiKey, broker: String)
    /// A broker's answer could not be read.
    case malformedResponse(api: ApiKey, broker: String, reason: String)
    /// A configuration value is not valid.
    case invalidConfiguration(String)
    /// A record could not be delivered within `delivery.timeout.ms`.
    case deliveryTimedOut(topic: String, partition: Int32, lastError: String?)
    /// The producer or consumer was closed.
    case closed

    /// Whether trying again later can help.
    /// True for ``closed``: the client was closed, nothing failed.
    var isClosed: Bool {
        if case .closed = self { return true }
        return false
    }

    public var isRetriable: Bool {
        switch self {
        case .noBrokerAvailable, .connectionClosed, .requestTimedOut: true
        case .unsupportedVersion, .malformedResponse, .invalidConfiguration, .deliveryTimedOut, .closed: false
        }
    }

    public var description: String {
        switch self {
        case .noBrokerAvailable(let tried, let lastError):
            "no broker available (tried \(tried.joined(separator: ", ")))" + (lastError.map { ": \($0)" } ?? "")
        case .connectionClosed(let broker): "the connection to \(broker) closed"
        case .requestTimedOut(let api, let broker, let timeoutMs): "\(api) to \(broker) timed out after \(timeoutMs) ms"
        case .unsupportedVersion(let api, let broker): "\(broker) serves no version of \(api) this client speaks"
        case .malformedResponse(let api, let broker, let reason): "unreadable \(api) response from \(broker): \(reason)"
        case .invalidConfiguration(let reason): "invalid configuration: \(reason)"
        case .deliveryTimedOut(let topic, let partition, let lastError):
            "record for \(topic)-\(partition) not delivered within delivery.timeout.ms" + (lastError.map { " (last error: \($0))" } ?? "")
        case .closed: "closed"
        }
    }
}
