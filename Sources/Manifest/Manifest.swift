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

    /// What `devenv up` does when a service's command exits.
    public enum RestartPolicy: String, Sendable, Equatable, CaseIterable {
        case no, onFailure = "on-failure", always
    }

    /// `[services.NAME]`: a long-running process of the running environment (`devenv up`); the
    /// build never sees it.
    public struct Service: Sendable, Equatable {
        public var name: String
        /// A `/bin/sh -c` script, run inside.
        public var command: String
        /// A user of the image; nil: the environment's own user.
        public var user: String?
        /// A `/bin/sh -c` script that exits 0 once the service is ready; nil: ready once started.
        public var ready: String?
        public var restart: RestartPolicy
        /// Services started (and ready) before this one, as listed.
        public var dependsOn: [String]
        /// Where the `[services.NAME]` table is, for errors found later (a user the image lacks).
        public var position: SourcePosition

        public init(name: String, command: String, user: String? = nil, ready: String? = nil, restart: RestartPolicy = .no,
                    dependsOn: [String] = [], position: SourcePosition) {
            self.name = name
            self.command = command
            self.user = user
            self.ready = ready
            self.restart = restart
            self.dependsOn = dependsOn
            self.position = position
        }
    }

    /// `[volumes]` entry: a per-project directory mounted inside by `devenv up`, kept across
    /// `down` and `up`.
    public struct Volume: Sendable, Equatable {
        /// The absolute, normalized mount point inside.
        public var target: String
        public var name: String
        /// The owner the `{ name, user }` form names; nil: see `Manifest.volumeOwner`.
        public var user: String?
        /// Where the mount point's key is.
        public var position: SourcePosition

        public init(target: String, name: String, user: String? = nil, position: SourcePosition) {
            self.target = target
            self.name = name
            self.user = user
            self.position = position
        }
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
    /// In start order: each after those it depends on, otherwise by name, so that `up` starts
    /// them the same way every time.
    public var services: [Service] = []
    /// Sorted by target.
    public var volumes: [Volume] = []
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

    /// Who owns `volume`'s directory: the user it names, else the one user the services run as
    /// when they name exactly one (a database's data belongs to the database), else nil, the
    /// environment's own user.
    public func volumeOwner(_ volume: Volume) -> String? {
        if let user = volume.user { return user }
        let users = Set(services.compactMap(\.user))
        return users.count == 1 ? users.first : nil
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
