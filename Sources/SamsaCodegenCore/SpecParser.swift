// Parses a message spec file (format in Spec/README.md) into a RawApiSpec.

/// Parses the text of one `Spec/Messages/NN-Name.spec` file.
public struct SpecParser {
    let file: String
    let lines: [SpecLine]
    var index: Int = 0

    /// - Parameter file: the path used in error messages, such as `Spec/Messages/00-Produce.spec`.
    public init(source: String, file: String) throws(SpecError) {
        self.file = file
        self.lines = try SpecLexer.lines(of: source, file: file)
    }

    func error(_ line: Int, _ message: String) -> SpecError {
        SpecError(file: file, line: line, message: message)
    }

    /// Parses the whole file.
    public mutating func parse() throws(SpecError) -> RawApiSpec {
        var apiKey: Int?
        var name = ""
        var doc: [String] = []
        var versions: VersionRange?
        var advertised: VersionRange?
        var flexible: Int??
        var request: RawSection?
        var response: RawSection?
        while index < lines.count {
            let line = lines[index]
            guard line.level == 0 else {
                throw error(line.number, "unexpected indentation")
            }
            let words = SpecLexer.tokens(line.text)
            let keyword = words[0]
            if keyword == "request" || keyword == "response", apiKey == nil || versions == nil || flexible == nil {
                throw error(line.number, "`api`, `versions` and `flexible` must come before the `\(keyword)` section")
            }
            switch keyword {
            case "api":
                guard apiKey == nil else { throw error(line.number, "duplicate `api` line") }
                guard words.count == 3, let key = Int(words[1]), key >= 0, key <= VersionRange.maximum else {
                    throw error(line.number, "expected `api KEY Name`")
                }
                guard Naming.isIdentifier(words[2]), words[2].first!.isUppercase else {
                    throw error(line.number, "API name `\(words[2])` must be an identifier starting with a capital letter")
                }
                apiKey = key
                name = words[2]
                doc = line.doc
            case "versions":
                guard versions == nil else { throw error(line.number, "duplicate `versions` line") }
                versions = try closedRange(words, line: line.number)
            case "advertise":
                guard advertised == nil else { throw error(line.number, "duplicate `advertise` line") }
                advertised = try closedRange(words, line: line.number)
            case "flexible":
                guard flexible == nil else { throw error(line.number, "duplicate `flexible` line") }
                guard words.count == 2 else { throw error(line.number, "expected `flexible N+` or `flexible none`") }
                if words[1] == "none" {
                    flexible = .some(nil)
                } else {
                    let range = try versionRange(words[1], line: line.number)
                    guard range.upper == VersionRange.maximum else {
                        throw error(line.number, "the flexible range must be open-ended, like `9+`")
                    }
                    flexible = .some(range.lower)
                }
            case "request", "response":
                guard words.count == 1 else { throw error(line.number, "unexpected text after `\(keyword)`") }
                index += 1
                let section = try parseSection(line)
                if keyword == "request" {
                    guard request == nil else { throw error(line.number, "duplicate `request` section") }
                    request = section
                } else {
                    guard response == nil else { throw error(line.number, "duplicate `response` section") }
                    response = section
                }
                continue
            default:
                throw error(line.number, "unknown keyword `\(keyword)`; expected api, versions, advertise, flexible, request or response")
            }
            index += 1
        }
        let lastLine = lines.last?.number ?? 1
        guard let apiKey else { throw error(1, "missing `api KEY Name` line") }
        guard let versions else { throw error(1, "missing `versions A-B` line") }
        guard let flexible else { throw error(1, "missing `flexible N+` or `flexible none` line") }
        guard let request else { throw error(lastLine, "missing `request` section") }
        guard let response else { throw error(lastLine, "missing `response` section") }
        return RawApiSpec(
            path: file, apiKey: apiKey, name: name, doc: doc, versions: versions,
            advertisedVersions: advertised, firstFlexibleVersion: flexible,
            request: request, response: response
        )
    }

