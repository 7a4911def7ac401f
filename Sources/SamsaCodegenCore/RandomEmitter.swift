// Writes the test helpers that build random messages: for a given version, every field on the
// wire at that version gets a random value and every other field keeps its default, so that
// encode → decode must give back an equal value.

struct RandomEmitter {
    let api: ResolvedApi

    func fileContents(header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.line("import NIOCore")
        writer.line("import SamsaBinary")
        writer.line("import SamsaProtocol")
        for message in [api.request, api.response] {
            emitStruct(message.top, path: message.name, message: message, into: &writer)
            for nested in message.nested {
                emitStruct(nested, path: message.name + "." + nested.name, message: message, into: &writer)
            }
        }
        return writer.text
    }

    func emitStruct(_ item: ResolvedStruct, path: String, message: ResolvedMessage, into writer: inout CodeWriter) {
        var body = CodeWriter()
        for field in item.fields where !field.versions.isEmpty {
            let lines = fieldLines(field, message: message)
            if let condition = VersionCondition.test(field.versions, within: item.hull) {
                body.block("if \(condition)") { writer in writer.append(lines) }
            } else {
                body.append(lines)
            }
        }
        let flexiblePart = item.hull.intersection(api.flexibleRange)
        if !flexiblePart.isEmpty {
            let line = "value.unknownTaggedFields = random.unknownTaggedFields()"
            if let condition = VersionCondition.test(flexiblePart, within: item.hull) {
                body.block("if \(condition)") { writer in writer.line(line) }
            } else {
                body.line(line)
            }
        }
        writer.line()
        writer.block("extension \(path)") { writer in
            writer.line("/// A random value in which exactly the fields on the wire at `version` are set.")
            writer.block("static func random(version: Int16, using random: inout TestRandom) -> \(path)") { writer in
                if body.lines.isEmpty {
                    writer.line("return \(path)()")
                } else {
                    writer.line("var value: \(path) = \(path)()")
                    writer.append(body.lines)
                    writer.line("return value")
                }
            }
        }
    }

    func fieldLines(_ field: ResolvedField, message: ResolvedMessage) -> [String] {
        let target = "value.\(field.swiftName)"
        let assign: [String]
        switch field.type {
        case .primitive(let primitive):
            assign = ["\(target) = random.\(primitive.randomName)()"]
        case .array(.structure(let name)):
            let elementType = message.name + "." + name
            assign = [
                "do {",
                "    var elements: [\(elementType)] = []",
                "    let count: Int = random.count()",
                "    for _ in 0..<count {",
                "        elements.append(\(elementType).random(version: version, using: &random))",
                "    }",
                "    \(target) = elements",
                "}",
            ]
        case .array(.primitive(let primitive)):
            assign = ["\(target) = random.\(primitive.randomName)Array()"]
        case .array:
            assign = []
        case .structure(let name):
            assign = ["\(target) = \(message.name).\(name).random(version: version, using: &random)"]
        }
        guard field.isOptional, !field.nullable.isEmpty else { return assign }
        var nullable: [String] = ["if random.bool() {", "    \(target) = nil", "} else {"]
        nullable.append(contentsOf: assign.map { "    " + $0 })
        nullable.append("}")
        guard let condition = VersionCondition.test(field.nullable, within: field.versions) else { return nullable }
        var lines = ["if \(condition) {"]
        lines.append(contentsOf: nullable.map { "    " + $0 })
        lines.append("} else {")
        lines.append(contentsOf: assign.map { "    " + $0 })
        lines.append("}")
        return lines
    }

    static func registryFile(_ apis: [ResolvedApi], header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.line("import SamsaProtocol")
        writer.line()
        writer.line("/// Random messages of every API described in `Spec/Messages`, by key.")
        writer.block("enum RandomMessages") { writer in
            for (kind, suffix) in [("request", "Request"), ("response", "Response")] {
                writer.line("/// A random \(kind) of `apiKey` at `version`, or nil for an unknown key.")
                let returnType = "(any Kafka\(suffix)Message)?"
                writer.block("static func \(kind)(apiKey: Int16, version: Int16, using random: inout TestRandom) -> \(returnType)") {
                    writer in
                    writer.switchBlock("apiKey") { writer in
                        for api in apis {
                            writer.line("case \(api.key): return \(api.name)\(suffix).random(version: version, using: &random)")
                        }
                        writer.line("default: return nil")
                    }
                }
                if kind == "request" { writer.line() }
            }
        }
        return writer.text
    }
}
