// Writes the Swift file of one API key: its request and response structs with straight-line
// decoders and encoders.

struct MessageEmitter {
    let api: ResolvedApi

    var flexible: VersionRange { api.flexibleRange }

    func fileContents(header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.line("import NIOCore")
        writer.line("import SamsaBinary")
        for message in [api.request, api.response] {
            writer.line()
            emitMessage(message, into: &writer)
        }
        return writer.text
    }

    func emitMessage(_ message: ResolvedMessage, into writer: inout CodeWriter) {
        var doc = api.doc
        if !message.top.doc.isEmpty {
            if !doc.isEmpty { doc.append("") }
            doc.append(contentsOf: message.top.doc)
        }
        if doc.isEmpty { doc.append("The \(message.isRequest ? "request" : "response") of the \(api.name) API (key \(api.key)).") }
        doc.append("")
        let flexibleText = api.firstFlexibleVersion.map { "flexible from version \($0)" } ?? "never flexible"
        doc.append("Versions \(api.versions) (\(flexibleText)); advertised \(api.advertised).")
        writer.doc(doc)
        let conformance = message.isRequest ? "KafkaRequestMessage" : "KafkaResponseMessage"
        writer.block("public struct \(message.name): \(conformance)") { writer in
            if message.isRequest {
                writer.line("/// The response type of this request.")
                writer.line("public typealias Response = \(api.name)Response")
            }
            writer.line("/// The API key of this message.")
            writer.line("public static let apiKey: ApiKey = ApiKey.\(Naming.lowerCamel(api.name))")
            writer.line("/// The versions this library encodes and decodes.")
            writer.line("public static let supportedVersions: ClosedRange<Int16> = \(api.versions.lower)...\(api.versions.upper)")
            writer.line("/// The versions a broker advertises in ApiVersions.")
            writer.line("public static let advertisedVersions: ClosedRange<Int16> = \(api.advertised.lower)...\(api.advertised.upper)")
            writer.line("/// The first version with compact encodings and tagged fields, or nil if there is none.")
            let first = api.firstFlexibleVersion.map { String($0) } ?? "nil"
            writer.line("public static let firstFlexibleVersion: Int16? = \(first)")
            writer.line()
            emitMembers(message.top, message: message, isTop: true, into: &writer)
            for nested in message.nested {
                writer.line()
                if nested.doc.isEmpty {
                    writer.doc(["Used by " + users(of: nested.name, in: message).joined(separator: ", ") + "."])
                } else {
                    writer.doc(nested.doc)
                }
                writer.block("public struct \(nested.name): KafkaStruct") { writer in
                    emitMembers(nested, message: message, isTop: false, into: &writer)
                }
            }
        }
    }

    func emitMembers(_ item: ResolvedStruct, message: ResolvedMessage, isTop: Bool, into writer: inout CodeWriter) {
        for field in item.fields {
            var doc = field.doc
            if !doc.isEmpty { doc.append("") }
            doc.append(fieldSummary(field))
            writer.doc(doc)
            writer.line("public var \(field.swiftName): \(field.swiftType) = \(field.defaultExpression)")
        }
        writer.line("/// Tagged fields this library does not know, kept so that re-encoding preserves them.")
        writer.line("public var unknownTaggedFields: [TaggedField] = []")
        writer.line()
        writer.line("/// Creates a value with every field at its default.")
        writer.line("public init() {}")
        writer.line()
        let sizes = WireSizes(message: message, flexible: flexible)
        var decode = BodyBuilder(hull: item.hull, flexible: flexible)
        decode.decodeBody(item, sizes: sizes)
        writer.line("/// Decodes a value written at `version`; fields the version lacks keep their defaults.")
        writer.block("public init(from buffer: inout ByteBuffer, version: Int16) throws(WireFormatError)") { writer in
            let body = decode.finishedLines()
            if isTop && body.contains(where: { $0.contains("try ") }) {
                var wrapped = CodeWriter()
                wrapped.block("do throws(WireFormatError)") { writer in writer.append(body) }
                wrapped.block("catch") { writer in
                    writer.line("throw error.adding(context: \(Naming.stringLiteral(message.name)))")
                }
                writer.append(decode.mergeElse(wrapped.lines, keyword: "catch"))
            } else {
                writer.append(body)
            }
        }
        writer.line()
        var encode = BodyBuilder(hull: item.hull, flexible: flexible)
        encode.encodeBody(item)
        writer.line("/// Encodes the fields that exist at `version`.")
        writer.block("public func encode(into buffer: inout ByteBuffer, version: Int16)") { writer in
            writer.append(encode.finishedLines())
        }
    }

