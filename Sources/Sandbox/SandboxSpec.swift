/// Everything the spawn needs to run one command in a sandbox, as plain values. Building one
/// is pure (and unit-tested); `Sandbox.run` hands it to the C spawn.
public struct SandboxSpec: Sendable, Equatable {
    /// A host file or directory at `target` inside (recursive, nosuid, nodev).
    public struct Bind: Sendable, Equatable {
        public var source: String
        public var target: String
        public var readOnly: Bool
        /// The symlink at `source` itself over the symlink at `target` (a `ProtectedPath` placeholder).
        public var symlink: Bool

        public init(source: String, target: String, readOnly: Bool = false, symlink: Bool = false) {
            self.source = source
            self.target = target
            self.readOnly = readOnly
            self.symlink = symlink
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

    /// A TCP port of the sandbox reached at `host` on the host's 127.0.0.1.
    public struct PublishedPort: Sendable, Equatable, Hashable {
        public var host: UInt16
        public var inside: UInt16

        public init(host: UInt16, inside: UInt16) {
            self.host = host
            self.inside = inside
        }
    }

    public enum Network: String, Sendable, CaseIterable {
        /// The host's network namespace.
        case host
        /// A private network namespace with only loopback, up.
        case none
        /// A private network namespace with outbound access (`OutboundNetwork`): the internet
        /// and the host's other addresses, not the host's loopback.
        case `private`
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
    /// A writable layer on top that stays when the sandbox exits: a build step's new layer. Host
    /// paths of two empty directories on one filesystem, both set or neither (and then no
    /// `writableRoot`). What the command changes in the root filesystem lands in
    /// `upperDirectory` in overlayfs' `userxattr` form: a deleted file is a character device 0/0,
    /// a replaced directory carries `user.overlay.opaque=y`. overlayfs also leaves bookkeeping
    /// there that is no part of the layer: `user.overlay.impure`, `user.overlay.origin` and
    /// `user.overlay.uuid`. The upper directory's own owner and mode are the root directory's
    /// inside, so make it 0755. The work directory keeps a mode 000 `work/`, owned by root inside.
    public var upperDirectory: String?
    public var workDirectory: String?

    public var binds: [Bind] = []
    public var tmpfs: [Tmpfs] = []
    public var files: [File] = []
    public var maskedPaths = SandboxSpec.defaultMaskedPaths
    public var readOnlyPaths = SandboxSpec.defaultReadOnlyPaths

    public var identity: IDMapping
    /// nil runs unconfined (`[security] seccomp = "unconfined"`, for debuggers).
    public var seccomp: SeccompProfile? = .default
    public var network: Network = .host
    /// With a private network: ports of the sandbox published on the host's 127.0.0.1.
    public var ports: [PublishedPort] = []
    /// Interactive: the command gets its own process group and the terminal, when devenv has it.
    public var foreground = false
    /// A process group of its own without the terminal: a service, whose children a stop
    /// signals with it.
    public var ownProcessGroup = false
    /// For build steps, as root inside only: the command keeps Docker's default capabilities in
    /// its user namespace (chown, setuid/setgid, dac_override, fowner, fsetid, mknod, net_raw,
    /// setfcap, setpcap, net_bind_service, sys_chroot, kill, audit_write) instead of none, so
    /// apt and dpkg can give files their owners and switch to their service users. The other
    /// hardening (no_new_privs, seccomp, only fds 0-2) stays.
    public var keepsCapabilities = false
    /// Host fds that become the command's stdin, stdout and stderr; nil: devenv's own. They are
    /// only duplicated: the caller closes its copies (a pipe's write end, before reading to EOF).
    /// A command with its own stdin does not take the terminal (`foreground`).
    public var standardInput: Int32?
    public var standardOutput: Int32?
    public var standardError: Int32?

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

    /// The directory holding `path` (absolute).
    static func parent(_ path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }

    /// What the spawn cannot work with, as a message; nil when the spec is usable.
    var problem: String? {
        if command.isEmpty { return "no command to run" }
        if layers.isEmpty { return "the image has no layers" }
        // Layer names go into overlayfs' option string, where ',' and ':' separate things.
        if let bad = (layers + [scratch]).first(where: { $0.isEmpty || $0.contains(where: { ",:/".contains($0) }) }) {
            return "layer directory name \"\(bad)\" cannot be used in overlayfs options"
        }
        let upper = [upperDirectory, workDirectory].compactMap { $0 }
        if upper.count == 1 { return "an upper directory needs a work directory, and a work directory an upper one" }
        if writableRoot, !upper.isEmpty { return "a throwaway writable root and an upper directory exclude each other" }
        if let bad = upper.first(where: { $0.contains(where: { ",:\\".contains($0) }) }) {
            return "directory \"\(bad)\" cannot be used in overlayfs options"
        }
        // A shifted root sees them through an idmapped copy of their parent (`IDMapping.shiftsHostIDs`).
        if identity.shiftsHostIDs, upper.count == 2, Set(upper.map(Self.parent)).count != 1 {
            return "with ids that are not the host's, the upper and work directories must be in one directory"
        }
        if keepsCapabilities, identity.uid != 0 { return "only root inside can keep capabilities" }
        let paths = [workingDirectory, layersDirectory] + upper + binds.flatMap { [$0.source, $0.target] } + tmpfs.map(\.target) + files.map(\.path)
        if let relative = paths.first(where: { !$0.hasPrefix("/") }) { return "\"\(relative)\" is not an absolute path" }
        return nil
    }
}