    func closedRange(_ words: [String], line: Int) throws(SpecError) -> VersionRange {
        guard words.count == 2 else { throw error(line, "expected `\(words[0]) A-B`") }
        let range = try versionRange(words[1], line: line)
        guard range.upper != VersionRange.maximum else {
            throw error(line, "`\(words[0])` needs a closed range like `0-13`, not `\(words[1])`")
        }
        return range
    }

    /// Parses `N+`, `N-M` or `N`, with or without a leading `v`.
    func versionRange(_ text: String, line: Int) throws(SpecError) -> VersionRange {
        var body = Substring(text)
        if body.first == "v" { body = body.dropFirst() }
        let range: VersionRange
        if body.hasSuffix("+"), let lower = Int(body.dropLast()) {
            range = VersionRange(lower, VersionRange.maximum)
        } else if let dash = body.firstIndex(of: "-"), let lower = Int(body[..<dash]),
            let upper = Int(body[body.index(after: dash)...])
        {
            range = VersionRange(lower, upper)
        } else if let single = Int(body) {
            range = VersionRange(single, single)
        } else {
            throw error(line, "invalid version range `\(text)`; expected N+, N-M or N")
        }
        guard range.lower >= 0, range.upper <= VersionRange.maximum, !range.isEmpty else {
            throw error(line, "invalid version range `\(text)`")
        }
        return range
    }

    mutating func parseSection(_ header: SpecLine) throws(SpecError) -> RawSection {
        var section = RawSection(line: header.number, doc: header.doc, fields: [], structs: [])
        while index < lines.count, lines[index].level >= 1 {
            let line = lines[index]
            guard line.level == 1 else { throw error(line.number, "unexpected indentation") }
            if line.text.hasPrefix("struct ") {
                index += 1
                section.structs.append(try parseStructDeclaration(line))
            } else {
                section.fields.append(try parseField(level: 1))
            }
        }
        return section
    }

    mutating func parseStructDeclaration(_ line: SpecLine) throws(SpecError) -> RawStruct {
        let words = SpecLexer.tokens(line.text)
        guard words.count == 2 || words.count == 3 else {
            throw error(line.number, "expected `struct Name [versions]`")
        }
        guard Naming.isIdentifier(words[1]), words[1].first!.isUppercase else {
            throw error(line.number, "struct name `\(words[1])` must be an identifier starting with a capital letter")
        }
        let versions: VersionRange? = words.count == 3 ? try versionRange(words[2], line: line.number) : nil
        let fields = try parseFields(level: 2)
        return RawStruct(name: words[1], versions: versions, doc: line.doc, line: line.number, fields: fields)
    }

    mutating func parseFields(level: Int) throws(SpecError) -> [RawField] {
        var fields: [RawField] = []
        while index < lines.count, lines[index].level >= level {
            guard lines[index].level == level else { throw error(lines[index].number, "unexpected indentation") }
            fields.append(try parseField(level: level))
        }
        return fields
    }

