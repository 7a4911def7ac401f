// Resolves struct references and computes, for every field, the versions in which it is on the
// wire. A field's range is clipped to the versions of the struct holding it, and a nested
// struct's versions are the union of the ranges of the fields that use it.

/// A field with its effective versions.
struct ResolvedField {
    var specName: String
    /// The property name, backticked when it is a Swift keyword.
    var swiftName: String
    var doc: [String]
    var type: FieldType
    /// The versions in which the field is on the wire (as a tag, for tagged fields).
    var versions: VersionRange
    /// The versions in which it may be null; a subset of `versions`.
    var nullable: VersionRange
    /// True when the Swift property is an optional.
    var isOptional: Bool
    var tag: Int?
    var defaultValue: DefaultValue?
    var line: Int
}

/// A message or a nested struct.
struct ResolvedStruct {
    var name: String
    var doc: [String]
    var fields: [ResolvedField]
    /// Every version in which this struct can appear on the wire.
    var hull: VersionRange
    var line: Int
}

/// A request or a response.
struct ResolvedMessage {
    var name: String
    var isRequest: Bool
    var top: ResolvedStruct
    var nested: [ResolvedStruct]

    func structNamed(_ name: String) -> ResolvedStruct? {
        if name == top.name { return top }
        return nested.first { $0.name == name }
    }
}

/// One API, ready for code generation.
struct ResolvedApi {
    var path: String
    var key: Int
    var name: String
    var doc: [String]
    var versions: VersionRange
    var advertised: VersionRange
    var firstFlexibleVersion: Int?
    var request: ResolvedMessage
    var response: ResolvedMessage

    /// The flexible versions among the supported ones.
    var flexibleRange: VersionRange {
        guard let first = firstFlexibleVersion else { return .empty }
        return VersionRange(first, VersionRange.maximum).intersection(versions)
    }
}

struct SpecResolver {
    let spec: RawApiSpec

    func error(_ line: Int, _ message: String) -> SpecError {
        SpecError(file: spec.path, line: line, message: message)
    }

    func resolve() throws(SpecError) -> ResolvedApi {
        // Advertising less than we decode is allowed; advertising a version we cannot decode is not
        // (except below the decoded range, where Kafka's KIP-896 baselines sometimes sit).
        if let advertised = spec.advertisedVersions, advertised.upper > spec.versions.upper {
            throw error(spec.request.line, "`advertise \(advertised)` includes versions above `versions \(spec.versions)`")
        }
        let request = try resolveSection(spec.request, name: spec.name + "Request", isRequest: true)
        let response = try resolveSection(spec.response, name: spec.name + "Response", isRequest: false)
        return ResolvedApi(
            path: spec.path, key: spec.apiKey, name: spec.name, doc: spec.doc, versions: spec.versions,
            advertised: spec.advertisedVersions ?? spec.versions, firstFlexibleVersion: spec.firstFlexibleVersion,
            request: request, response: response
        )
    }

    var flexibleRange: VersionRange {
        guard let first = spec.firstFlexibleVersion else { return .empty }
        return VersionRange(first, VersionRange.maximum).intersection(spec.versions)
    }

    func resolveSection(_ section: RawSection, name: String, isRequest: Bool) throws(SpecError) -> ResolvedMessage {
        // 1. Every struct of the section: the message itself, `struct` declarations, inline structs.
        var structs: [RawStruct] = [RawStruct(name: name, versions: nil, doc: section.doc, line: section.line, fields: section.fields)]
        for declared in section.structs { structs.append(declared) }
        var cursor = 0
        while cursor < structs.count {
            for field in structs[cursor].fields where !field.children.isEmpty {
                let structName = field.type.structName!
                let doc = field.doc.isEmpty ? ["An element of `\(Naming.lowerCamel(field.name))`."] : field.doc
                structs.append(RawStruct(name: structName, versions: nil, doc: doc, line: field.line, fields: field.children))
            }
            cursor += 1
        }
        var indexByName: [String: Int] = [:]
        for (position, item) in structs.enumerated() {
            if let previous = indexByName[item.name] {
                throw error(item.line, "struct `\(item.name)` is declared twice (first at line \(structs[previous].line))")
            }
            if position > 0, Naming.reservedTypeNames.contains(item.name) || item.name == name {
                throw error(item.line, "struct name `\(item.name)` is reserved; choose another name")
            }
            indexByName[item.name] = position
        }
        for item in structs {
            for field in item.fields {
                if let target = field.type.structName, indexByName[target] == nil {
                    throw error(
                        field.line, "unknown struct `\(target)`: declare it with `struct \(target)` or indent its fields under this field")
                }
            }
        }
        try checkAcyclic(structs, indexByName: indexByName)

        // 2. Struct hulls, grown until stable (hulls only grow and are bounded).
        var hulls = [VersionRange](repeating: .empty, count: structs.count)
        hulls[0] = spec.versions
        var changed = true
        while changed {
            changed = false
            for position in structs.indices where !hulls[position].isEmpty {
                for field in structs[position].fields {
                    guard let target = field.type.structName, let targetIndex = indexByName[target] else { continue }
                    let range = effectiveRange(field, in: structs[position], hull: hulls[position])
                    let grown = hulls[targetIndex].hull(range)
                    if grown != hulls[targetIndex] {
                        hulls[targetIndex] = grown
                        changed = true
                    }
                }
            }
        }

        // 3. Fields.
        var resolved: [ResolvedStruct] = []
        for (position, item) in structs.enumerated() {
            var fields: [ResolvedField] = []
            var swiftNames: [String: Int] = [:]
            for field in item.fields {
                let resolvedField = try resolveField(field, in: item, hull: hulls[position])
                let key = Naming.lowerCamel(field.name)
                if let previous = swiftNames[key] {
                    throw error(field.line, "field `\(field.name)` has the same Swift name `\(key)` as the field at line \(previous)")
                }
                if key == "unknownTaggedFields" { throw error(field.line, "the field name `\(field.name)` is reserved") }
                swiftNames[key] = field.line
                if let tag = resolvedField.tag {
                    for other in fields where other.tag == tag && !other.versions.intersection(resolvedField.versions).isEmpty {
                        throw error(field.line, "tag \(tag) is already used by `\(other.specName)` at line \(other.line)")
                    }
                }
                fields.append(resolvedField)
            }
            resolved.append(ResolvedStruct(name: item.name, doc: item.doc, fields: fields, hull: hulls[position], line: item.line))
        }
        let top = resolved.removeFirst()
        resolved.sort { $0.line < $1.line }
        return ResolvedMessage(name: name, isRequest: isRequest, top: top, nested: resolved)
    }

