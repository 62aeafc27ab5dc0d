/// Checks `[packages] apt` entries: `name` or `name=version`, with Debian's grammar for both
/// (Debian Policy 5.6.1 and 5.6.12). Whether the mirror has them is the lock's business.
enum AptSpec {
    static func problem(_ spec: String) -> SpecProblem? {
        let (name, version) = split(spec)
        if let problem = nameProblem(name) { return problem }
        guard let version else { return nil }
        return versionProblem(version).map { SpecProblem(problem: $0, fix: "write name=version with a Debian version, e.g. \"jq=1.6-2.1\"") }
    }

    private static func split(_ spec: String) -> (Substring, Substring?) {
        guard let equals = spec.firstIndex(of: "=") else { return (spec[...], nil) }
        return (spec[..<equals], spec[spec.index(after: equals)...])
    }

    private static func nameProblem(_ name: Substring) -> SpecProblem? {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || "+-.".contains($0)) }
        guard name.count >= 2, allowed, let first = name.first, first.isLowercase || first.isNumber else {
            return SpecProblem(
                problem: "is not a Debian package name (at least two of a-z 0-9 + - ., starting with a letter or digit), optionally followed by =version",
                fix: "write \"name\" or \"name=version\", e.g. \"postgresql-15\" or \"jq=1.6-2.1\"")
        }
        return nil
    }

    /// `[epoch:]upstream[-revision]`: upstream starts with a digit and uses A-Za-z0-9 . + ~ (and
    /// - when there is a revision, : when there is an epoch).
    private static func versionProblem(_ version: Substring) -> String? {
        var rest = version
        if let colon = rest.firstIndex(of: ":") {
            let epoch = rest[..<colon]
            guard !epoch.isEmpty, epoch.allSatisfy({ $0.isASCII && $0.isNumber }) else { return "has an epoch that is not a number" }
            rest = rest[rest.index(after: colon)...]
        }
        var upstream = rest
        if let dash = rest.lastIndex(of: "-") {
            upstream = rest[..<dash]
            let revision = rest[rest.index(after: dash)...]
            guard !revision.isEmpty, revision.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+.~".contains($0)) }) else {
                return "has a Debian revision (after the last -) that is empty or has characters other than A-Z a-z 0-9 + . ~"
            }
        }
        guard let first = upstream.first, first.isASCII, first.isNumber else { return "has a version that does not start with a digit" }
        guard upstream.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".+~-:".contains($0)) }) else {
            return "has a version with characters other than A-Z a-z 0-9 . + ~ - :"
        }
        return nil
    }
}
