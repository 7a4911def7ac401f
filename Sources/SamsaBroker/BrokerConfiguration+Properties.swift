import SamsaStorage

/// A problem in a configuration file or flag, with where it came from.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

extension BrokerConfiguration {
    /// The keys a configuration file may set, with what they do (for `samsa serve --help`):
    /// the documented rows of ``BrokerConfigs/definitions``.
    public static var propertyDocumentation: [(key: String, meaning: String)] {
        BrokerConfigs.definitions.compactMap { definition in definition.documentation.map { (definition.name, $0) } }
    }

    /// Parses a configuration file: `key = value` lines (or `key: value`), `#` comments, blank
    /// lines ignored. Keys are those of ``BrokerConfigs/definitions``.
    public static func parseProperties(_ text: String, source: String) throws(ConfigurationError) -> [(key: String, value: String)] {
        var result: [(key: String, value: String)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let trimmed = line.trimmingWhitespace()
            if trimmed.isEmpty { continue }
            guard let separator = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw ConfigurationError("\(source):\(index + 1): expected `key = value`, got `\(trimmed)`")
            }
            let key = trimmed[..<separator].trimmingWhitespace()
            let value = trimmed[trimmed.index(after: separator)...].trimmingWhitespace()
            result.append((String(key), String(value)))
        }
        return result
    }

    /// Applies one setting, as its row of ``BrokerConfigs/definitions`` says. Throws a
    /// readable error for unknown keys, keys that cannot be set and bad values.
    public mutating func apply(key: String, value: String) throws(ConfigurationError) {
        guard let definition = BrokerConfigs.definition(named: key) else {
            throw ConfigurationError("unknown setting `\(key)` (see `samsa serve --help` for the list)")
        }
        guard let apply = definition.apply else {
            throw ConfigurationError("`\(key)` is fixed in this broker and cannot be set")
        }
        do {
            try apply(&self, value)
        } catch {
            throw ConfigurationError("\(key): \(error.description)")
        }
    }

    /// Parses `HOST:PORT`, `:PORT` or `[IPv6]:PORT`.
    public static func parseHostPort(_ text: String) throws(ConfigurationError) -> (String, Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw ConfigurationError("expected HOST:PORT, got `\(text)`")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ConfigurationError("`\(text)` has no valid port (0-65535)")
        }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start].isWhitespace { start = index(after: start) }
        while end > start, self[index(before: end)].isWhitespace { end = index(before: end) }
        return self[start..<end]
    }
}
