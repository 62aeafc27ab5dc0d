import Foundation

/// `.devenv/devenv.toml`, schema version 1 (docs/architecture.md, "Data flow"), parsed and
/// validated.
public struct Manifest: Sendable, Equatable {
    public enum Base: Sendable, Equatable {
        /// An OCI reference, validated with `OCI.Reference(parsing:)`.
        case image(String)
        /// "debian:SUITE", built with mmdebstrap from `mirror`.
        case bootstrap(String, mirror: String)
    }

    public struct Packages: Sendable, Equatable {
        /// `name` or `name=version`.
        public var apt: [String] = []
        /// PEP 508 requirements: the manifest's own, then those of its requirements files in
        /// the order it names them (after `load`).
        public var pip: [String] = []
        /// `"-r FILE"` entries of `pip`: requirements files in the repository.
        public var requirementsFiles: [FileReference] = []

        public var isEmpty: Bool { apt.isEmpty && pip.isEmpty }
    }

    public struct Variable: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public struct SetupStep: Sendable, Equatable {
        public var name: String
        public var run: String
        /// Repository files the step reads (`files`), relative to the project; the step sees them
        /// read-only under `inputsDirectory`, and their contents are part of its cache key.
        public var files: [FileReference] = []

        public init(name: String, run: String, files: [FileReference] = []) {
            self.name = name
            self.run = run
            self.files = files
        }
    }

    /// A repository file the manifest names, relative to the project, and where it names it.
    public struct FileReference: Sendable, Equatable {
        public var path: String
        public var position: SourcePosition

        public init(path: String, position: SourcePosition) {
            self.path = path
            self.position = position
        }
    }

    /// A repository file the environment is built from (a step's `files`, a requirements file
    /// and those it includes), as `load` read it.
    public struct InputFile: Sendable, Equatable {
        /// Relative to the project.
        public var path: String
        /// sha256 of its contents, hex.
        public var digest: String

        public init(path: String, digest: String) {
            self.path = path
            self.digest = digest
        }
    }

    /// Where a `[[setup]]` step finds its `files` inside: `/devenv/files/<path>`.
    public static let inputsDirectory = "/devenv/files"

    public struct Shell: Sendable, Equatable {
        public enum Workdir: Sendable, Equatable {
            /// The repository at its own host path.
            case same
            /// The repository at this absolute path inside.
            case path(String)
        }

        /// nil: bash if the image has it, else sh.
        public var command: String?
        public var workdir: Workdir = .same
        /// nil: derived from the environment's name.
        public var hostname: String?
    }

    /// `host`: the host's network; `none`: only loopback; `private`: a network namespace of its
    /// own with outbound access, the host's loopback unreachable.
    public enum NetworkMode: String, Sendable, Equatable, CaseIterable {
        case host, none, `private`
    }

    /// `[network] ports` entry: a port of the environment published on the host's 127.0.0.1.
    public struct Port: Sendable, Equatable, Hashable {
        public var host: UInt16
        public var inside: UInt16

        public init(host: UInt16, inside: UInt16) {
            self.host = host
            self.inside = inside
        }
    }

    public struct Mount: Sendable, Equatable {
        /// As written in the manifest.
        public var written: String
        /// Absolute, with `~` expanded to the host home.
        public var hostPath: String
        public var readOnly: Bool
        /// Where the mount's key is, for errors found later (a missing host path).
        public var position: SourcePosition
    }

    public enum Seccomp: String, Sendable, Equatable, CaseIterable {
        case `default`, unconfined
    }

    /// nil: the repository directory's name.
    public var name: String?
    public var base: Base
    public var packages = Packages()
    /// In the order the file lists them.
    public var env: [Variable] = []
    public var setup: [SetupStep] = []
    public var shell = Shell()
    public var network = NetworkMode.host
    /// `[network] ports` (only with `mode = "private"`), as listed.
    public var ports: [Port] = []
    /// Where `[network] ports` is, for the approval it needs (`TrustRequest`).
    public var portsPosition: SourcePosition?
    public var mounts: [Mount] = []
    public var seccomp = Seccomp.default
    /// Where `[security] seccomp` is, for the approval it needs when unconfined (`TrustRequest`).
    public var seccompPosition: SourcePosition?
    /// `[share] image`: where `devenv push` publishes the environment.
    public var shareImage: String?
    /// Every repository file the build reads, sorted by path; filled by `load`, empty after `parse`.
    public var inputFiles: [InputFile] = []

    public static let defaultMirror = "http://deb.debian.org/debian"

    /// What is wrong with `bootstrap` as `[base] bootstrap` ("debian:SUITE"), or nil; for
    /// `devenv init --bootstrap`, which writes it into a manifest.
    public static func bootstrapProblem(_ bootstrap: String) -> String? {
        FieldGrammar.bootstrapProblem(bootstrap)?.problem
    }

    public init(base: Base) {
        self.base = base
    }

    /// Parses `text`; `file` is the path errors name, `home` what `~` in mounts expands to.
    public static func parse(_ text: String, file: String, home: String) throws(ManifestError) -> Manifest {
        try ManifestParser(text: text, file: file, home: home).parse()
    }

    /// Reads and parses the manifest at `path`: a regular file inside its project (`ProjectFile`);
    /// then reads the repository files it names (`Manifest+Inputs`).
    public static func load(path: String, home: String) throws -> Manifest {
        let data = try ProjectFile.read(path, what: "manifest", limit: FieldGrammar.manifestBytes,
                                        missingFix: "create it with `devenv init` (see `devenv init --list`)")
        guard let text = String(data: data, encoding: .utf8) else {
            throw ManifestError(file: path, position: SourcePosition(line: 1, column: 1),
                                problem: "the file is not UTF-8 text (TOML must be UTF-8)", fix: "save it as UTF-8")
        }
        var manifest = try parse(text, file: path, home: home)
        try manifest.readInputs(manifestPath: path)
        return manifest
    }
}
