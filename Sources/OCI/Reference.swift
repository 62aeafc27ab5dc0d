/// An image reference as Docker reads it: `debian` is `docker.io/library/debian:latest`,
/// `host:port/ns/name:tag@sha256:…` names a registry, a repository, and a tag and/or a digest.
public struct Reference: Hashable, Sendable, CustomStringConvertible {
    /// Registry host as users write it (`docker.io`, `127.0.0.1:5000`).
    public let domain: String
    /// Repository path in the registry (`library/debian`).
    public let repository: String
    public let tag: String?
    public let digest: Digest?

    public static let defaultDomain = "docker.io"

    public init(parsing input: String) throws {
        func fail(_ why: String) -> OCIError {
            OCIError(.invalidReference, "invalid image reference \"\(input)\": \(why)")
        }
        guard !input.isEmpty else { throw fail("it is empty") }
        guard input.utf8.count <= 4096, !input.contains(where: { $0.isWhitespace }) else {
            throw fail("it contains white space")
        }

        var rest = Substring(input)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            do { digest = try Digest(String(rest[rest.index(after: at)...])) } catch {
                throw fail("the part after @ must be sha256:<64 lowercase hex digits>")
            }
            rest = rest[..<at]
        }

        var tag: String?
        if let colon = rest.lastIndex(of: ":"), !rest[colon...].contains("/") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        if let tag, !Self.isValidTag(tag) {
            throw fail("tag \"\(tag)\" must be 1–128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
        }

        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var domain = Self.defaultDomain
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.contains(where: \.isUppercase) {
            domain = first
            components.removeFirst()
            guard Self.isValidDomain(domain) else { throw fail("registry host \"\(domain)\" is not a valid host[:port]") }
        }
        if domain == "index.docker.io" { domain = Self.defaultDomain }
        if domain == Self.defaultDomain, components.count == 1 { components.insert("library", at: 0) }

        for component in components {
            if component.contains(where: \.isUppercase) {
                throw fail("repository names must be lowercase (\"\(component)\")")
            }
            guard Self.isValidPathComponent(component) else {
                throw fail("\"\(component)\" is not a valid repository path component (lowercase letters, digits, and '.', '_', '__', '-' between them)")
            }
        }
        let repository = components.joined(separator: "/")
        guard repository.utf8.count <= 255 else { throw fail("the repository name is longer than 255 characters") }

        self.domain = domain
        self.repository = repository
        self.tag = (tag == nil && digest == nil) ? "latest" : tag
        self.digest = digest
    }

    public init(domain: String, repository: String, tag: String?, digest: Digest?) {
        self.domain = domain
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// `domain/repository`, the name without tag or digest.
    public var name: String { "\(domain)/\(repository)" }

    /// The full normalized form, `docker.io/library/debian:bookworm`.
    public var description: String {
        var s = name
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }

    /// The reference a registry's manifest endpoint takes: the digest when pinned, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// This reference pinned to `digest`, keeping the tag for readability.
    public func pinned(to digest: Digest) -> Reference {
        Reference(domain: domain, repository: repository, tag: tag, digest: digest)
    }

    /// Docker Hub's API lives on a different host than the name users write.
    public var registryHost: String { domain == Self.defaultDomain ? "registry-1.docker.io" : domain }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count), bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, the distribution spec's path component grammar.
    static func isValidPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isLowerAlnum(first), isLowerAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isLowerAlnum(bytes[i]) { i += 1; continue }
            var j = i
            while j < bytes.count, !isLowerAlnum(bytes[j]) { j += 1 }
            let separator = bytes[i..<j]
            let ok = separator.elementsEqual(".".utf8) || separator.elementsEqual("_".utf8)
                || separator.elementsEqual("__".utf8) || separator.allSatisfy { $0 == UInt8(ascii: "-") }
            if !ok { return false }
            i = j
        }
        return true
    }

    static func isValidDomain(_ domain: String) -> Bool {
        var host = Substring(domain)
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":", let port = Int(after.dropFirst()), (1...65535).contains(port) else { return false }
            }
            return true
        }
        if let colon = host.lastIndex(of: ":") {
            guard let port = Int(host[host.index(after: colon)...]), (1...65535).contains(port) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return !labels.isEmpty && labels.allSatisfy { label in
            guard let f = label.utf8.first, let l = label.utf8.last, isAlnum(f), isAlnum(l) else { return false }
            return label.utf8.allSatisfy { isAlnum($0) || $0 == UInt8(ascii: "-") }
        }
    }
}

private func isLowerAlnum(_ c: UInt8) -> Bool { (97...122).contains(c) || (48...57).contains(c) }
private func isAlnum(_ c: UInt8) -> Bool { isLowerAlnum(c) || (65...90).contains(c) }
