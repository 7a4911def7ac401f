// Splits a spec file into lines with an indentation level, comments removed and doc lines
// attached to the item line that follows them.

/// One meaningful line of a spec file.
struct SpecLine {
    /// Indentation in levels of two spaces.
    var level: Int
    /// The text without indentation and comment.
    var text: String
    /// 1-based line number in the file.
    var number: Int
    /// The `///` lines just above this one, without the `///` and one following space.
    var doc: [String]
}

enum SpecLexer {
    /// Returns the item lines of `source`; doc lines are folded into the line they precede.
    static func lines(of source: String, file: String) throws(SpecError) -> [SpecLine] {
        var result: [SpecLine] = []
        var pendingDoc: [String] = []
        var number = 0
        for rawLine in source.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            var line = String(rawLine)
            if line.hasSuffix("\r") { line.removeLast() }
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("///") {
                var doc = String(trimmed.dropFirst(3))
                if doc.hasPrefix(" ") { doc.removeFirst() }
                pendingDoc.append(doc)
                continue
            }
            let content = try stripComment(line, file: file, line: number)
            if content.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            var spaces = 0
            for character in content {
                if character == " " {
                    spaces += 1
                } else if character == "\t" {
                    throw SpecError(file: file, line: number, message: "indentation must use spaces, not tabs")
                } else {
                    break
                }
            }
            guard spaces % 2 == 0 else {
                throw SpecError(file: file, line: number, message: "indentation must be a multiple of two spaces, found \(spaces)")
            }
            var text = String(content.dropFirst(spaces))
            while text.last == " " || text.last == "\t" { text.removeLast() }
            result.append(SpecLine(level: spaces / 2, text: text, number: number, doc: pendingDoc))
            pendingDoc = []
        }
        return result
    }

    /// Removes a `#` comment that is outside double quotes.
    static func stripComment(_ line: String, file: String, line number: Int) throws(SpecError) -> String {
        var inString = false
        var escaped = false
        var output = ""
        for character in line {
            if inString {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
            } else if character == "#" {
                break
            }
            output.append(character)
        }
        if inString {
            throw SpecError(file: file, line: number, message: "unterminated string")
        }
        return output
    }

    /// Splits `text` at spaces; a double-quoted string (with `\"` and `\\` escapes) is one token
    /// and keeps its quotes.
    static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        var inString = false
        var escaped = false
        for character in text {
            if inString {
                current.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
            } else if character == " " || character == "\t" {
                if !current.isEmpty {
                    tokens.append(current)
                    current = ""
                }
            } else {
                if character == "\"" { inString = true }
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// The contents of a quoted token, with escapes resolved; nil if `token` is not quoted.
    static func unquote(_ token: String) -> String? {
        guard token.count >= 2, token.first == "\"", token.last == "\"" else { return nil }
        var result = ""
        var escaped = false
        for character in token.dropFirst().dropLast() {
            if escaped {
                switch character {
                case "n": result.append("\n")
                case "t": result.append("\t")
                default: result.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                result.append(character)
            }
        }
        return result
    }
}
