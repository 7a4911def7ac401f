import SamsaTesting
import Testing

@testable import SamsaBroker

@Suite("ACL authorizer")
struct AuthorizerTests {
    private static let alice = KafkaPrincipal(name: "alice")

    private func withAcls(
        _ acls: [AclBinding], allowEveryone: Bool = false, _ body: (Authorizer) throws -> Void
    ) async throws {
        try await withTestBroker(dataDirectory: .inMemory()) { configuration in
            configuration.security.authorizerEnabled = true
            configuration.security.superUsers = [KafkaPrincipal(name: "admin")]
            configuration.security.allowEveryoneIfNoAclFound = allowEveryone
        } _: { broker, _ in
            try broker.core.topics.changeAcls(adding: acls, removing: [])
            try body(broker.core.authorizer)
        }
    }

    private func topic(
        _ name: String, _ pattern: AclPatternType, _ operation: AclOperation, _ permission: AclPermission = .allow,
        principal: String = "User:alice", host: String = "*"
    ) -> AclBinding {
        AclBinding(
            resourceType: .topic, resourceName: name, patternType: pattern, principal: principal, host: host, operation: operation,
            permission: permission)
    }

    @Test("deny beats allow; prefixed and wildcard patterns match; READ implies DESCRIBE")
    func matching() async throws {
        try await withAcls([
            topic("orders-", .prefixed, .read),
            topic("orders-secret", .literal, .read, .deny),
            topic("*", .literal, .describe, principal: "User:*"),
            topic("audit", .literal, .write, host: "10.0.0.1"),
        ]) { authorizer in
            #expect(authorizer.authorizes(Self.alice, host: "127.0.0.1", .read, .topic, "orders-eu"))
            #expect(authorizer.authorizes(Self.alice, host: "127.0.0.1", .describe, .topic, "orders-eu"))
            #expect(!authorizer.authorizes(Self.alice, host: "127.0.0.1", .write, .topic, "orders-eu"))
            #expect(!authorizer.authorizes(Self.alice, host: "127.0.0.1", .read, .topic, "orders-secret"))
            #expect(authorizer.authorizes(KafkaPrincipal(name: "bob"), host: "127.0.0.1", .describe, .topic, "anything"))
            #expect(!authorizer.authorizes(KafkaPrincipal(name: "bob"), host: "127.0.0.1", .read, .topic, "anything"))
            #expect(authorizer.authorizes(Self.alice, host: "10.0.0.1", .write, .topic, "audit"))
            #expect(!authorizer.authorizes(Self.alice, host: "10.0.0.2", .write, .topic, "audit"))
            #expect(authorizer.authorizes(KafkaPrincipal(name: "admin"), host: "10.0.0.2", .delete, .cluster, "kafka-cluster"))
            #expect(!authorizer.authorizes(Self.alice, host: "127.0.0.1", .describe, .cluster, "kafka-cluster"))
            #expect(authorizer.authorizesSome(Self.alice, host: "127.0.0.1", .read, .topic))
            #expect(!authorizer.authorizesSome(Self.alice, host: "127.0.0.1", .write, .group))
        }
    }

    @Test("a resource no ACL covers is refused, unless allow.everyone.if.no.acl.found")
    func noAclFound() async throws {
        try await withAcls([]) { authorizer in
            #expect(!authorizer.authorizes(Self.alice, host: "127.0.0.1", .read, .topic, "t"))
        }
        try await withAcls([], allowEveryone: true) { authorizer in
            #expect(authorizer.authorizes(Self.alice, host: "127.0.0.1", .read, .topic, "t"))
        }
    }

    @Test("filters select by type, pattern, principal and operation; MATCH selects what applies to a name")
    func filters() {
        let prefixed = topic("orders-", .prefixed, .read)
        let literal = topic("orders-eu", .literal, .write)
        let any = AclBindingFilter(
            resourceType: .any, resourceName: nil, patternType: .any, principal: nil, host: nil, operation: .any, permission: .any)
        #expect(any.matches(prefixed) && any.matches(literal))
        var match = any
        match.resourceName = "orders-eu"
        match.patternType = .match
        #expect(match.matches(prefixed) && match.matches(literal))
        var onlyLiteral = any
        onlyLiteral.patternType = .literal
        #expect(!onlyLiteral.matches(prefixed) && onlyLiteral.matches(literal))
        var writes = any
        writes.operation = .write
        #expect(!writes.matches(prefixed) && writes.matches(literal))
        #expect(
            AclBinding(
                resourceType: .cluster, resourceName: "other", patternType: .literal, principal: "User:a", host: "*", operation: .alter,
                permission: .allow
            ).invalidReason != nil)
        #expect(topic("t", .literal, .any).invalidReason != nil)
        #expect(topic("t", .literal, .read, principal: "alice").invalidReason != nil)
        #expect(prefixed.invalidReason == nil)
    }
}
