// The statements of generated decoders and encoders.

extension BodyBuilder {
    // MARK: Decoding

    mutating func decodeBody(_ item: ResolvedStruct, sizes: WireSizes) {
        for field in item.fields where field.tag == nil && !field.versions.isEmpty {
            let lines = decodeField(field, buffer: "buffer", sizes: sizes)
            guarded(VersionCondition.test(field.versions, within: hull), lines)
        }
        let flexiblePart = hull.intersection(flexible)
        if flexiblePart.isEmpty { return }
        let tagged = item.fields.filter { $0.tag != nil && !$0.versions.isEmpty }.sorted { $0.tag! < $1.tag! }
        var section = CodeWriter()
        if tagged.isEmpty {
            section.line("self.unknownTaggedFields = try buffer.readUnknownTaggedFields()")
        } else {
            section.line("let tagCount: Int = try buffer.readTaggedFieldCount()")
            var cases: [(String, [String])] = []
            for field in tagged {
                var lines = ["var tagData: ByteBuffer = field.data"]
                lines.append(contentsOf: decodeField(field, buffer: "tagData", sizes: sizes))
                let condition = VersionCondition.test(field.versions, within: flexiblePart).map { " where \($0)" } ?? ""
                cases.append(("case \(field.tag!)\(condition):", lines))
            }
            section.block("for _ in 0..<tagCount") { writer in
                writer.line("let field: TaggedField = try buffer.readTaggedField()")
                writer.line("switch field.tag {")
                for (label, lines) in cases {
                    writer.line(label)
                    writer.append(lines.map { "    " + $0 })
                }
                writer.line("default:")
                writer.line("    self.unknownTaggedFields.append(field)")
                writer.line("}")
            }
        }
        let condition: String? = flexiblePart == hull ? nil : "flexible"
        if condition != nil { usesFlexible = true }
        guarded(condition, section.lines)
    }

    mutating func decodeField(_ field: ResolvedField, buffer: String, sizes: WireSizes) -> [String] {
        let compact = self.compact(field.versions)
        let target = "self.\(field.swiftName) = "
        let context = Naming.stringLiteral(field.plainName)
        var elementSize = "1"
        if case .array(let element) = field.type {
            let flexibleSize = sizes.elementSize(element, over: field.versions.intersection(flexible))
            let fixedSize = sizes.elementSize(
                element,
                over: VersionRange(
                    field.versions.lower, min(field.versions.upper, flexible.isEmpty ? field.versions.upper : flexible.lower - 1)))
            switch compact {
            case "true": elementSize = "\(flexibleSize)"
            case "false": elementSize = "\(fixedSize)"
            default: elementSize = flexibleSize == fixedSize ? "\(flexibleSize)" : "flexible ? \(flexibleSize) : \(fixedSize)"
            }
        }
        return forNullability(field) { nullability in
            switch field.type {
            case .primitive(let primitive):
                if let fixed = primitive.fixedWidthName {
                    return [target + "try \(buffer).readKafka\(fixed)()"]
                }
                if primitive == .records {
                    return [target + "try \(buffer).readKafkaNullableBytes(compact: \(compact))"]
                }
                let kind = primitive == .string ? "String" : "Bytes"
                let nullable = nullability == .nullable ? "Nullable" : ""
                return [target + "try \(buffer).readKafka\(nullable)\(kind)(compact: \(compact))"]
            case .array(let element):
                let suffix = nullability == .nullable ? "" : " ?? []"
                switch element {
                case .structure(let name):
                    return [
                        target
                            + "try \(buffer).readKafkaStructArray(\(name).self, version: version, compact: \(compact), minimumElementSize: \(elementSize), context: \(context))"
                            + suffix
                    ]
                default:
                    return [
                        target
                            + "try \(buffer).readKafkaArray(\(FieldTypeSpelling.element(element)).self, compact: \(compact), context: \(context))"
                            + suffix
                    ]
                }
            case .structure(let name):
                if nullability == .nullable {
                    return [target + "try \(buffer).readKafkaNullableStruct(\(name).self, version: version, context: \(context))"]
                }
                return [target + "try \(buffer).readKafkaStruct(\(name).self, version: version, context: \(context))"]
            }
        }
    }

    // MARK: Encoding

    mutating func encodeBody(_ item: ResolvedStruct) {
        for field in item.fields where field.tag == nil && !field.versions.isEmpty {
            let lines = encodeField(field, buffer: "buffer")
            guarded(VersionCondition.test(field.versions, within: hull), lines)
        }
        let flexiblePart = hull.intersection(flexible)
        if flexiblePart.isEmpty { return }
        let tagged = item.fields.filter { $0.tag != nil && !$0.versions.isEmpty }.sorted { $0.tag! < $1.tag! }
        var section = CodeWriter()
        if tagged.isEmpty {
            section.line("buffer.writeTaggedFields(self.unknownTaggedFields)")
        } else {
            section.line("var taggedFields: [TaggedField] = self.unknownTaggedFields")
            for field in tagged {
                var conditions: [String] = []
                if let versions = VersionCondition.test(field.versions, within: flexiblePart) { conditions.append(versions) }
                conditions.append(field.differsFromDefault)
                var lines = ["var tagBuffer: ByteBuffer = ByteBuffer()"]
                lines.append(contentsOf: encodeField(field, buffer: "tagBuffer"))
                lines.append("taggedFields.insertSorted(TaggedField(tag: \(field.tag!), data: tagBuffer))")
                section.block("if \(conditions.joined(separator: " && "))") { writer in writer.append(lines) }
            }
            section.line("buffer.writeTaggedFields(taggedFields)")
        }
        let condition: String? = flexiblePart == hull ? nil : "flexible"
        if condition != nil { usesFlexible = true }
        guarded(condition, section.lines)
    }

    mutating func encodeField(_ field: ResolvedField, buffer: String) -> [String] {
        let compact = self.compact(field.versions)
        let value = "self.\(field.swiftName)"
        return forNullability(field) { nullability in
            switch field.type {
            case .primitive(let primitive):
                if let fixed = primitive.fixedWidthName {
                    return ["\(buffer).writeKafka\(fixed)(\(value))"]
                }
                if primitive == .records {
                    return ["\(buffer).writeKafkaNullableBytes(\(value), compact: \(compact))"]
                }
                let kind = primitive == .string ? "String" : "Bytes"
                switch nullability {
                case .nullable:
                    return ["\(buffer).writeKafkaNullable\(kind)(\(value), compact: \(compact))"]
                case .notNull:
                    let empty = primitive == .string ? "\"\"" : "ByteBuffer()"
                    return ["\(buffer).writeKafka\(kind)(\(value) ?? \(empty), compact: \(compact))"]
                case .notOptional:
                    return ["\(buffer).writeKafka\(kind)(\(value), compact: \(compact))"]
                }
            case .array(let element):
                let argument = nullability == .notNull ? "\(value) ?? []" : value
                if case .structure = element {
                    return ["\(buffer).writeKafkaStructArray(\(argument), version: version, compact: \(compact))"]
                }
                return ["\(buffer).writeKafkaArray(\(argument), compact: \(compact))"]
            case .structure(let name):
                switch nullability {
                case .nullable:
                    return ["\(buffer).writeKafkaNullableStruct(\(value), version: version)"]
                case .notNull:
                    return ["(\(value) ?? \(name)()).encode(into: &\(buffer), version: version)"]
                case .notOptional:
                    return ["\(value).encode(into: &\(buffer), version: version)"]
                }
            }
        }
    }
}