    /// The fields whose type names the struct `name`, as `Parent.field`.
    func users(of name: String, in message: ResolvedMessage) -> [String] {
        var result: [String] = []
        for item in [message.top] + message.nested {
            for field in item.fields where field.type.structName == name {
                result.append("`\(item.name).\(field.plainName)`")
            }
        }
        return result.isEmpty ? ["no field"] : result
    }

    func fieldSummary(_ field: ResolvedField) -> String {
        if field.versions.isEmpty { return "Not on the wire in any supported version." }
        let single = field.versions.lower == field.versions.upper
        var parts = [(single ? "Version " : "Versions ") + field.versions.description]
        if !field.nullable.isEmpty && field.type != .primitive(.records) { parts.append("nullable \(field.nullable)") }
        if let tag = field.tag { parts.append("tag \(tag)") }
        return parts.joined(separator: "; ") + "."
    }
}

/// Builds the body of a decoder or encoder, tracking whether it needs the `flexible` flag.
struct BodyBuilder {
    let hull: VersionRange
    let flexible: VersionRange
    var writer = CodeWriter()
    var usesFlexible = false
    /// The condition of the block written last, if the last thing written was a guarded block.
    var lastCondition: String?

    init(hull: VersionRange, flexible: VersionRange) {
        self.hull = hull
        self.flexible = flexible
    }

    /// The body, with the `flexible` flag declared first when it is used.
    func finishedLines() -> [String] {
        guard usesFlexible, let first = flexible.isEmpty ? nil : flexible.lower else { return writer.lines }
        return ["let flexible: Bool = version >= \(first)"] + writer.lines
    }

    /// `true`, `false` or `flexible`: whether the field uses compact encodings at a version.
    mutating func compact(_ versions: VersionRange) -> String {
        let flexiblePart = versions.intersection(flexible)
        if flexiblePart.isEmpty { return "false" }
        if flexiblePart == versions { return "true" }
        usesFlexible = true
        return "flexible"
    }

    /// Emits `lines`, inside `if condition` when there is one; consecutive fields with the
    /// same condition share one `if`.
    mutating func guarded(_ condition: String?, _ lines: [String]) {
        if let condition {
            if condition == lastCondition {
                writer.extendLastBlock(with: lines)
            } else {
                writer.block("if \(condition)") { writer in writer.append(lines) }
            }
        } else {
            writer.append(lines)
        }
        lastCondition = condition
    }

    enum Nullability { case notOptional, nullable, notNull }

    /// Calls `make` once per nullability the field has, splitting on version when it is nullable
    /// in only some of its versions.
    func forNullability(_ field: ResolvedField, _ make: (Nullability) -> [String]) -> [String] {
        if !field.isOptional || field.type == .primitive(.records) { return make(.notOptional) }
        if field.nullable.isEmpty { return make(.notNull) }
        guard let condition = VersionCondition.test(field.nullable, within: field.versions) else { return make(.nullable) }
        var inner = CodeWriter()
        inner.block("if \(condition)") { writer in writer.append(make(.nullable)) }
        inner.block("else") { writer in writer.append(make(.notNull)) }
        return mergeElse(inner.lines)
    }

    /// Joins `}` and `else {` lines into `} else {`.
    func mergeElse(_ lines: [String], keyword: String = "else") -> [String] {
        var result: [String] = []
        for line in lines {
            if line == keyword + " {", result.last == "}" {
                result[result.count - 1] = "} \(keyword) {"
            } else {
                result.append(line)
            }
        }
        return result
    }
}
