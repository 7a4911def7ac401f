// Writes ApiKey, ErrorCode and the table of all messages.

enum TableEmitter {
    static func apiKeyFile(_ apis: [ResolvedApi], header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.doc([
            "A Kafka API key. Static members name the APIs described in `Spec/Messages`; any other",
            "value can still be represented, so that a broker can answer requests it does not know.",
        ])
        writer.block("public struct ApiKey: RawRepresentable, Hashable, Sendable, CustomStringConvertible") { writer in
            writer.line("/// The key as it appears on the wire.")
            writer.line("public var rawValue: Int16")
            writer.line()
            writer.line("/// Wraps any key, known or not.")
            writer.line("public init(rawValue: Int16) {")
            writer.line("    self.rawValue = rawValue")
            writer.line("}")
            for api in apis {
                writer.line()
                writer.line("/// \(api.name) (key \(api.key)).")
                writer.line("public static let \(Naming.lowerCamel(api.name)): ApiKey = ApiKey(rawValue: \(api.key))")
            }
            writer.line()
            writer.line("/// Kafka's name of the API, such as `Produce`, or `Unknown(N)` for a key not in the spec.")
            writer.block("public var name: String") { writer in
                writer.switchBlock("rawValue") { writer in
                    for api in apis {
                        writer.line("case \(api.key): return \(Naming.stringLiteral(api.name))")
                    }
                    writer.line("default: return \"Unknown(\\(rawValue))\"")
                }
            }
            writer.line()
            writer.line("/// True for the keys described in `Spec/Messages`.")
            writer.block("public var isKnown: Bool") { writer in
                writer.line("ApiMessageTable.descriptor(for: self) != nil")
            }
            writer.line()
            writer.line("/// The name and the number, such as `Produce(0)`.")
            writer.block("public var description: String") { writer in
                writer.line("\"\\(name)(\\(rawValue))\"")
            }
        }
        return writer.text
    }

    static func errorCodeFile(_ codes: [ErrorCodeSpec], header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.doc([
            "A Kafka error code, as carried in responses. Static members are generated from",
            "`Spec/ErrorCodes.spec` (`NONE`, code 0, is spelled `noError` so that it never reads as",
            "`Optional.none`). Unknown codes can be represented too: their `name` is `UNKNOWN(N)`.",
        ])
        writer.block("public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible") { writer in
            writer.line("/// The code as it appears on the wire.")
            writer.line("public var rawValue: Int16")
            writer.line()
            writer.line("/// Wraps any code, known or not.")
            writer.line("public init(rawValue: Int16) {")
            writer.line("    self.rawValue = rawValue")
            writer.line("}")
            for code in codes {
                writer.line()
                writer.line("/// \(code.name) (\(code.code), \(code.isRetriable ? "retriable" : "not retriable")): \(code.message)")
                writer.line("public static let \(ErrorCodesParser.memberName(code.name)): ErrorCode = ErrorCode(rawValue: \(code.code))")
            }
            writer.line()
            writer.line("/// Kafka's UPPER_SNAKE_CASE name, such as `UNKNOWN_TOPIC_OR_PARTITION`.")
            writer.block("public var name: String") { writer in
                writer.switchBlock("rawValue") { writer in
                    for code in codes {
                        writer.line("case \(code.code): return \(Naming.stringLiteral(code.name))")
                    }
                    writer.line("default: return \"UNKNOWN(\\(rawValue))\"")
                }
            }
            writer.line()
            writer.line("/// Kafka's description of the error.")
            writer.block("public var message: String") { writer in
                writer.switchBlock("rawValue") { writer in
                    for code in codes {
                        writer.line("case \(code.code): return \(Naming.stringLiteral(code.message))")
                    }
                    writer.line("default: return \"Unknown error code \\(rawValue).\"")
                }
            }
            writer.line()
            writer.line("/// True when retrying the same request may succeed (Kafka's `RetriableException`).")
            writer.block("public var isRetriable: Bool") { writer in
                let retriable = codes.filter(\.isRetriable).map { String($0.code) }
                if retriable.isEmpty {
                    writer.line("false")
                } else {
                    writer.switchBlock("rawValue") { writer in
                        var start = 0
                        while start < retriable.count {
                            let chunk = retriable[start..<min(start + 12, retriable.count)]
                            writer.line("case \(chunk.joined(separator: ", ")): return true")
                            start += 12
                        }
                        writer.line("default: return false")
                    }
                }
            }
            writer.line()
            writer.line("/// True for the codes listed in `Spec/ErrorCodes.spec`.")
            writer.block("public var isKnown: Bool") { writer in
                if let first = codes.first, let last = codes.last, contiguous(codes) {
                    writer.line("rawValue >= \(first.code) && rawValue <= \(last.code)")
                } else {
                    writer.line("ErrorCode.knownRawValues.contains(rawValue)")
                }
            }
            writer.line()
            writer.line("/// Every code of `Spec/ErrorCodes.spec`, in ascending order.")
            writer.line("public static let knownRawValues: [Int16] = [")
            var start = 0
            while start < codes.count {
                let chunk = codes[start..<min(start + 16, codes.count)].map { String($0.code) }
                writer.line("    " + chunk.joined(separator: ", ") + ",")
                start += 16
            }
            writer.line("]")
            writer.line()
            writer.line("/// The name and the number, such as `UNKNOWN_TOPIC_OR_PARTITION(3)`.")
            writer.block("public var description: String") { writer in
                writer.line("\"\\(name)(\\(rawValue))\"")
            }
        }
        return writer.text
    }

    static func contiguous(_ codes: [ErrorCodeSpec]) -> Bool {
        for (offset, code) in codes.enumerated() where code.code != (codes.first?.code ?? 0) + offset { return false }
        return true
    }

    static func messageTableFile(_ apis: [ResolvedApi], header: String) -> String {
        var writer = CodeWriter()
        writer.line(header)
        writer.line()
        writer.doc([
            "Every API described in `Spec/Messages`: its request and response types and version ranges.",
            "A broker builds its ApiVersions answer and its dispatch from this table.",
        ])
        writer.block("public enum ApiMessageTable") { writer in
            writer.line("/// The descriptor of `apiKey`, or nil for a key not in the spec.")
            writer.block("public static func descriptor(for apiKey: ApiKey) -> ApiMessageDescriptor?") { writer in
                writer.switchBlock("apiKey.rawValue") { writer in
                    for api in apis {
                        writer.line("case \(api.key): return ApiMessageDescriptor(request: \(api.name)Request.self)")
                    }
                    writer.line("default: return nil")
                }
            }
            writer.line()
            writer.line("/// All descriptors, in ascending key order.")
            writer.line("public static let all: [ApiMessageDescriptor] = makeAll()")
            writer.line()
            writer.block("private static func makeAll() -> [ApiMessageDescriptor]") { writer in
                writer.line("var descriptors: [ApiMessageDescriptor] = []")
                writer.line("descriptors.reserveCapacity(\(apis.count))")
                for api in apis {
                    writer.line("descriptors.append(ApiMessageDescriptor(request: \(api.name)Request.self))")
                }
                writer.line("return descriptors")
            }
        }
        return writer.text
    }
}
