// Parses Spec/ErrorCodes.spec: `CODE NAME retriable|fatal "message"` per line.

enum ErrorCodesParser {
    static func parse(_ source: String, file: String) throws(SpecError) -> [ErrorCodeSpec] {
        var codes: [ErrorCodeSpec] = []
        var seenCodes: [Int: Int] = [:]
        var seenNames: [String: Int] = [:]
        for line in try SpecLexer.lines(of: source, file: file) {
            let words = SpecLexer.tokens(line.text)
            guard words.count == 4 else {
                throw SpecError(file: file, line: line.number, message: "expected `CODE NAME retriable|fatal \"message\"`")
            }
            guard let code = Int(words[0]), code >= Int(Int16.min), code <= Int(Int16.max) else {
                throw SpecError(file: file, line: line.number, message: "invalid error code `\(words[0])`")
            }
            let name = words[1]
            guard !name.isEmpty, name.allSatisfy({ ($0.isUppercase || $0.isNumber || $0 == "_") && $0.isASCII }),
                name.first!.isLetter
            else {
                throw SpecError(file: file, line: line.number, message: "error name `\(name)` must be UPPER_SNAKE_CASE")
            }
            let retriable: Bool
            switch words[2] {
            case "retriable": retriable = true
            case "fatal": retriable = false
            default:
                throw SpecError(file: file, line: line.number, message: "expected `retriable` or `fatal`, found `\(words[2])`")
            }
            guard let message = SpecLexer.unquote(words[3]) else {
                throw SpecError(file: file, line: line.number, message: "the message must be a quoted string")
            }
            if let previous = seenCodes[code] {
                throw SpecError(file: file, line: line.number, message: "error code \(code) is already defined at line \(previous)")
            }
            if let previous = seenNames[name] {
                throw SpecError(file: file, line: line.number, message: "error name \(name) is already defined at line \(previous)")
            }
            seenCodes[code] = line.number
            seenNames[name] = line.number
            codes.append(ErrorCodeSpec(code: code, name: name, isRetriable: retriable, message: message, line: line.number))
        }
        return codes.sorted { $0.code < $1.code }
    }

    /// The Swift static member name of an error: lower camel case, with NONE spelled `noError`
    /// so that it never reads as `Optional.none`.
    static func memberName(_ name: String) -> String {
        if name == "NONE" { return "noError" }
        let camel = Naming.lowerCamel(upperSnake: name)
        return Naming.keywords.contains(camel) ? "`\(camel)`" : camel
    }
}
