import NIOCore
import SamsaProtocol

/// The handlers of a broker, by API key. ApiVersions advertises exactly what is registered.
package struct RequestRouter: Sendable {
    /// A registered handler with its request type erased.
    struct Route: Sendable {
        let versions: ClosedRange<Int16>
        let respond: @Sendable (any KafkaRequestMessage, RequestContext) async throws -> ResponseFrame?
    }

    private(set) var routes: [ApiKey: Route] = [:]

    package init() {}

    /// Adds `handler` for its API; a later registration for the same API replaces it.
    package mutating func register<Handler: RequestHandler>(_ handler: Handler) {
        precondition(
            Handler.Request.supportedVersions.contains(handler.versions.lowerBound)
                && Handler.Request.supportedVersions.contains(handler.versions.upperBound),
            "\(Handler.self) advertises versions its messages cannot encode"
        )
        routes[Handler.Request.apiKey] = Route(versions: handler.versions) { body, context in
            guard let request = body as? Handler.Request else {
                preconditionFailure("router gave \(type(of: body)) to \(Handler.self)")
            }
            return try await handler.respond(to: request, context: context)
        }
    }

    /// The versions answered for `apiKey`, or nil if it has no handler.
    package func versions(for apiKey: ApiKey) -> ClosedRange<Int16>? {
        routes[apiKey]?.versions
    }

    /// Every handled API with its version range, sorted by key: the body of ApiVersions.
    package var advertisedVersions: [(apiKey: ApiKey, versions: ClosedRange<Int16>)] {
        routes.map { (apiKey: $0.key, versions: $0.value.versions) }.sorted { $0.apiKey.rawValue < $1.apiKey.rawValue }
    }

    func route(for apiKey: ApiKey) -> Route? {
        routes[apiKey]
    }
}
