/// Everything the spawn needs to run one command in a sandbox, as plain values. Building one
/// is pure (and unit-tested); `Sandbox.run` hands it to the C spawn.
public struct SandboxSpec: Sendable, Equatable {
    /// A host file or directory at `target` inside (recursive, nosuid, nodev).
    public struct Bind: Sendable, Equatable {
        public var source: String
        public var target: String
        public var readOnly: Bool

        public init(source: String, target: String, readOnly: Bool = false) {
            self.source = source
            self.target = target
            self.readOnly = readOnly
        }
    }

    /// A tmpfs at `target` inside; `options` as tmpfs takes them ("mode=1777").
    public struct Tmpfs: Sendable, Equatable {
        public var target: String
        public var options: String

        public init(target: String, options: String) {
            self.target = target
            self.options = options
        }
    }

    /// A generated file, read-only inside (it lives in the root filesystem's top layer).
    public struct File: Sendable, Equatable {
        public var path: String
        public var contents: String
        public var mode: UInt32

        public init(path: String, contents: String, mode: UInt32 = 0o644) {
            self.path = path
            self.contents = contents
            self.mode = mode
        }
    }

    public enum Network: String, Sendable, CaseIterable {
        /// The host's network namespace.
        case host
        /// A private network namespace with only loopback, up.
        case none
    }

    /// argv; a first element without "/" is looked up in the environment's PATH inside.
    public var command: [String]
    /// "NAME=value" entries.
    public var environment: [String]
    public var workingDirectory: String
    public var hostname: String

    /// The directory holding the unpacked layers, and the layers' names in it, bottom first.
    public var layersDirectory: String
    public var layers: [String]
    /// An empty directory in `layersDirectory` the child mounts its scratch tmpfs on.
    public var scratch = SandboxSpec.scratchName
    /// A throwaway writable layer on top (`--root`).
    public var writableRoot = false

    public var binds: [Bind] = []
    public var tmpfs: [Tmpfs] = []
    public var files: [File] = []
    public var maskedPaths = SandboxSpec.defaultMaskedPaths
    public var readOnlyPaths = SandboxSpec.defaultReadOnlyPaths

    public var identity: IDMapping
    /// nil runs unconfined (`[security] seccomp = "unconfined"`, for debuggers).
    public var seccomp: SeccompProfile? = .default
    public var network: Network = .host
    /// Interactive: the command gets its own process group and the terminal, when devenv has it.
    public var foreground = false

    public static let scratchName = ".sandbox"

    /// Docker's masked paths: kernel memory, keys and timing side channels, firmware.
    public static let defaultMaskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    /// Docker's read-only paths: kernel tunables and the magic SysRq key.
    public static let defaultReadOnlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    public init(command: [String], environment: [String], workingDirectory: String, hostname: String,
                layersDirectory: String, layers: [String], identity: IDMapping) {
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.hostname = hostname
        self.layersDirectory = layersDirectory
        self.layers = layers
        self.identity = identity
    }

    /// Binds in an order that mounts a directory before anything inside it.
    var orderedBinds: [Bind] {
        binds.enumerated().sorted { a, b in
            let depthA = a.element.target.split(separator: "/").count, depthB = b.element.target.split(separator: "/").count
            return depthA != depthB ? depthA < depthB : a.offset < b.offset
        }.map(\.element)
    }

    /// What the spawn cannot work with, as a message; nil when the spec is usable.
    var problem: String? {
        if command.isEmpty { return "no command to run" }
        if layers.isEmpty { return "the image has no layers" }
        // Layer names go into overlayfs' option string, where ',' and ':' separate things.
        if let bad = (layers + [scratch]).first(where: { $0.isEmpty || $0.contains(where: { ",:/".contains($0) }) }) {
            return "layer directory name \"\(bad)\" cannot be used in overlayfs options"
        }
        let paths = [workingDirectory, layersDirectory] + binds.flatMap { [$0.source, $0.target] } + tmpfs.map(\.target) + files.map(\.path)
        if let relative = paths.first(where: { !$0.hasPrefix("/") }) { return "\"\(relative)\" is not an absolute path" }
        return nil
    }
}
