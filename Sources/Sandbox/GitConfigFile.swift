import Foundation

/// The entries of one git configuration file, read with git's own syntax (git-config(1),
/// "CONFIGURATION FILE"): `[section]`, `[section "subsection"]` and the old `[section.subsection]`
/// headers, `key = value` or a bare `key` (true), quotes, the escapes `\n \t \b \" \\`, a
/// backslash before the end of a line continuing the value, `#` and `;` comments. Section and key
/// names are case-insensitive and come lowercased; a subsection keeps its case. Includes are not
/// followed here: `RepositoryProtection` follows them, since it must know every file they name.
struct GitConfigFile {
    struct Entry: Equatable {
        /// `section.key` or `section.subsection.key`.
        var key: String
        /// nil for a bare `key` (git reads it as true).
        var value: String?
        var line: Int

        var section: String { String(key.prefix { $0 != "." }) }
        var name: String { String(key[key.index(after: key.lastIndex(of: ".")!)...]) }
    }

    struct SyntaxError: Error, Equatable {
        var line: Int
        var reason: String
    }

    var entries: [Entry]

    init(_ text: String) throws(SyntaxError) {
        entries = []
        // Git skips a UTF-8 byte order mark (editors on other systems write one).
        var parser = Parser(Array(text.unicodeScalars.drop(while: { $0 == "\u{FEFF}" })))
        var section: String?
        while true {
            parser.skip { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
            guard let next = parser.peek else { break }
            switch next {
            case "#", ";":
                parser.skip { $0 != "\n" }
            case "[":
                section = try parser.header()
            default:
                guard let section else { throw SyntaxError(line: parser.line, reason: "a key before any [section]") }
                let line = parser.line
                let name = try parser.name()
                let value = try parser.value()
                entries.append(Entry(key: section + "." + name, value: value, line: line))
            }
        }
    }

    private struct Parser {
        let text: [Unicode.Scalar]
        var at = 0
        var line = 1

        init(_ text: [Unicode.Scalar]) { self.text = text }

        var peek: Unicode.Scalar? { at < text.count ? text[at] : nil }

        mutating func take() -> Unicode.Scalar? {
            guard let scalar = peek else { return nil }
            at += 1
            if scalar == "\n" { line += 1 }
            return scalar
        }

        mutating func skip(while matches: (Unicode.Scalar) -> Bool) {
            while let scalar = peek, matches(scalar) { _ = take() }
        }

        static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "-")
        }

        /// `[section]`, `[section "subsection"]` or `[section.subsection]`: the lowercased prefix of
        /// the keys that follow.
        mutating func header() throws(SyntaxError) -> String {
            let start = line
            _ = take()
            var name = ""
            while let scalar = peek, Self.isNameCharacter(scalar) || scalar == "." {
                name.unicodeScalars.append(scalar)
                _ = take()
            }
            guard !name.isEmpty else { throw SyntaxError(line: start, reason: "a section header without a name") }
            name = name.lowercased()
            skip { $0 == " " || $0 == "\t" }
            if peek == "\"" {
                _ = take()
                var subsection = ""
                while true {
                    guard let scalar = take(), scalar != "\n" else { throw SyntaxError(line: start, reason: "an unterminated subsection name") }
                    if scalar == "\"" { break }
                    if scalar == "\\" {
                        guard let escaped = take(), escaped != "\n" else { throw SyntaxError(line: start, reason: "an unterminated subsection name") }
                        subsection.unicodeScalars.append(escaped)
                    } else {
                        subsection.unicodeScalars.append(scalar)
                    }
                }
                name += "." + subsection
            }
            guard take() == "]" else { throw SyntaxError(line: start, reason: "a section header without its closing ]") }
            return name
        }

        /// A key's name, lowercased.
        mutating func name() throws(SyntaxError) -> String {
            var name = ""
            while let scalar = peek, Self.isNameCharacter(scalar) {
                name.unicodeScalars.append(scalar)
                _ = take()
            }
            guard let first = name.unicodeScalars.first, CharacterSet.letters.contains(first) else {
                throw SyntaxError(line: line, reason: "a key name must start with a letter")
            }
            return name.lowercased()
        }

        /// What follows a key's name up to the end of its line: nil for a bare key.
        mutating func value() throws(SyntaxError) -> String? {
            skip { $0 == " " || $0 == "\t" || $0 == "\r" }
            switch peek {
            case nil, "\n":
                return nil
            case "#", ";":
                skip { $0 != "\n" }
                return nil
            case "=":
                _ = take()
            default:
                throw SyntaxError(line: line, reason: "a key name followed by something other than '='")
            }
            var value = ""
            var quoted = false
            // Unquoted whitespace is kept only between words: trailing whitespace is dropped.
            var pendingSpace = ""
            skip { $0 == " " || $0 == "\t" }
            while let scalar = peek {
                if scalar == "\n" {
                    if quoted { throw SyntaxError(line: line, reason: "a value's quote is not closed on its line") }
                    break
                }
                _ = take()
                if !quoted, scalar == " " || scalar == "\t" || scalar == "\r" {
                    pendingSpace.unicodeScalars.append(scalar)
                    continue
                }
                if !quoted, scalar == "#" || scalar == ";" {
                    skip { $0 != "\n" }
                    break
                }
                value += pendingSpace
                pendingSpace = ""
                switch scalar {
                case "\"":
                    quoted.toggle()
                case "\\":
                    switch take() {
                    case "\n": break
                    case "\r" where peek == "\n": _ = take()
                    case "n": value += "\n"
                    case "t": value += "\t"
                    case "b": value += "\u{8}"
                    case "\\": value += "\\"
                    case "\"": value += "\""
                    default: throw SyntaxError(line: line, reason: "an unknown escape after a backslash")
                    }
                default:
                    value.unicodeScalars.append(scalar)
                }
            }
            return value
        }
    }
}
