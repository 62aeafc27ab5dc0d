/// The grammar of manifest and lock values that reach a host command line, a host path or the
/// user's terminal (DESIGN.md, "Trust"). A cloned repository's manifest and lock are untrusted:
/// each value is held to the narrowest form its use allows, at parse time, so that nothing
/// downstream has to wonder whether a suite is an option or a mirror is two lines. Each check
/// returns what is wrong (completing `… "value" …`) and how to fix it, or nil.
public enum FieldGrammar {
    /// Larger than any manifest a person writes; small enough to read and scan at once.
    static let manifestBytes = 1 << 20
    /// A lock lists the whole apt closure and every pip hash: far more room than a manifest.
    static let lockBytes = 16 << 20
    /// The kernel takes at most 128 KiB per argument or `NAME=value` (MAX_ARG_STRLEN); a setup
    /// step's script is an argument, a variable an environment entry.
    static let argumentBytes = 100_000
    /// All of `[env]` is passed to every process, within the kernel's 2 MiB for arguments and
    /// environment together.
    static let environmentBytes = 1 << 20
    static let environmentVariables = 50_000
    /// apt and pip entries reach the build in one variable each (the same 128 KiB limit).
    static let packageEntries = 1_000
    static let packageEntryLength = 512
    /// Each step is a layer, and the overlay mount takes only so many.
    static let setupSteps = 100
    /// Files one `[[setup]]` step may name, and bytes in each build input (a step's file, a
    /// requirements file): the build reads, hashes and copies them all.
    static let stepFiles = 64
    static let inputFileBytes = 64 << 20
    static let requirementsFileBytes = 1 << 20
    /// Requirements files including requirements files, at most this deep.
    static let requirementsDepth = 8
    static let mounts = 256
    /// `devenv up` runs each service as a process of its own and mounts each volume: a project's
    /// handful, with room to spare.
    static let services = 32
    static let volumes = 32
    static let nameLength = 64
    static let pathLength = 4096
    static let urlLength = 1024
    static let suiteLength = 40

    /// `value` quoted for a message: control characters escaped (a newline or an escape sequence
    /// in a manifest must not rewrite the user's terminal) and a huge value cut short.
    static func quote(_ value: some StringProtocol) -> String {
        "\"" + escaped(value, limit: 200, quotes: true) + "\""
    }

