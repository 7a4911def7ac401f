/// The values a config accepts, checked the way Kafka's `ConfigDef` checks them (values are
/// trimmed, booleans are case-insensitive, numbers must fit their type).
package enum ConfigRule: Sendable {
    /// Any value of the config's type.
    case any
    /// An integer in `min...max`, or exactly `orExactly` (compression levels accept -1).
    case range(min: Int64?, max: Int64? = nil, orExactly: Int64? = nil)
    /// A double in `min...max`.
    case doubleRange(min: Double, max: Double)
    /// One of these strings.
    case oneOf([String])
    /// A comma-separated list whose items are each one of these strings.
    case listOf([String])
    /// `leader/follower.replication.throttled.replicas`: empty, `*`, or `partition:broker,...`.
    case throttledReplicas

    /// Why `value` does not fit, or nil when it does.
    func problem(with rawValue: String, type: ConfigType) -> String? {
        let value = rawValue.trimmingASCIISpaces
        if let problem = typeProblem(value, type: type) { return problem }
        switch self {
        case .any:
            return nil
        case .range(let min, let max, let exactly):
            let number = Int64(value)!  // checked by typeProblem
            if let exactly, number == exactly { return nil }
            if let min, number < min { return "Value must be at least \(min)" }
            if let max, number > max { return "Value must be no more than \(max)" }
            return nil
        case .doubleRange(let min, let max):
            let number = Double(value)!
            // Kafka declares these bounds as integers, so prints them without a fraction.
            if number < min { return "Value must be at least \(Self.format(min))" }
            if number > max { return "Value must be no more than \(Self.format(max))" }
            return nil
        case .oneOf(let allowed):
            return allowed.contains(value) ? nil : "String must be one of: \(allowed.joined(separator: ", "))"
        case .listOf(let allowed):
            for item in Self.listItems(value) where !allowed.contains(item) {
                return "String must be one of: \(allowed.joined(separator: ", "))"
            }
            return nil
        case .throttledReplicas:
            return Self.throttledReplicasProblem(value)
        }
    }

    private func typeProblem(_ value: String, type: ConfigType) -> String? {
        switch type {
        case .boolean:
            let lowered = value.lowercased()
            return lowered == "true" || lowered == "false" ? nil : "Expected value to be either true or false"
        case .int:
            return Int32(value) == nil ? "Not a number of type INT" : nil
        case .short:
            return Int16(value) == nil ? "Not a number of type SHORT" : nil
        case .long:
            return Int64(value) == nil ? "Not a number of type LONG" : nil
        case .double:
            guard let number = Double(value), number.isFinite else { return "Not a number of type DOUBLE" }
            return nil
        case .string, .list, .class, .password, .unknown:
            return nil
        }
    }

    private static func format(_ bound: Double) -> String {
        bound == bound.rounded() && abs(bound) < 1e15 ? String(Int64(bound)) : String(bound)
    }

    /// The items of a list value: split on commas, trimmed, empty items dropped.
    static func listItems(_ value: String) -> [String] {
        value.split(separator: ",").map { String($0).trimmingASCIISpaces }.filter { !$0.isEmpty }
    }

    private static func throttledReplicasProblem(_ value: String) -> String? {
        let items = listItems(value)
        if items == ["*"] || items.isEmpty { return nil }
        for item in items {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2, Int32(parts[0]) != nil, Int32(parts[1]) != nil else {
                return
                    "must be the literal '*' or a list of replicas in the following format: [partitionId]:[brokerId],[partitionId]:[brokerId],..."
            }
        }
        return nil
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and line breaks (Java's `trim`).
    var trimmingASCIISpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
