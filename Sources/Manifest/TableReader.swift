import TOMLKit

/// Typed access to TOML tables that turns every mismatch into a `ManifestError` at the key's place.
struct TableReader {
    let file: String
    let locator: SourceLocator

    func error(at position: SourcePosition, _ problem: String, fix: String) -> ManifestError {
        ManifestError(file: file, position: position, problem: problem, fix: fix)
    }

    /// `[a.b]` for a table path, for messages, keys quoted as TOML needs them
    /// (`[volumes."/srv/cache"]`); the root is "the top level".
    static func describe(_ path: [String]) -> String {
        guard !path.isEmpty else { return "the top level" }
        if let last = path.last, last.hasPrefix("[") { return "[[\(path.dropLast().map(quotedKey).joined(separator: "."))]] \(last)" }
        return "[\(path.map(quotedKey).joined(separator: "."))]"
    }

    /// Keys in the order the file has them (toml++ tables are sorted by key).
    func inFileOrder(_ keys: [String], path: [String]) -> [String] {
        keys.sorted { a, b in
            let pa = locator.key(path + [a]), pb = locator.key(path + [b])
            return (pa.line, pa.column, a) < (pb.line, pb.column, b)
        }
    }

    /// Rejects the first key (in file order) that is not in `allowed`, with a did-you-mean.
    func checkKeys(_ table: TOMLTable, path: [String], allowed: [String]) throws(ManifestError) {
        guard let unknown = inFileOrder(table.keys, path: path).first(where: { !allowed.contains($0) }) else { return }
        let isTable = table[unknown]?.type == .table && path.isEmpty
        let what = isTable ? "unknown table [\(Self.quotedKey(unknown))]" : "unknown key \(FieldGrammar.quote(unknown)) in \(Self.describe(path))"
        let expected = isTable ? allowed.map { "[\($0)]" } : allowed
        if let suggestion = Suggestion.closest(to: unknown, among: allowed) {
            throw error(at: locator.key(path + [unknown]), "\(what); did you mean \"\(suggestion)\"?",
                        fix: "rename \(FieldGrammar.quote(unknown)) to \"\(suggestion)\"")
        }
        throw error(at: locator.key(path + [unknown]), "\(what); expected one of: \(expected.joined(separator: ", "))",
                    fix: "remove \(FieldGrammar.quote(unknown)) or use one of the keys above")
    }

    func table(_ table: TOMLTable, _ key: String, path: [String]) throws(ManifestError) -> TOMLTable? {
        guard let value = table[key] else { return nil }
        guard let result = value.table else {
            throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) must be a table, found \(value.type)",
                        fix: "write it as a section: [\((path + [key]).joined(separator: "."))] followed by its keys")
        }
        return result
    }

    func string(_ table: TOMLTable, _ key: String, path: [String]) throws(ManifestError) -> String? {
        guard let value = table[key] else { return nil }
        guard let result = value.string else {
            throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) in \(Self.describe(path)) must be a string, found \(value.type)",
                        fix: "quote the value: \(TableReader.quotedKey(key)) = \"…\"")
        }
        return result
    }

    /// An array of at most `limit` strings, each checked by `check` (which returns what is wrong, or nil).
    func strings(_ table: TOMLTable, _ key: String, path: [String], limit: Int, check: (String) -> SpecProblem?) throws(ManifestError) -> [String] {
        guard let value = table[key] else { return [] }
        guard let array = value.array else {
            throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) in \(Self.describe(path)) must be an array of strings, found \(value.type)",
                        fix: "write \(key) = [\"…\", \"…\"]")
        }
        guard array.count <= limit else {
            throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) in \(Self.describe(path)) has \(array.count) entries; devenv takes at most \(limit)",
                        fix: "list only what the environment needs")
        }
        var result: [String] = []
        for element in array {
            guard let string = element.string else {
                throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) in \(Self.describe(path)) must hold only strings, found \(element.type)",
                            fix: "quote each entry: \(key) = [\"…\", \"…\"]")
            }
            if let problem = FieldGrammar.controlProblem(string, multiline: false).map({ SpecProblem(problem: $0, fix: "remove it from the entry") })
                ?? (string.utf8.count > FieldGrammar.packageEntryLength
                    ? SpecProblem(problem: "is longer than \(FieldGrammar.packageEntryLength) characters", fix: "shorten it") : nil)
                ?? check(string) {
                throw error(at: locator.element(string, in: path + [key]), "\(key) entry \(FieldGrammar.quote(string)) \(problem.problem)", fix: problem.fix)
            }
            result.append(string)
        }
        return result
    }

    /// A string that must be one of an enumeration's raw values.
    func choice<Value: RawRepresentable & CaseIterable>(_ table: TOMLTable, _ key: String, path: [String], _: Value.Type) throws(ManifestError) -> Value?
    where Value.RawValue == String {
        guard let string = try self.string(table, key, path: path) else { return nil }
        if let value = Value(rawValue: string) { return value }
        let allowed = Value.allCases.map(\.rawValue)
        let hint = Suggestion.closest(to: string, among: allowed).map { "did you mean \"\($0)\"? " } ?? ""
        throw error(at: locator.value(path + [key]), "\(Self.quotedKey(key)) in \(Self.describe(path)) must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), found \(FieldGrammar.quote(string))",
                    fix: "\(hint)write \(key) = \"\(Suggestion.closest(to: string, among: allowed) ?? allowed[0])\"")
    }

    static func quotedKey(_ key: String) -> String {
        key.count <= 64 && key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") } ? key : FieldGrammar.quote(key)
    }
}
