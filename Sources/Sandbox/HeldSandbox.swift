import CLinux
import CSandbox
import Glibc

/// A sandbox with no command of its own (`devenv up`): its pid 1 only holds the namespaces,
/// and commands join them (`Sandbox.join`). It lasts until `release`, or until the process
/// holding this object ends however it ends: pid 1 leaves when the control socket closes, and
/// the kernel then kills everything in its pid namespace (docs/architecture.md, "Running
/// environments").
public final class HeldSandbox {
    /// Who pid 1 is, for those who join from another process.
    public let process: SandboxProcess
    private var control: csandbox_process
    private let network: OutboundNetwork?

    init(control: csandbox_process, network: OutboundNetwork?) throws(SandboxError) {
        guard let process = SandboxProcess(pid: control.pid) else {
            throw SandboxError(.host, "the running environment's pid 1 (\(control.pid)) ended as it started")
        }
        self.process = process
        self.control = control
        self.network = network
    }

    /// Whether pid 1 has ended (reaped here, so the answer is exact).
    public func hasEnded() -> Bool {
        guard control.control_fd >= 0 else { return true }
        var status: Int32 = 0
        guard waitpid(control.pid, &status, WNOHANG) == control.pid else { return false }
        close(control.control_fd)
        control.control_fd = -1
        network?.detach()
        return true
    }

    /// Ends the sandbox and everything in it, and waits for pid 1.
    public func release() {
        guard control.control_fd >= 0 else { return }
        // Pid 1 leaves at the control socket's end of file: close first, then wait.
        close(control.control_fd)
        control.control_fd = -1
        var status: Int32 = 0
        while waitpid(control.pid, &status, 0) < 0 && errno == EINTR {}
        network?.detach()
    }

    deinit { release() }
}

/// A sandbox's pid 1 as another process finds it again: its pid, and its start time, which
/// tells it from a later process given the same pid.
public struct SandboxProcess: Sendable, Equatable, Codable {
    public var pid: Int32
    /// Field 22 of /proc/PID/stat: clock ticks after boot.
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// The process `pid` as it is now; nil when there is none.
    public init?(pid: Int32) {
        guard let startTime = Self.startTime(of: pid) else { return nil }
        self.init(pid: pid, startTime: startTime)
    }

    /// Whether this process still runs (and not another with its pid).
    public var isAlive: Bool { Self.startTime(of: pid) == startTime }

    /// A pidfd of the process, checked to be this one after it was opened (a pidfd keeps
    /// naming the process it was opened for); nil when it has ended.
    func open() -> Int32? {
        let fd = clinux_pidfd_open(pid)
        guard fd >= 0 else { return nil }
        guard isAlive else {
            close(fd)
            return nil
        }
        return fd
    }

    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let stat = readSmallFile("/proc/\(pid)/stat") else { return nil }
        // The command name (field 2) may hold spaces and parentheses: count from the last ")".
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // Fields from 3 on: the start time is field 22.
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    private static func readSmallFile(_ path: String) -> String? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
