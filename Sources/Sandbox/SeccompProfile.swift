import CSeccomp
import Glibc

/// The syscall filter every sandboxed process runs under: Docker's default profile as the
/// reference, written as a default-allow list of denials (docs/architecture.md, "The sandbox").
/// libseccomp only compiles it here, in devenv; the child loads the finished BPF program (crun
/// does the same), so no library code runs between clone and execve.
public struct SeccompProfile: Sendable, Equatable {
    /// A syscall that fails with `errno`, always or only when an argument matches.
    public struct Rule: Sendable, Equatable {
        public var syscall: String
        public var errno: Int32
        public var condition: Condition?

        public init(_ syscall: String, errno: Int32 = EPERM, when condition: Condition? = nil) {
            self.syscall = syscall
            self.errno = errno
            self.condition = condition
        }
    }

    /// `(argument & mask) == value`, on the argument's full 64 bits.
    public struct Condition: Sendable, Equatable {
        public var argument: UInt32
        public var mask: UInt64
        public var value: UInt64
    }

    public var rules: [Rule]

    public init(rules: [Rule]) {
        self.rules = rules
    }

    /// ioctl requests are 32 bits in the kernel, but seccomp sees the whole register: comparing
    /// only the low half means a request with high bits set cannot slip past.
    static func ioctlRequest(_ request: UInt64) -> Condition {
        Condition(argument: 1, mask: 0xFFFF_FFFF, value: request)
    }

    static let cloneNewUser: UInt64 = 0x1000_0000
    static let tiocsti: UInt64 = 0x5412
    static let tioclinux: UInt64 = 0x541C

    public static let `default` = SeccompProfile(rules: [
        // Kernel keyrings are not namespaced.
        "keyctl", "add_key", "request_key",
        // Replacing or extending the running kernel.
        "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
        "swapon", "swapoff",
        // Large kernel attack surface, no use in a development shell.
        "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
        // Reopening files by handle bypasses the mount namespace.
        "open_by_handle_at",
        // The sandbox's own mounts are made before the filter is loaded; nothing inside mounts.
        "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount",
        "fspick", "mount_setattr",
    ].map { Rule($0) } + [
        // A nested user namespace would give back the capabilities dropped for the command.
        Rule("clone", when: Condition(argument: 0, mask: cloneNewUser, value: cloneNewUser)),
        Rule("unshare", when: Condition(argument: 0, mask: cloneNewUser, value: cloneNewUser)),
        // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes glibc fall
        // back to clone, whose flags the rule above sees.
        Rule("clone3", errno: ENOSYS),
        // Typing into the terminal of the user's outer shell, and console control.
        Rule("ioctl", when: ioctlRequest(tiocsti)),
        Rule("ioctl", when: ioctlRequest(tioclinux)),
    ])

    /// The filter as a BPF program (`struct sock_filter[]`) for the native architecture and its
    /// compat ones (x86 and x32 next to x86_64, arm next to aarch64): a 32-bit binary must not
    /// escape the rules by using the other syscall table.
    public func compile() throws(SandboxError) -> [UInt8] {
        guard let context = seccomp_init(0x7FFF_0000 /* SCMP_ACT_ALLOW */) else {
            throw SandboxError(.seccomp, "seccomp_init failed")
        }
        defer { seccomp_release(context) }
        let native = seccomp_arch_native()
        let compat: [String] = switch native {
        case seccomp_arch_resolve_name("x86_64"): ["x86", "x32"]
        case seccomp_arch_resolve_name("aarch64"): ["arm"]
        default: []
        }
        for name in compat {
            let arch = seccomp_arch_resolve_name(name)
            let result = seccomp_arch_add(context, arch)
            guard result == 0 || result == -EEXIST else {
                throw SandboxError(.seccomp, "seccomp_arch_add \(name): \(String(cString: strerror(-result)))")
            }
        }
        for rule in rules {
            let number = seccomp_syscall_resolve_name(rule.syscall)
            // A syscall this libseccomp does not know cannot be called by name on this machine either.
            guard number >= 0 else { continue }
            let action = 0x0005_0000 | (UInt32(rule.errno) & 0xFFFF) // SCMP_ACT_ERRNO(errno)
            var comparisons: [scmp_arg_cmp] = []
            if let condition = rule.condition {
                comparisons.append(scmp_arg_cmp(arg: condition.argument, op: SCMP_CMP_MASKED_EQ,
                                                datum_a: condition.mask, datum_b: condition.value))
            }
            let result = seccomp_rule_add_array(context, action, number, UInt32(comparisons.count), comparisons)
            guard result == 0 else {
                throw SandboxError(.seccomp, "seccomp rule for \(rule.syscall): \(String(cString: strerror(-result)))")
            }
        }
        // seccomp_export_bpf writes to a file descriptor; an unlinked temporary file holds it.
        guard let file = tmpfile() else { throw SandboxError(.seccomp, "tmpfile: \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        let fd = fileno(file)
        let result = seccomp_export_bpf(context, fd)
        guard result == 0 else { throw SandboxError(.seccomp, "seccomp_export_bpf: \(String(cString: strerror(-result)))") }
        let size = lseek(fd, 0, SEEK_END)
        guard size > 0, lseek(fd, 0, SEEK_SET) == 0 else { throw SandboxError(.seccomp, "seccomp_export_bpf wrote nothing") }
        var program = [UInt8](repeating: 0, count: Int(size))
        let read = program.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard read == size else { throw SandboxError(.seccomp, "reading the exported filter: \(String(cString: strerror(errno)))") }
        return program
    }
}
