import CSandbox
import Glibc

/// Runs a program as root of a user namespace with a given id mapping and no other namespace:
/// what lets a rootless devenv give files the owners they will have inside the sandbox (a chown
/// to id X there stores the host id X maps to).
public enum UserNamespaceProcess {
    /// The program's exit status (128+N when signal N killed it) and everything it wrote to
    /// stdout and stderr.
    public struct Result: Sendable {
        public var status: Int32
        public var output: [UInt8]
    }

    /// Runs `arguments` (the first an absolute path) with `environment`, as 0/0 inside `mapping`,
    /// and waits for it. `line` gets each line of its output as it comes (for progress).
    public static func run(_ arguments: [String], environment: [String], mapping: IDMapping,
                           line: ((String) -> Void)? = nil) throws(SandboxError) -> Result {
        let arena = CArena()
        var outputFD: Int32 = -1, goFD: Int32 = -1
        let pid = withExtendedLifetime(arena) {
            csandbox_userns_spawn(arena.stringArray(arguments), arena.stringArray(environment), &outputFD, &goFD)
        }
        guard pid > 0 else {
            throw SandboxError(.host, "clone a user namespace: \(String(cString: strerror(errno))) (check sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone, or an AppArmor userns restriction)")
        }
        defer { close(outputFD) }

        do {
            try mapping.apply(to: pid)
        } catch {
            // Without its "go" byte the child exits at once.
            close(goFD)
            _ = wait(pid)
            throw error
        }
        _ = send(goFD, "g", 1, Int32(MSG_NOSIGNAL))
        close(goFD)

        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var lineStart = 0
        while true {
            let count = read(outputFD, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[..<count]
            guard let line else { continue }
            while let newline = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) {
                line(String(decoding: bytes[lineStart..<newline], as: UTF8.self))
                lineStart = newline + 1
            }
        }
        return Result(status: wait(pid), output: bytes)
    }

    private static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFEXITED/WEXITSTATUS are macros Swift cannot import.
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
