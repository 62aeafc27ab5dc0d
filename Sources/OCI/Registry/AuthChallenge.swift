/// A parsed `WWW-Authenticate` header: `Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`.
struct AuthChallenge: Equatable, Sendable {
    var scheme: String
    var parameters: [String: String]

    init?(header: String) {
        let trimmed = header.drop(while: { $0 == " " })
        guard let space = trimmed.firstIndex(of: " ") else {
            guard !trimmed.isEmpty else { return nil }
            scheme = trimmed.lowercased()
            parameters = [:]
            return
        }
        scheme = trimmed[..<space].lowercased()
        parameters = Self.parseParameters(trimmed[trimmed.index(after: space)...])
    }

    /// `key=value` or `key="quoted, value"` pairs separated by commas; quoted values may contain
    /// commas and backslash escapes.
    static func parseParameters(_ input: Substring) -> [String: String] {
        var result: [String: String] = [:]
        var i = input.startIndex
        func skip(_ chars: Set<Character>) {
            while i < input.endIndex, chars.contains(input[i]) { i = input.index(after: i) }
        }
        while i < input.endIndex {
            skip([" ", ","])
            let keyStart = i
            while i < input.endIndex, input[i] != "=", input[i] != "," { i = input.index(after: i) }
            let key = input[keyStart..<i].trimmingSpaces.lowercased()
            guard i < input.endIndex, input[i] == "=" else { continue }
            i = input.index(after: i)
            var value = ""
            if i < input.endIndex, input[i] == "\"" {
                i = input.index(after: i)
                while i < input.endIndex, input[i] != "\"" {
                    if input[i] == "\\", input.index(after: i) < input.endIndex { i = input.index(after: i) }
                    value.append(input[i])
                    i = input.index(after: i)
                }
                if i < input.endIndex { i = input.index(after: i) }
            } else {
                let start = i
                while i < input.endIndex, input[i] != "," { i = input.index(after: i) }
                value = input[start..<i].trimmingSpaces
            }
            if !key.isEmpty { result[key] = value }
        }
        return result
    }
}

extension Substring {
    var trimmingSpaces: String {
        String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
