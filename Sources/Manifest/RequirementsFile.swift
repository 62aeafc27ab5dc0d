import Foundation

/// A pip requirements file from the repository (`pip = ["-r requirements.txt"]`), read with pip's
/// line rules (comments, `\` continuations) but only the part of its format that leaves the lock
/// in charge: requirements, `--hash` options after them (the lock pins its own hashes), and `-r`
/// includes. Options that change where pip looks or what it installs (`-e`, `-c`, `--index-url`,
/// `--find-links`, …) are errors naming the line: they would make the environment depend on
/// something the lock does not record.
public struct RequirementsFile: Sendable, Equatable {
    public enum Line: Sendable, Equatable {
        case requirement(String)
        /// `-r PATH` as written (relative to the including file), and where.
        case include(String, SourcePosition)
    }

    public var lines: [Line]

    /// Parses `text`; `file` is the path errors name.
    public init(parsing text: String, file: String) throws(ManifestError) {
        func failure(_ line: Int, _ problem: String, _ fix: String) -> ManifestError {
            ManifestError(file: file, position: SourcePosition(line: line, column: 1), problem: problem, fix: fix)
        }
        var lines: [Line] = []
        var logical = ""
        var start = 0
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            // "\r\n" is one Character in Swift: the split above takes it whole.
            let line = Substring(raw)
            if logical.isEmpty { start = index + 1 }
            if line.last == "\\" {
                logical += line.dropLast()
                continue
            }
            logical += line
            defer { logical = "" }
            let content = Self.withoutComment(logical)
            if let problem = FieldGrammar.controlProblem(content, multiline: false) {
                throw failure(start, "this line \(problem)", "remove it")
            }
            let words = content.split(separator: " ").map(String.init)
            guard let first = words.first else { continue }
            if first == "-r" || first == "--requirement" || first.hasPrefix("--requirement=") {
                let path = first.hasPrefix("--requirement=") ? String(first.dropFirst("--requirement=".count)) : words.dropFirst().first ?? ""
                guard words.count == (first.contains("=") ? 1 : 2), !path.isEmpty else {
                    throw failure(start, "\(first) takes exactly one file", "write -r FILE, one per line")
                }
                lines.append(.include(path, SourcePosition(line: start, column: 1)))
                continue
            }
            if first.hasPrefix("-") {
                throw failure(start, "pip option \(FieldGrammar.quote(first)) is not taken here: devenv installs exactly what the lock records, from PyPI",
                              "remove the line; list the project's requirements (name and version) instead")
            }
            let options = words.filter { $0.hasPrefix("-") }
            if let option = options.first(where: { !$0.hasPrefix("--hash=") }) {
                throw failure(start, "pip option \(FieldGrammar.quote(option)) after a requirement is not taken here (only --hash)",
                              "remove the option")
            }
            let requirement = words.filter { !$0.hasPrefix("-") }.joined(separator: " ")
            if requirement.utf8.count > FieldGrammar.packageEntryLength {
                throw failure(start, "this requirement is longer than \(FieldGrammar.packageEntryLength) characters", "shorten it")
            }
            if let problem = PipRequirement.problem(requirement) {
                throw failure(start, "requirement \(FieldGrammar.quote(requirement)) \(problem.problem)", problem.fix)
            }
            lines.append(.requirement(requirement))
        }
        self.lines = lines
    }

    /// pip's rule: `#` at the start of a line or after whitespace begins a comment. Tabs count as
    /// spaces for splitting.
    private static func withoutComment(_ line: String) -> String {
        var result = ""
        var previous: Character = " "
        for character in line {
            if character == "#", previous == " " || previous == "\t" { break }
            result.append(character == "\t" ? " " : character)
            previous = character
        }
        return result.trimmingCharacters(in: .whitespaces)
    }
}
