// Spec names to Swift names.

enum Naming {
    /// Words Swift reserves in declarations or expressions; such property names get backticks.
    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import", "init",
        "inout", "internal", "let", "open", "operator", "private", "precedencegroup", "protocol", "public",
        "rethrows", "static", "struct", "subscript", "typealias", "var", "break", "case", "catch", "continue",
        "default", "defer", "do", "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return",
        "throw", "switch", "where", "while", "Any", "as", "await", "false", "is", "nil", "self", "Self",
        "super", "throws", "true", "try", "consume", "borrowing", "consuming", "some", "any",
    ]

    /// Type names a nested struct may not take, because generated code refers to them unqualified.
    static let reservedTypeNames: Set<String> = [
        "ApiKey", "ErrorCode", "ByteBuffer", "KafkaUUID", "TaggedField", "WireFormatError", "Response",
        "String", "Bool", "Int", "Int8", "Int16", "Int32", "Int64", "UInt16", "UInt32", "Double", "Array",
        "Optional", "KafkaStruct", "KafkaMessage", "KafkaRequestMessage", "KafkaResponseMessage",
        "ClosedRange", "Self", "Type", "Protocol", "TestRandom",
    ]

    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { ($0.isLetter || $0.isNumber || $0 == "_") && $0.isASCII }
    }

    /// `TopicData` → `topicData`, `ACLBindings` → `aclBindings`, `ID` → `id`.
    static func lowerCamel(_ name: String) -> String {
        let characters = Array(name)
        var upperRun = 0
        while upperRun < characters.count, characters[upperRun].isUppercase { upperRun += 1 }
        if upperRun == 0 { return name }
        var lowerCount = upperRun
        if upperRun > 1, upperRun < characters.count, characters[upperRun].isLowercase {
            lowerCount = upperRun - 1
        }
        let head = String(characters[0..<lowerCount]).lowercased()
        return head + String(characters[lowerCount...])
    }

    /// `UNKNOWN_TOPIC_OR_PARTITION` → `unknownTopicOrPartition`.
    static func lowerCamel(upperSnake name: String) -> String {
        let words = name.split(separator: "_").map { $0.lowercased() }
        guard let first = words.first else { return name.lowercased() }
        return first + words.dropFirst().map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    /// A property name as written in a declaration or after a dot.
    static func propertyName(_ specName: String) -> String {
        let name = lowerCamel(specName)
        return keywords.contains(name) ? "`\(name)`" : name
    }

    /// A Swift string literal for `text`.
    static func stringLiteral(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if scalar.value < 0x20 {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
