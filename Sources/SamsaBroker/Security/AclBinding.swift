/// What an ACL protects (Kafka's `ResourceType`).
public enum AclResourceType: Int8, Sendable, Codable, CaseIterable {
    case any = 1
    case topic = 2
    case group = 3
    case cluster = 4
    case transactionalId = 5
    case delegationToken = 6
    case user = 7
}

/// How an ACL's resource name is matched (Kafka's `PatternType`). `any` and `match` only
/// appear in filters.
public enum AclPatternType: Int8, Sendable, Codable, CaseIterable {
    case any = 1
    /// Filters only: the ACLs that would apply to the named resource (literal, `*` or prefixed).
    case match = 2
    case literal = 3
    case prefixed = 4
}

/// What an ACL allows or denies (Kafka's `AclOperation`).
public enum AclOperation: Int8, Sendable, Codable, CaseIterable {
    case any = 1
    case all = 2
    case read = 3
    case write = 4
    case create = 5
    case delete = 6
    case alter = 7
    case describe = 8
    case clusterAction = 9
    case describeConfigs = 10
    case alterConfigs = 11
    case idempotentWrite = 12
    case createTokens = 13
    case describeTokens = 14

    /// The operations an ALLOW of this one also allows, as Kafka's authorizer: READ, WRITE,
    /// DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS.
    var implied: [AclOperation] {
        switch self {
        case .read, .write, .delete, .alter: [.describe]
        case .alterConfigs: [.describeConfigs]
        default: []
        }
    }
}

/// ALLOW or DENY (Kafka's `AclPermissionType`).
public enum AclPermission: Int8, Sendable, Codable, CaseIterable {
    case any = 1
    case deny = 2
    case allow = 3
}

/// One ACL: `principal` from `host` is allowed or denied `operation` on the resources that
/// `resourceType`, `resourceName` and `patternType` name.
public struct AclBinding: Hashable, Sendable, Codable {
    public var resourceType: AclResourceType
    /// A name, or `*` (literal) for every resource of the type.
    public var resourceName: String
    public var patternType: AclPatternType
    /// `User:alice`, or `User:*` for everyone.
    public var principal: String
    /// An IP address, or `*` for any.
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(
        resourceType: AclResourceType, resourceName: String, patternType: AclPatternType, principal: String, host: String,
        operation: AclOperation, permission: AclPermission
    ) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Whether this ACL's pattern covers the resource called `name`.
    func covers(_ name: String) -> Bool {
        switch patternType {
        case .literal: resourceName == name || resourceName == "*"
        case .prefixed: name.hasPrefix(resourceName)
        case .any, .match: false
        }
    }

    /// Why this ACL cannot be stored, nil if it can (CreateAcls' INVALID_REQUEST cases).
    var invalidReason: String? {
        if resourceType == .any || operation == .any || permission == .any || patternType == .any || patternType == .match {
            return "ACLs must name a resource type, pattern type, operation and permission (not ANY or MATCH)"
        }
        if resourceName.isEmpty { return "ACLs must name a resource" }
        if resourceType == .cluster && !(resourceName == "kafka-cluster" && patternType == .literal) {
            return "The only valid name for the CLUSTER resource is kafka-cluster"
        }
        if patternType == .prefixed && resourceName == "*" { return "A prefixed ACL cannot be for `*`" }
        guard let parsed = KafkaPrincipal(parsing: principal), parsed.type == "User" || parsed.type == "Group" else {
            return "Invalid principal \(principal): expected User:name or User:*"
        }
        if host.isEmpty { return "ACLs must name a host, or * for any" }
        return nil
    }
}

/// What DescribeAcls and DeleteAcls select: nil fields and ANY match everything.
public struct AclBindingFilter: Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(
        resourceType: AclResourceType, resourceName: String?, patternType: AclPatternType, principal: String?, host: String?,
        operation: AclOperation, permission: AclPermission
    ) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Whether `binding` is selected.
    public func matches(_ binding: AclBinding) -> Bool {
        guard resourceType == .any || resourceType == binding.resourceType,
            operation == .any || operation == binding.operation,
            permission == .any || permission == binding.permission,
            principal.map({ $0 == binding.principal }) ?? true,
            host.map({ $0 == binding.host }) ?? true
        else { return false }
        switch patternType {
        case .any:
            return resourceName.map { $0 == binding.resourceName } ?? true
        case .match:
            return resourceName.map { binding.covers($0) } ?? true
        case .literal, .prefixed:
            return binding.patternType == patternType && (resourceName.map { $0 == binding.resourceName } ?? true)
        }
    }
}