    /// Text for a message that may carry a value in it (another module's error, toml++'s), with
    /// its control characters escaped and cut to `limit` characters.
    public static func escaped(_ text: some StringProtocol, limit: Int = 400, quotes: Bool = false) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if result.unicodeScalars.count >= limit {
                result += "…"
                break
            }
            switch scalar {
            case "\"" where quotes: result += "\\\""
            case "\\" where quotes: result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            default:
                if isControl(scalar) {
                    result += "\\u{\(String(scalar.value, radix: 16))}"
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// C0 controls, DEL and the C1 controls (a terminal reads 0x9b as ESC [).
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
    }

    /// NUL ends a C string early, so a value with one means something else to the kernel than
    /// to devenv; the other controls have no place in a one-line value.
    static func controlProblem(_ value: some StringProtocol, multiline: Bool) -> String? {
        if value.unicodeScalars.contains("\0") { return "contains a NUL character" }
        let allowed: Set<Unicode.Scalar> = multiline ? ["\n", "\t", "\r"] : []
        if value.unicodeScalars.contains(where: { isControl($0) && !allowed.contains($0) }) {
            return multiline ? "contains a control character other than newline and tab" : "contains a line break or another control character"
        }
        return nil
    }

    /// A project or setup step name: it names a directory in the store and is printed in every
    /// build, so letters, digits, `.`, `_` and `-`, starting with a letter or digit.
    static func nameProblem(_ name: String) -> SpecProblem? {
        let fix = "use letters, digits, ., _ and -, e.g. \"webapp\""
        guard let first = name.unicodeScalars.first, isASCIIAlphanumeric(first) else {
            return SpecProblem(problem: "must start with a letter or digit", fix: fix)
        }
        guard name.unicodeScalars.allSatisfy({ isASCIIAlphanumeric($0) || "._-".unicodeScalars.contains($0) }) else {
            return SpecProblem(problem: "may hold only letters, digits, ., _ and -", fix: fix)
        }
        guard name.utf8.count <= nameLength else {
            return SpecProblem(problem: "is longer than \(nameLength) characters", fix: "shorten it to at most \(nameLength) characters")
        }
        return nil
    }

    /// `[services.NAME]`: named in `devenv up`'s output and commands (`devenv logs db`).
    static func serviceNameProblem(_ name: String) -> SpecProblem? {
        lowercaseNameProblem(name, others: "_-", described: "lowercase letters, digits, _ and -", example: "db")
    }

    /// A volume's name: the name of its directory in the store.
    static func volumeNameProblem(_ name: String) -> SpecProblem? {
        lowercaseNameProblem(name, others: "_.-", described: "lowercase letters, digits, ., _ and -", example: "pgdata")
    }

    /// Lowercase so that two names never differ only in case, starting with a letter or digit so
    /// that none is an option or a hidden file, and at most 63 characters.
    private static func lowercaseNameProblem(_ name: String, others: String, described: String, example: String) -> SpecProblem? {
        let fix = "use \(described), e.g. \"\(example)\""
        guard let first = name.utf8.first, isLowerAlphanumeric(first) else {
            return SpecProblem(problem: "must start with a lowercase letter or digit", fix: fix)
        }
        guard name.utf8.allSatisfy({ isLowerAlphanumeric($0) || others.utf8.contains($0) }) else {
            return SpecProblem(problem: "may hold only \(described)", fix: fix)
        }
        guard name.utf8.count < nameLength else {
            return SpecProblem(problem: "is longer than \(nameLength - 1) characters", fix: "shorten it to at most \(nameLength - 1) characters")
        }
        return nil
    }

    /// A user a service runs as or a volume belongs to: a Debian user name or a uid, handed to
    /// commands inside, so never an option and never a second word.
    static func userProblem(_ user: String) -> SpecProblem? {
        let fix = "name a user of the image, e.g. \"postgres\", or a uid, e.g. \"999\""
        if let first = user.utf8.first, user.utf8.allSatisfy(isDigit) {
            guard user.utf8.count <= 5, first != UInt8(ascii: "0") || user.utf8.count == 1, let uid = Int(user), uid <= 65535 else {
                return SpecProblem(problem: "is not a uid from 0 to 65535 without leading zeros", fix: fix)
            }
            return nil
        }
        // useradd's rule for names (a final $ is a Samba machine account), and its 32 characters.
        let name = user.hasSuffix("$") ? user.utf8.dropLast() : user.utf8[...]
        guard let first = name.first, first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
              name.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }), user.utf8.count <= 32 else {
            return SpecProblem(problem: "is not a user name (lowercase letters, digits, _ and -, starting with a letter or _, at most 32 characters) or a uid",
                               fix: fix)
        }
        return nil
    }

    /// Where the sandbox mounts file systems of its own, over anything a volume would put there.
    static let sandboxDirectories = ["/proc", "/sys", "/dev", "/tmp", "/run", "/var/tmp"]

    /// A volume's mount point inside: absolute and written the one way it can be (two spellings
    /// of a path would hide that two volumes overlap), below / and outside `sandboxDirectories`.
    static func volumeTargetProblem(_ target: String) -> SpecProblem? {
        let fix = "write the directory's plain absolute path inside, e.g. \"/var/lib/postgresql/data\""
        if let problem = absolutePathProblem(target) { return SpecProblem(problem: problem, fix: fix) }
        let plain = "/" + target.split(separator: "/").joined(separator: "/")
        if plain == "/" { return SpecProblem(problem: "is / itself", fix: fix) }
        if plain != target { return SpecProblem(problem: "has an empty component (a trailing / or //)", fix: "write \(quote(plain))") }
        if let directory = sandboxDirectories.first(where: { target == $0 || target.hasPrefix($0 + "/") }) {
            return SpecProblem(problem: "is \(target == directory ? "" : "inside ")\(directory), where the sandbox mounts a file system of its own",
                               fix: "choose a directory outside \(sandboxDirectories.joined(separator: ", ")), e.g. \"/var/lib/cache\"")
        }
        return nil
    }

    /// The SUITE of `debian:SUITE`: a codename or suite name, which mmdebstrap takes as an
    /// argument and writes into the sources list, so it can be neither an option nor a second word.
    static func bootstrapProblem(_ bootstrap: String) -> SpecProblem? {
        let fix = "write bootstrap = \"debian:bookworm\" (or another Debian suite: lowercase letters, digits, . and -)"
        guard bootstrap.hasPrefix("debian:") else { return SpecProblem(problem: "is not of the form \"debian:SUITE\"", fix: fix) }
        let suite = bootstrap.utf8.dropFirst("debian:".utf8.count)
        guard let first = suite.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return SpecProblem(problem: "is not of the form \"debian:SUITE\" with a suite starting with a lowercase letter", fix: fix)
        }
        guard suite.allSatisfy({ isLowerAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            return SpecProblem(problem: "has a suite with characters other than a-z, 0-9, . and -", fix: fix)
        }
        guard suite.count <= suiteLength else {
            return SpecProblem(problem: "has a suite longer than \(suiteLength) characters", fix: fix)
        }
        return nil
    }

    /// The mirror mmdebstrap writes into the sources list: an absolute http or https URL with a
    /// host, RFC 3986 characters only, so it is one word of one line and never an option, a
    /// `[trusted=yes]` or a file path.
    static func mirrorProblem(_ mirror: String) -> SpecProblem? {
        let fix = "write mirror = \"\(Manifest.defaultMirror)\" (an http:// or https:// URL with a host, nothing else on the line)"
        guard mirror.utf8.count <= urlLength else { return SpecProblem(problem: "is longer than \(urlLength) characters", fix: fix) }
        if let problem = controlProblem(mirror, multiline: false) { return SpecProblem(problem: problem, fix: fix) }
        let bytes = Array(mirror.utf8)
        let scheme: Int
        if mirror.hasPrefix("http://") {
            scheme = 7
        } else if mirror.hasPrefix("https://") {
            scheme = 8
        } else {
            return SpecProblem(problem: "is not an http:// or https:// URL", fix: fix)
        }
        guard let problem = uriCharacterProblem(bytes) else {
            let rest = bytes[scheme...]
            let authority = rest.prefix { $0 != UInt8(ascii: "/") }
            if rest.contains(UInt8(ascii: "?")) || rest.contains(UInt8(ascii: "#")) {
                return SpecProblem(problem: "has a query or fragment (? or #), which a mirror does not take", fix: fix)
            }
            guard authorityIsValid(authority) else {
                return SpecProblem(problem: "does not have a valid host[:port] after \(String(decoding: bytes[..<scheme], as: UTF8.self))", fix: fix)
            }
            if rest.dropFirst(authority.count).contains(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "]") }) {
                return SpecProblem(problem: "has [ or ] outside an IPv6 host", fix: fix)
            }
            return nil
        }
        return SpecProblem(problem: problem, fix: fix)
    }

    /// A URL in a pip requirement (`name @ URL`): RFC 3986 characters with a scheme.
    static func urlProblem(_ url: some StringProtocol) -> String? {
        guard url.utf8.count <= urlLength else { return "has a URL longer than \(urlLength) characters" }
        let bytes = Array(url.utf8)
        if let problem = uriCharacterProblem(bytes) { return "has a URL that \(problem)" }
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0, bytes[colon...].starts(with: "://".utf8),
              let first = bytes.first, isASCIILetter(first) else {
            return "has an @ not followed by a URL (scheme://…)"
        }
        return nil
    }

    /// An absolute path without `.` or `..` components, control characters or overlong parts.
    static func absolutePathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "is not an absolute path" }
        if let problem = controlProblem(path, multiline: false) { return problem }
        if path.utf8.count > pathLength { return "is longer than \(pathLength) bytes" }
        let components = path.split(separator: "/")
        if components.contains(where: { $0 == "." || $0 == ".." }) { return "has a . or .. component" }
        if components.contains(where: { $0.utf8.count > 255 }) { return "has a component longer than 255 bytes" }
        return nil
    }

    /// A path inside the repository, relative to its top: no leading /, no empty, `.` or `..`
    /// component, nothing under `.git/`.
    static func relativePathProblem(_ path: String) -> String? {
        if path.isEmpty { return "is empty" }
        if path.hasPrefix("/") { return "is an absolute path; it must be relative to the repository's top" }
        if let problem = controlProblem(path, multiline: false) { return problem }
        if path.utf8.count > pathLength { return "is longer than \(pathLength) bytes" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        if components.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) { return "has an empty, . or .. component" }
        if components.contains(where: { $0.utf8.count > 255 }) { return "has a component longer than 255 bytes" }
        if components.first == ".git" { return "is inside .git" }
        return nil
    }

    /// `os/arch[/variant]`, as OCI platforms are written.
    static func platformIsValid(_ platform: String) -> Bool {
        let parts = platform.split(separator: "/", omittingEmptySubsequences: false)
        return (2...3).contains(parts.count) && parts.allSatisfy { part in
            (1...32).contains(part.utf8.count) && part.utf8.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "_") }
        }
    }

    /// A PEP 440 version as pip reports it: starts with a digit, then letters, digits, `.`, `!`, `+`, `_`, `-`.
    static func pipVersionIsValid(_ version: String) -> Bool {
        guard let first = version.utf8.first, isDigit(first), version.utf8.count <= nameLength else { return false }
        return version.utf8.allSatisfy { isASCIIAlphanumeric(Unicode.Scalar($0)) || "!+._-".utf8.contains($0) }
    }

    private static func uriCharacterProblem(_ bytes: [UInt8]) -> String? {
        // unreserved, gen-delims and sub-delims; % only as a percent-escape of a printable byte.
        let allowed = Set("-._~:/?#[]@!$&'()*+,;=".utf8)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, let value = UInt8(String(decoding: bytes[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) else {
                    return "has a % that is not followed by two hex digits"
                }
                if value < 0x20 || value == 0x7f { return "has a percent-escaped control character" }
                index += 3
                continue
            }
            guard isASCIIAlphanumeric(Unicode.Scalar(byte)) || allowed.contains(byte) else {
                return "has a character that is not allowed in a URL (spaces, quotes, <>, non-ASCII…)"
            }
            index += 1
        }
        return nil
    }

    /// `[userinfo@]host[:port]`: a registered name (letters, digits, `-`, `.`, `_`, `~`) or a
    /// bracketed IPv6 address; brackets nowhere else.
    private static func authorityIsValid(_ authority: ArraySlice<UInt8>) -> Bool {
        var hostPort = authority
        if let at = authority.lastIndex(of: UInt8(ascii: "@")) {
            let userinfo = authority[..<at]
            guard !userinfo.contains(UInt8(ascii: "[")), !userinfo.contains(UInt8(ascii: "]")) else { return false }
            hostPort = authority[(at + 1)...]
        }
        var port: ArraySlice<UInt8>?
        if hostPort.first == UInt8(ascii: "[") {
            guard let close = hostPort.firstIndex(of: UInt8(ascii: "]")) else { return false }
            let address = hostPort[(hostPort.startIndex + 1)..<close]
            let hex = Set("0123456789abcdefABCDEF:.".utf8)
            guard address.contains(UInt8(ascii: ":")), address.allSatisfy({ hex.contains($0) }) else { return false }
            let after = hostPort[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return false }
                port = after.dropFirst()
            }
        } else {
            var host = hostPort
            if let colon = hostPort.firstIndex(of: UInt8(ascii: ":")) {
                host = hostPort[..<colon]
                port = hostPort[(colon + 1)...]
            }
            let hostCharacters = Set("-._~".utf8)
            guard let first = host.first, isASCIIAlphanumeric(Unicode.Scalar(first)),
                  host.allSatisfy({ isASCIIAlphanumeric(Unicode.Scalar($0)) || hostCharacters.contains($0) }) else { return false }
        }
        if let port {
            guard (1...5).contains(port.count), port.allSatisfy(isDigit),
                  let number = Int(String(decoding: port, as: UTF8.self)), (1...65535).contains(number) else { return false }
        }
        return true
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool { isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) }
    private static func isASCIILetter(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        scalar.isASCII && (isDigit(UInt8(scalar.value)) || isASCIILetter(UInt8(scalar.value)))
    }
}