    func effectiveRange(_ field: RawField, in item: RawStruct, hull: VersionRange) -> VersionRange {
        var range = (field.versions ?? item.versions ?? hull).intersection(hull)
        if let declared = item.versions { range = range.intersection(declared) }
        if field.tag != nil { range = range.intersection(flexibleRange) }
        return range
    }

    func resolveField(_ field: RawField, in item: RawStruct, hull: VersionRange) throws(SpecError) -> ResolvedField {
        let versions = effectiveRange(field, in: item, hull: hull)
        var isOptional = field.nullableVersions != nil
        var nullable = (field.nullableVersions ?? .empty).intersection(versions)
        switch field.type {
        case .primitive(let primitive):
            if primitive == .records {
                isOptional = true
                nullable = versions
            } else if isOptional && !primitive.canBeNullable {
                throw error(field.line, "a \(primitive.rawValue) field cannot be nullable")
            }
        case .array, .structure:
            break
        }
        if field.tag != nil && spec.firstFlexibleVersion == nil {
            throw error(field.line, "tagged field `\(field.name)` in an API whose messages are never flexible")
        }
        if let value = field.defaultValue {
            try checkDefault(value, of: field, isOptional: isOptional)
        }
        return ResolvedField(
            specName: field.name, swiftName: Naming.propertyName(field.name), doc: field.doc, type: field.type,
            versions: versions, nullable: nullable, isOptional: isOptional, tag: field.tag,
            defaultValue: field.defaultValue, line: field.line
        )
    }

    func checkDefault(_ value: DefaultValue, of field: RawField, isOptional: Bool) throws(SpecError) {
        let mismatch = error(field.line, "default value does not fit the type of `\(field.name)`")
        switch (value, field.type) {
        case (.null, _):
            guard isOptional else { throw error(field.line, "`default null` needs a nullable field") }
        case (.integer(let number), .primitive(let primitive)):
            let limits: (Int64, Int64)
            switch primitive {
            case .int8: limits = (Int64(Int8.min), Int64(Int8.max))
            case .int16: limits = (Int64(Int16.min), Int64(Int16.max))
            case .uint16: limits = (0, Int64(UInt16.max))
            case .int32: limits = (Int64(Int32.min), Int64(Int32.max))
            case .uint32: limits = (0, Int64(UInt32.max))
            case .int64: limits = (Int64.min, Int64.max)
            case .float64: limits = (-(1 << 53), 1 << 53)
            default: throw mismatch
            }
            guard number >= limits.0 && number <= limits.1 else {
                throw error(field.line, "default \(number) is out of range for \(primitive.rawValue)")
            }
        case (.decimal, .primitive(.float64)), (.boolean, .primitive(.bool)), (.string, .primitive(.string)):
            break
        default:
            throw mismatch
        }
    }

    func checkAcyclic(_ structs: [RawStruct], indexByName: [String: Int]) throws(SpecError) {
        // 0 = unvisited, 1 = on the current path, 2 = done.
        var state = [Int](repeating: 0, count: structs.count)
        func visit(_ position: Int) throws(SpecError) {
            if state[position] == 2 { return }
            if state[position] == 1 {
                throw error(structs[position].line, "struct `\(structs[position].name)` contains itself")
            }
            state[position] = 1
            for field in structs[position].fields {
                if let target = field.type.structName, let next = indexByName[target] { try visit(next) }
            }
            state[position] = 2
        }
        for position in structs.indices { try visit(position) }
    }
}
