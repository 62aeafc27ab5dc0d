import Foundation

/// Finds where keys are in devenv.toml. TOMLKit gives positions only for syntax errors, not for
/// the nodes of a parsed document, so semantic errors find their key by scanning the text: table
/// headers (`[a.b]`, `[[a]]`), and `key = value` lines with bare, quoted or dotted keys. It runs
/// only on text toml++ has already accepted, so it need not handle malformed input. Keys inside
/// inline tables (`shell = { command = "sh" }`) are not indexed; they resolve to the inline
/// table's own key, the nearest place the scanner can honestly name.
struct SourceLocator {
    struct Entry {
        /// Where the key (or a header's name) starts.
        var key: SourcePosition
        /// Where the value starts; a header's name for headers.
        var value: SourcePosition
        /// The value's text from its start to the end of the line, to find array elements in.
        var rest: Substring
        var line: Int
    }

    /// Keyed by the full key path; an element of an array of tables is a component "[i]".
    private var entries: [[String]: Entry] = [:]
    private let lines: [Substring]

    init(_ text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var table: [String] = []
        var arrayCounts: [[String]: Int] = [:]
        var closing: String?
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if let delimiter = closing {
                if line.contains(delimiter) { closing = nil }
                continue
            }
            let chars = Array(line)
            var i = Self.skipSpace(chars, 0)
            guard i < chars.count, chars[i] != "#" else { continue }
            if chars[i] == "[" {
                let isArray = i + 1 < chars.count && chars[i + 1] == "["
                i = Self.skipSpace(chars, i + (isArray ? 2 : 1))
                let start = SourcePosition(line: number, column: i + 1)
                guard let (name, _) = Self.dottedKey(chars, i) else { continue }
                if isArray {
                    let count = arrayCounts[name, default: 0]
                    arrayCounts[name] = count + 1
                    table = name + ["[\(count)]"]
                    entries[name] = entries[name] ?? Entry(key: start, value: start, rest: line[...], line: number)
                } else {
                    table = name
                }
                let header = Entry(key: start, value: start, rest: line[...], line: number)
                entries[table] = header
                registerParents(of: name, below: 1, at: header)
                continue
            }
            let keyStart = SourcePosition(line: number, column: i + 1)
            guard let (key, end) = Self.dottedKey(chars, i) else { continue }
            var j = Self.skipSpace(chars, end)
            guard j < chars.count, chars[j] == "=" else { continue }
            j = Self.skipSpace(chars, j + 1)
            let rest = line[line.index(line.startIndex, offsetBy: j)...]
            entries[table + key] = Entry(key: keyStart, value: SourcePosition(line: number, column: j + 1), rest: rest, line: number)
            registerParents(of: table + key, below: table.count + 1, at: Entry(key: keyStart, value: keyStart, rest: rest, line: number))
            for delimiter in ["\"\"\"", "'''"] where rest.components(of: delimiter) % 2 == 1 {
                closing = delimiter
            }
        }
    }

    /// The tables a dotted header or key defines without a header of their own (`[services.db]`
    /// defines `services`), from `depth` components on, placed at the first that defines them: an
    /// error about them (an unknown table `[service.db]`) then names that line, not the top of the file.
    private mutating func registerParents(of path: [String], below depth: Int, at entry: Entry) {
        for length in depth..<path.count where entries[Array(path.prefix(length))] == nil {
            entries[Array(path.prefix(length))] = entry
        }
    }

    /// Where the key at `path` starts; for a key the scanner cannot see, the nearest enclosing one.
    func key(_ path: [String]) -> SourcePosition {
        entry(path)?.key ?? SourcePosition(line: 1, column: 1)
    }

    /// Where the value of the key at `path` starts.
    func value(_ path: [String]) -> SourcePosition {
        entry(path)?.value ?? SourcePosition(line: 1, column: 1)
    }

    /// Where the string `literal` appears in the array at `path`: its quoted form after the key,
    /// on the key's line or the lines that follow (a multi-line array); else the array's start.
    func element(_ literal: String, in path: [String]) -> SourcePosition {
        guard let entry = entry(path) else { return SourcePosition(line: 1, column: 1) }
        for quoted in ["\"\(literal)\"", "'\(literal)'"] {
            if let range = entry.rest.range(of: quoted) {
                return SourcePosition(line: entry.line, column: entry.value.column + entry.rest.distance(from: entry.rest.startIndex, to: range.lowerBound))
            }
            for number in entry.line + 1 ... min(entry.line + 200, lines.count) {
                let line = lines[number - 1]
                if let range = line.range(of: quoted) {
                    return SourcePosition(line: number, column: line.distance(from: line.startIndex, to: range.lowerBound) + 1)
                }
                if line.contains("]") { break }
            }
        }
        return entry.value
    }

    private func entry(_ path: [String]) -> Entry? {
        var path = path
        while !path.isEmpty {
            if let entry = entries[path] { return entry }
            path.removeLast()
        }
        return nil
    }

    private static func skipSpace(_ chars: [Character], _ start: Int) -> Int {
        var i = start
        while i < chars.count, chars[i] == " " || chars[i] == "\t" { i += 1 }
        return i
    }

    /// A key like `a`, `"a.b"`, `'x'` or `a . "b"`: its components and the index after it.
    private static func dottedKey(_ chars: [Character], _ start: Int) -> ([String], Int)? {
        var components: [String] = []
        var i = start
        while true {
            i = skipSpace(chars, i)
            guard i < chars.count else { return nil }
            if chars[i] == "\"" || chars[i] == "'" {
                let quote = chars[i]
                var value = ""
                i += 1
                while i < chars.count, chars[i] != quote {
                    if quote == "\"", chars[i] == "\\", i + 1 < chars.count {
                        // Decoded as toml++ does, so that a key with "\n" or "\u001b" (which the
                        // grammar refuses) is still found to be named in the error.
                        let (decoded, next) = unescape(chars, i + 1)
                        value.unicodeScalars.append(decoded)
                        i = next
                        continue
                    }
                    value.append(chars[i])
                    i += 1
                }
                guard i < chars.count else { return nil }
                components.append(value)
                i += 1
            } else {
                let begin = i
                while i < chars.count, chars[i].isASCII, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" || chars[i] == "-" { i += 1 }
                guard i > begin else { return nil }
                components.append(String(chars[begin..<i]))
            }
            let after = skipSpace(chars, i)
            guard after < chars.count, chars[after] == "." else { return (components, i) }
            i = after + 1
        }
    }
}

/// The character a basic-string escape whose letter is at `start` stands for, and the index after it.
private func unescape(_ chars: [Character], _ start: Int) -> (Unicode.Scalar, Int) {
    let simple: [Character: Unicode.Scalar] = ["n": "\n", "t": "\t", "r": "\r", "b": "\u{8}", "f": "\u{c}", "e": "\u{1b}", "\"": "\"", "\\": "\\"]
    if let scalar = simple[chars[start]] { return (scalar, start + 1) }
    let digits = chars[start] == "u" ? 4 : chars[start] == "U" ? 8 : 0
    if digits > 0, start + digits < chars.count, let value = UInt32(String(chars[(start + 1)...(start + digits)]), radix: 16),
       let scalar = Unicode.Scalar(value) {
        return (scalar, start + 1 + digits)
    }
    return (chars[start].unicodeScalars.first ?? "\\", start + 1)
}

private extension Substring {
    func components(of delimiter: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.range(of: delimiter) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}
