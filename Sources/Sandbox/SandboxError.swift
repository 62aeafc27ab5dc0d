/// Why a sandbox could not be run. `setup` and `exec` carry the child's own report, which names
/// the failing step and errno, e.g. "mount overlay on /: EINVAL (is the kernel >= 5.11? …)".
public struct SandboxError: Error, CustomStringConvertible, Sendable {
    public enum Code: Sendable {
        /// The host is missing something: user namespaces, newuidmap, a readable /etc/subuid…
        case host
        /// The spec asks for what its id mapping cannot give (a private network without root inside).
        case unsupported
        /// The spec asks for what the host has given to another already (a published port in use).
        case user
        /// Compiling the seccomp filter failed.
        case seccomp
        /// Building the sandbox failed in the child.
        case setup
        /// The command could not be executed (`errno` says why: ENOENT means not found).
        case exec
    }

    public let code: Code
    public let message: String
    public let errno: Int32

    public init(_ code: Code, _ message: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { message }
}
