/// Kafka's ACL authorizer: decides whether a principal from a host may do an operation on a
/// resource, from the ACLs kept in the metadata log.
///
/// Off unless `authorizer.class.name` is set (then every API checks it, as Kafka's
/// `StandardAuthorizer`). Super users may do everything; a DENY that matches wins over any
/// ALLOW; READ, WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies
/// DESCRIBE_CONFIGS; a resource no ACL covers is allowed only with
/// `allow.everyone.if.no.acl.found`.
package final class Authorizer: Sendable {
    /// Whether ACLs are checked at all.
    package let isEnabled: Bool
    private let superUsers: Set<KafkaPrincipal>
    private let allowEveryoneIfNoAclFound: Bool
    private let registry: TopicRegistry

    init(security: SecurityConfiguration, registry: TopicRegistry) {
        self.isEnabled = security.authorizerEnabled
        self.superUsers = security.superUsers
        self.allowEveryoneIfNoAclFound = security.allowEveryoneIfNoAclFound
        self.registry = registry
    }

    /// Whether `principal`, connected from `host`, may do `operation` on the resource of
    /// `type` called `name` (`kafka-cluster` for the cluster).
    package func authorizes(
        _ principal: KafkaPrincipal, host: String, _ operation: AclOperation, _ type: AclResourceType, _ name: String
    ) -> Bool {
        guard isEnabled, !superUsers.contains(principal) else { return true }
        let acls = registry.image.acls(of: type).filter { $0.covers(name) }
        if acls.isEmpty { return allowEveryoneIfNoAclFound }
        let who = principal.description
        let wildcard = "\(principal.type):*"
        let applying = acls.filter { ($0.principal == who || $0.principal == wildcard) && ($0.host == "*" || $0.host == host) }
        if applying.contains(where: { $0.permission == .deny && ($0.operation == operation || $0.operation == .all) }) {
            return false
        }
        return applying.contains { acl in
            acl.permission == .allow && (acl.operation == operation || acl.operation == .all || acl.operation.implied.contains(operation))
        }
    }

    /// Whether `principal` may do `operation` on some resource of `type`: an ALLOW names it,
    /// and no DENY covers every resource of the type (Kafka's `authorizeByResourceType`).
    package func authorizesSome(_ principal: KafkaPrincipal, host: String, _ operation: AclOperation, _ type: AclResourceType) -> Bool {
        guard isEnabled, !superUsers.contains(principal) else { return true }
        let who = principal.description
        let wildcard = "\(principal.type):*"
        let applying = registry.image.acls(of: type).filter {
            ($0.principal == who || $0.principal == wildcard) && ($0.host == "*" || $0.host == host)
                && ($0.operation == operation || $0.operation == .all)
        }
        let deniedEverywhere = applying.contains { $0.permission == .deny && $0.patternType == .literal && $0.resourceName == "*" }
        return !deniedEverywhere && applying.contains { $0.permission == .allow }
    }
}

extension MetadataImage {
    /// The ACLs on resources of `type`.
    func acls(of type: AclResourceType) -> [AclBinding] { aclsByType[type] ?? [] }
}
