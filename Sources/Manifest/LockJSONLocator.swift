import Foundation

/// Where a value sits in JSON text, by the path a decoder reports, so that lock errors can
/// name a line and column. The text has already parsed, so the scan does not validate it.
struct JSONLocator {
    enum Step: Equatable, Sendable {
        case key(String)
        case index(Int)
    }

    private let bytes: [UInt8]

    init(_ data: Data) {
        bytes = Array(data)
    }

    /// The start of the value at `path`; the start of the text when it is not there.
    func position(of path: [Step]) -> SourcePosition {
        var offset: Int? = skipWhitespace(0)
        for step in path {
            guard let start = offset else { break }
            switch step {
            case .key(let key): offset = member(key, ofObjectAt: start)
            case .index(let index): offset = element(index, ofArrayAt: start)
            }
        }
        return position(atOffset: offset ?? 0)
    }

    /// Where a JSONSerialization message puts the problem: newer Foundations say "line N,
    /// column M", older ones a byte offset ("around character N"), and a truncated text is
    /// reported without a place, which is then its end.
    func position(describedBy message: String) -> SourcePosition {
        if let match = message.firstMatch(of: #/line (\d+), column (\d+)/#), let line = Int(match.1), let column = Int(match.2) {
            return SourcePosition(line: line, column: column)
        }
        if let match = message.firstMatch(of: #/character (\d+)/#), let offset = Int(match.1) {
            return position(atOffset: offset)
        }
        if message.localizedCaseInsensitiveContains("end of file") {
            return position(atOffset: bytes.count)
        }
        return SourcePosition(line: 1, column: 1)
    }

    func position(atOffset offset: Int) -> SourcePosition {
        let offset = min(max(offset, 0), bytes.count)
        let newline = UInt8(ascii: "\n")
        let prefix = bytes[..<offset]
        let lineStart = prefix.lastIndex(of: newline).map { $0 + 1 } ?? 0
        let column = String(decoding: bytes[lineStart..<offset], as: UTF8.self).count + 1
        return SourcePosition(line: prefix.count { $0 == newline } + 1, column: column)
    }

    private func member(_ key: String, ofObjectAt start: Int) -> Int? {
        guard isByte(start, "{") else { return nil }
        var index = skipWhitespace(start + 1)
        while isByte(index, "\"") {
            let keyEnd = stringEnd(index)
            // Compared unescaped: the lock's keys are plain ASCII.
            let name = String(decoding: bytes[(index + 1)..<max(index + 1, keyEnd - 1)], as: UTF8.self)
            let colon = skipWhitespace(keyEnd)
            let value = skipWhitespace(colon + 1)
            if name == key { return value }
            index = skipWhitespace(valueEnd(value))
            guard isByte(index, ",") else { return nil }
            index = skipWhitespace(index + 1)
        }
        return nil
    }

    private func element(_ wanted: Int, ofArrayAt start: Int) -> Int? {
        guard isByte(start, "[") else { return nil }
        var index = skipWhitespace(start + 1)
        for _ in 0..<wanted {
            guard index < bytes.count, !isByte(index, "]") else { return nil }
            index = skipWhitespace(valueEnd(index))
            guard isByte(index, ",") else { return nil }
            index = skipWhitespace(index + 1)
        }
        return index < bytes.count && !isByte(index, "]") ? index : nil
    }

    private func isByte(_ index: Int, _ scalar: Unicode.Scalar) -> Bool {
        index < bytes.count && bytes[index] == UInt8(ascii: scalar)
    }

    private func skipWhitespace(_ start: Int) -> Int {
        var index = start
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        return index
    }

    /// Just past the string whose opening quote is at `start`.
    private func stringEnd(_ start: Int) -> Int {
        var index = start + 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
            } else if bytes[index] == UInt8(ascii: "\"") {
                return index + 1
            } else {
                index += 1
            }
        }
        return bytes.count
    }

    /// Just past the value that starts at `start`.
    private func valueEnd(_ start: Int) -> Int {
        guard start < bytes.count else { return start }
        if isByte(start, "\"") { return stringEnd(start) }
        guard isByte(start, "{") || isByte(start, "[") else {
            var index = start
            while index < bytes.count, !",}] \t\r\n".utf8.contains(bytes[index]) { index += 1 }
            return index
        }
        var depth = 0
        var index = start
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index = stringEnd(index)
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return index + 1 }
            default:
                break
            }
            index += 1
        }
        return bytes.count
    }
}
