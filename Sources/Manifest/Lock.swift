import Foundation

/// `.devenv/devenv.lock`: what `devenv lock` resolved the manifest to (docs/architecture.md,
/// "Data flow"), so that `build` installs exactly these versions on every machine.
public struct Lock: Sendable, Equatable, Codable {
    public static let fileName = "devenv.lock"
    /// The format this devenv writes and reads.
    public static let currentVersion = 1

    public var version: Int
    public var base: Base
    /// nil when the manifest resolves no apt packages.
    public var apt: Apt?
    /// nil when the manifest has no pip requirements.
    public var pip: Pip?

    public struct Base: Sendable, Equatable, Codable {
        /// The manifest's `[base] image` as written, e.g. "debian:bookworm".
        public var image: String?
        /// The resolved image manifest digest, `sha256:…`, for `platform`.
        public var digest: String?
        /// "linux/amd64".
        public var platform: String?
        /// The manifest's `[base] bootstrap`, e.g. "debian:bookworm".
        public var bootstrap: String?
        /// The mirror the bootstrap base is built from.
        public var mirror: String?

        public init(image: String? = nil, digest: String? = nil, platform: String? = nil, bootstrap: String? = nil, mirror: String? = nil) {
            self.image = image
            self.digest = digest
            self.platform = platform
            self.bootstrap = bootstrap
            self.mirror = mirror
        }
    }

    public struct Apt: Sendable, Equatable, Codable {
        /// What was resolved: `Manifest.aptRequests`, in order.
        public var requested: [String]
        /// The whole installed closure, sorted by name (then architecture).
        public var packages: [AptPackage]

        public init(requested: [String], packages: [AptPackage]) {
            self.requested = requested
            self.packages = packages
        }
    }

    public struct AptPackage: Sendable, Equatable, Codable {
        public var name: String
        public var version: String
        /// "amd64", "all", …
        public var architecture: String

        public init(name: String, version: String, architecture: String) {
            self.name = name
            self.version = version
            self.architecture = architecture
        }
    }

    public struct Pip: Sendable, Equatable, Codable {
        /// The manifest's `[packages] pip` as written, in order.
        public var requested: [String]
        /// The Python version resolved against, e.g. "3.11.2".
        public var python: String
        /// Sorted by normalized name.
        public var distributions: [PipDistribution]

        public init(requested: [String], python: String, distributions: [PipDistribution]) {
            self.requested = requested
            self.python = python
            self.distributions = distributions
        }
    }

    public struct PipDistribution: Sendable, Equatable, Codable {
        public var name: String
        public var version: String
        /// Lowercase hex digests (what `pip --require-hashes` takes after `sha256:`), sorted.
        public var sha256: [String]

        public init(name: String, version: String, sha256: [String]) {
            self.name = name
            self.version = version
            self.sha256 = sha256
        }
    }

    public init(base: Base, apt: Apt? = nil, pip: Pip? = nil) {
        self.version = Self.currentVersion
        self.base = base
        self.apt = apt
        self.pip = pip
    }

    /// JSON with sorted keys, 2-space indentation and one trailing newline, lists sorted as the
    /// model documents: equal locks give equal bytes, so the committed file only changes when
    /// the resolution does.
    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            var data = try encoder.encode(normalized())
            data.append(UInt8(ascii: "\n"))
            return data
        } catch {
            // Only strings and integers are encoded, which JSONEncoder cannot reject.
            preconditionFailure("encoding a lock failed: \(error)")
        }
    }

    /// The same lock with every list the model keeps sorted put in its order.
    func normalized() -> Lock {
        var lock = self
        lock.apt?.packages.sort { ($0.name, $0.architecture, $0.version) < ($1.name, $1.architecture, $1.version) }
        if var pip = lock.pip {
            for index in pip.distributions.indices { pip.distributions[index].sha256.sort() }
            pip.distributions.sort {
                (Self.normalizedPipName($0.name), $0.name, $0.version) < (Self.normalizedPipName($1.name), $1.name, $1.version)
            }
            lock.pip = pip
        }
        return lock
    }

    /// PEP 503: lowercase, runs of `-`, `_` and `.` as one `-`, so "Django" and "django" and
    /// "zope.interface" and "zope-interface" are the same project.
    public static func normalizedPipName(_ name: some StringProtocol) -> String {
        var result = ""
        var inSeparatorRun = false
        for character in name.lowercased() {
            if "-_.".contains(character) {
                if !inSeparatorRun { result.append("-") }
                inSeparatorRun = true
            } else {
                result.append(character)
                inSeparatorRun = false
            }
        }
        return result
    }
}
