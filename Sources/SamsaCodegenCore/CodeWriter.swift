// A tiny indenting text builder for generated Swift.

struct CodeWriter {
    private(set) var lines: [String] = []
    private var depth = 0

    mutating func line(_ text: String = "") {
        lines.append(text.isEmpty ? "" : String(repeating: "    ", count: depth) + text)
    }

    /// Writes `header {`, the body one level deeper, then `}`.
    mutating func block(_ header: String, _ body: (inout CodeWriter) -> Void) {
        line(header + " {")
        depth += 1
        body(&self)
        depth -= 1
        line("}")
    }

    /// Writes `switch subject {`, the cases at the same depth (Swift's usual layout), then `}`.
    mutating func switchBlock(_ subject: String, _ body: (inout CodeWriter) -> Void) {
        line("switch \(subject) {")
        body(&self)
        line("}")
    }

    /// Removes the `}` that closed the last block and writes `lines` inside that block again.
    mutating func extendLastBlock(with other: [String]) {
        precondition(lines.last?.hasSuffix("}") == true, "no block to extend")
        lines.removeLast()
        depth += 1
        append(other)
        depth -= 1
        line("}")
    }

    /// Appends lines produced elsewhere, indented to the current depth.
    mutating func append(_ other: [String]) {
        for text in other { line(text) }
    }

    /// Writes doc comment lines.
    mutating func doc(_ doc: [String]) {
        for text in doc { line(text.isEmpty ? "///" : "/// " + text) }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

/// Conditions on the `version` parameter of generated code.
enum VersionCondition {
    /// The test for `range`, or nil when every version of `hull` is in `range`.
    static func test(_ range: VersionRange, within hull: VersionRange) -> String? {
        if range.contains(hull) { return nil }
        let needsLower = range.lower > hull.lower
        let needsUpper = range.upper < hull.upper
        if needsLower && needsUpper && range.lower == range.upper { return "version == \(range.lower)" }
        var parts: [String] = []
        if needsLower { parts.append("version >= \(range.lower)") }
        if needsUpper { parts.append("version <= \(range.upper)") }
        return parts.joined(separator: " && ")
    }
}