    /// Parses `Name: Type [modifiers]` and the fields indented under it.
    mutating func parseField(level: Int) throws(SpecError) -> RawField {
        let line = lines[index]
        index += 1
        guard let colon = line.text.firstIndex(of: ":") else {
            throw error(line.number, "expected a field `Name: Type [modifiers]`")
        }
        let name = String(line.text[..<colon])
        guard Naming.isIdentifier(name) else { throw error(line.number, "invalid field name `\(name)`") }
        let words = SpecLexer.tokens(String(line.text[line.text.index(after: colon)...]))
        guard let typeWord = words.first else { throw error(line.number, "field `\(name)` has no type") }
        var field = RawField(
            name: name, type: try fieldType(typeWord, line: line.number), versions: nil,
            nullableVersions: nil, tag: nil, defaultValue: nil, ignorable: false,
            doc: line.doc, line: line.number, children: []
        )
        var position = 1
        while position < words.count {
            let word = words[position]
            position += 1
            if word == "nullable" {
                guard field.nullableVersions == nil else { throw error(line.number, "duplicate `nullable`") }
                if position < words.count, words[position].first == "v", words[position].dropFirst().first?.isNumber == true {
                    field.nullableVersions = try versionRange(words[position], line: line.number)
                    position += 1
                } else {
                    field.nullableVersions = VersionRange(0, VersionRange.maximum)
                }
            } else if word == "tag" {
                guard field.tag == nil else { throw error(line.number, "duplicate `tag`") }
                guard position < words.count, let tag = Int(words[position]), tag >= 0, tag <= Int(Int32.max) else {
                    throw error(line.number, "`tag` needs a non-negative integer")
                }
                field.tag = tag
                position += 1
            } else if word == "default" {
                guard field.defaultValue == nil else { throw error(line.number, "duplicate `default`") }
                guard position < words.count else { throw error(line.number, "`default` needs a value") }
                field.defaultValue = try defaultValue(words[position], line: line.number)
                position += 1
            } else if word == "ignorable" {
                field.ignorable = true
            } else if word.first == "v", word.dropFirst().first?.isNumber == true {
                guard field.versions == nil else { throw error(line.number, "duplicate version range") }
                field.versions = try versionRange(word, line: line.number)
            } else {
                throw error(line.number, "unknown modifier `\(word)`; expected vN+, vN-M, vN, nullable, tag N, default V or ignorable")
            }
        }
        if index < lines.count, lines[index].level > level {
            guard lines[index].level == level + 1 else { throw error(lines[index].number, "unexpected indentation") }
            guard field.type.structName != nil else {
                throw error(lines[index].number, "field `\(name)` has a primitive type and cannot have fields under it")
            }
            field.children = try parseFields(level: level + 1)
        }
        return field
    }

    func fieldType(_ word: String, line: Int) throws(SpecError) -> FieldType {
        var elementWord: Substring?
        if word.hasPrefix("[]") {
            elementWord = word.dropFirst(2)
        } else if word.hasPrefix("["), word.hasSuffix("]") {
            elementWord = word.dropFirst().dropLast()
        }
        if let elementWord {
            let element = try fieldType(String(elementWord), line: line)
            switch element {
            case .array: throw error(line, "arrays of arrays are not supported")
            case .primitive(.records): throw error(line, "arrays of records are not supported")
            default: return .array(element)
            }
        }
        if let primitive = PrimitiveType(rawValue: word) { return .primitive(primitive) }
        guard Naming.isIdentifier(word), word.first!.isUppercase else {
            throw error(
                line,
                "unknown type `\(word)`; expected a primitive (\(PrimitiveType.allCases.map(\.rawValue).joined(separator: " "))), [T] or a struct name"
            )
        }
        return .structure(word)
    }

    func defaultValue(_ word: String, line: Int) throws(SpecError) -> DefaultValue {
        if word == "null" { return .null }
        if word == "true" { return .boolean(true) }
        if word == "false" { return .boolean(false) }
        if let text = SpecLexer.unquote(word) { return .string(text) }
        var digits = Substring(word)
        let negative = digits.first == "-"
        if negative { digits = digits.dropFirst() }
        var magnitude: UInt64?
        if digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            magnitude = UInt64(digits.dropFirst(2), radix: 16)
        } else if digits.allSatisfy(\.isNumber) {
            magnitude = UInt64(digits)
        }
        if let magnitude {
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { throw error(line, "default `\(word)` is out of range") }
                return .integer(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
            }
            guard magnitude <= UInt64(Int64.max) else { throw error(line, "default `\(word)` is out of range") }
            return .integer(Int64(magnitude))
        }
        if Double(word) != nil, word.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "e" || $0 == "E" || $0 == "+" }) {
            return .decimal(word)
        }
        throw error(line, "invalid default `\(word)`; expected null, an integer, true, false, a number or a quoted string")
    }
}
