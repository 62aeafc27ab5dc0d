/// What the manifest's text must not hand to toml++, found by a scan before it parses:
/// - a NUL escape (`\u0000`): toml++ gives strings over as C strings, so devenv would silently
///   get a value cut short there;
/// - a table header whose key starts with neither a key character nor a quote (`[:x]`, `[`
///   then a line break): toml++ only asserts that, which aborts a debug build and is undefined
///   behaviour in a release one.
/// The scan follows strings, comments and brackets just enough to tell a header from an array.
enum TOMLPrecheck {
    struct Problem: Error {
        var position: SourcePosition
        var problem: String
        var fix: String
    }

    private enum State {
        case normal, basic, literal, multilineBasic, multilineLiteral, comment
    }

    static func check(_ text: String) -> Problem? {
        let scalars = Array(text.unicodeScalars)
        var state = State.normal
        var depth = 0
        var line = 1, lineStart = 0
        var atLineStart = true
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\n" {
                line += 1
                lineStart = i + 1
                atLineStart = true
                if state == .comment || state == .basic || state == .literal { state = .normal }
                i += 1
                continue
            }
            switch state {
            case .comment:
                i += 1
            case .basic, .multilineBasic:
                if c == "\\" {
                    if starts(scalars, "u0000", at: i + 1) || starts(scalars, "U00000000", at: i + 1) {
                        return Problem(position: SourcePosition(line: line, column: i - lineStart + 1), problem: "a \\u0000 escape (NUL) has no place in a manifest: devenv would see the string cut short there",
                                       fix: "remove the escape")
                    }
                    i += 2
                } else if state == .multilineBasic, starts(scalars, "\"\"\"", at: i) {
                    state = .normal
                    i += 3
                } else {
                    if state == .basic, c == "\"" { state = .normal }
                    i += 1
                }
            case .literal:
                if c == "'" { state = .normal }
                i += 1
            case .multilineLiteral:
                if starts(scalars, "'''", at: i) {
                    state = .normal
                    i += 3
                } else {
                    i += 1
                }
            case .normal:
                let wasLineStart = atLineStart
                if c != " ", c != "\t", c != "\r" { atLineStart = false }
                if wasLineStart, depth == 0, c == "[" {
                    var j = i + 1
                    while j < scalars.count, scalars[j] == " " || scalars[j] == "\t" { j += 1 }
                    if j < scalars.count, scalars[j] == "[" { j += 1 }
                    while j < scalars.count, scalars[j] == " " || scalars[j] == "\t" { j += 1 }
                    let first = j < scalars.count ? scalars[j] : nil
                    guard let first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first) || "_-\"']".unicodeScalars.contains(first) else {
                        return Problem(position: SourcePosition(line: line, column: j - lineStart + 1), problem: "a table header must start with a key: letters, digits, _ and -, or a quoted key",
                                       fix: "write the header as [name] or [\"name\"]")
                    }
                    // The header's own brackets: skip to its end so they do not count as an array.
                    while i < scalars.count, scalars[i] != "\n", scalars[i] != "#" {
                        if scalars[i] == "\"" || scalars[i] == "'" { break }
                        i += 1
                    }
                    continue
                }
                if starts(scalars, "\"\"\"", at: i) {
                    state = .multilineBasic
                    i += 3
                } else if starts(scalars, "'''", at: i) {
                    state = .multilineLiteral
                    i += 3
                } else {
                    switch c {
                    case "\"": state = .basic
                    case "'": state = .literal
                    case "#": state = .comment
                    case "[", "{": depth += 1
                    case "]", "}": depth = max(0, depth - 1)
                    default: break
                    }
                    i += 1
                }
            }
        }
        return nil
    }

    private static func starts(_ scalars: [Unicode.Scalar], _ pattern: String, at index: Int) -> Bool {
        var position = index
        for scalar in pattern.unicodeScalars {
            guard position < scalars.count, scalars[position] == scalar else { return false }
            position += 1
        }
        return true
    }
}
