/// Checks `[packages] pip` entries against the PEP 508 subset devenv accepts: a name, optional
/// extras, then version specifiers (optionally in parentheses) or `@ URL`, then optional
/// markers after `;`. Markers are checked to be present, not evaluated: pip does that.
enum PipRequirement {
    static let operators = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"]
    static let fix = "write a PEP 508 requirement, e.g. \"django==4.2.16\", \"requests[socks]>=2.31,<3\" or \"tomli; python_version < '3.11'\""

    /// A `[packages] pip` entry: a requirement, or `-r FILE` naming a requirements file in the
    /// repository.
    static func entryProblem(_ entry: String) -> SpecProblem? {
        guard let path = requirementsFile(entry) else { return problem(entry) }
        return FieldGrammar.relativePathProblem(path).map {
            SpecProblem(problem: "names a requirements file that \($0)", fix: "write \"-r requirements.txt\" with the file's path from the repository's top")
        }
    }

    /// The path of a `-r FILE` entry, else nil.
    static func requirementsFile(_ entry: String) -> String? {
        guard entry.hasPrefix("-r ") else { return nil }
        return String(entry.dropFirst(3).drop { $0 == " " })
    }

    static func problem(_ requirement: String) -> SpecProblem? {
        // Requirements are joined one per line for pip: a line break would start a line of its own.
        if let problem = FieldGrammar.controlProblem(requirement, multiline: false) { return SpecProblem(problem: problem, fix: fix) }
        let (head, markers) = split(requirement)
        if let markers, markers.allSatisfy(\.isWhitespace) {
            return SpecProblem(problem: "has a ; with no environment marker after it", fix: fix)
        }
        // The requirements reach pip as lines of a requirements file, where a word starting
        // with - is an option (--index-url, --global-option) rather than part of a requirement.
        if requirement.split(separator: " ").contains(where: { $0.hasPrefix("-") }) {
            return SpecProblem(problem: "has a word starting with -, which pip would read as an option", fix: fix)
        }
        var rest = head.drop { $0 == " " }
        let name = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard let first = name.first, let last = name.last, first.isLetter || first.isNumber, last.isLetter || last.isNumber else {
            return SpecProblem(problem: "does not start with a project name (letters, digits, . _ -, starting and ending with a letter or digit)", fix: fix)
        }
        rest = rest.dropFirst(name.count).drop { $0 == " " }
        if rest.first == "[" {
            guard let close = rest.firstIndex(of: "]") else { return SpecProblem(problem: "has an unclosed [ for extras", fix: fix) }
            let extras = rest[rest.index(after: rest.startIndex)..<close].split(separator: ",", omittingEmptySubsequences: false)
            let valid = extras.allSatisfy { extra in
                let trimmed = extra.trimmingSpaces
                return !trimmed.isEmpty && trimmed.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
            }
            guard valid else { return SpecProblem(problem: "has extras that are not comma-separated names", fix: fix) }
            rest = rest[rest.index(after: close)...].drop { $0 == " " }
        }
        if rest.isEmpty { return nil }
        if rest.first == "@" {
            let url = rest.dropFirst().trimmingSpaces
            return FieldGrammar.urlProblem(url).map { SpecProblem(problem: $0, fix: fix) }
        }
        var specifiers = rest.trimmingSpaces
        if specifiers.first == "(" {
            guard specifiers.last == ")" else { return SpecProblem(problem: "has an unclosed ( around its version specifiers", fix: fix) }
            specifiers = specifiers.dropFirst().dropLast().trimmingSpaces
        }
        for specifier in specifiers.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = specifier.trimmingSpaces
            guard let op = operators.first(where: { trimmed.hasPrefix($0) }) else {
                return SpecProblem(problem: "has \(FieldGrammar.quote(trimmed)) where a version specifier (==, >=, ~=, …) was expected", fix: fix)
            }
            let version = trimmed.dropFirst(op.count).trimmingSpaces
            let valid = !version.isEmpty && version.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || ".*+!_-".contains($0)) }
            guard valid else { return SpecProblem(problem: "has \(FieldGrammar.quote(trimmed)) with a missing or malformed version after \(op)", fix: fix) }
        }
        return nil
    }

    private static func split(_ requirement: String) -> (Substring, Substring?) {
        guard let semicolon = requirement.firstIndex(of: ";") else { return (requirement[...], nil) }
        return (requirement[..<semicolon], requirement[requirement.index(after: semicolon)...])
    }
}

private extension Substring {
    var trimmingSpaces: Substring { firstNonSpace < endOfNonSpace ? self[firstNonSpace..<endOfNonSpace] : self[endIndex...] }

    private var firstNonSpace: Index { firstIndex { $0 != " " } ?? endIndex }
    private var endOfNonSpace: Index { lastIndex { $0 != " " }.map { index(after: $0) } ?? endIndex }
}
