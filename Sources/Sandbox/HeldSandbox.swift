import CSandbox
import Glibc

/// A sandbox with no command of its own (`devenv up`): its pid 1 only holds the namespaces,
/// and commands join them (`Sandbox.join`). It lasts until `release`, or until the process
/// holding this object ends however it ends: pid 1 leaves when the control socket closes, and
/// the kernel then kills everything in its pid namespace (docs/architecture.md, "Running
/// environments").
public final class HeldSandbox {
    /// Who pid 1 is.
    public let process: SandboxProcess
    /// How to join it: descriptors of its namespaces, held by this process.
    public let namespaces: SandboxNamespaces
    private var control: csandbox_process
    private let network: OutboundNetwork?

    init(control: csandbox_process, namespaces: [Int32], network: OutboundNetwork?) throws(SandboxError) {
        guard let process = SandboxProcess(pid: control.pid), let holder = SandboxProcess(pid: getpid()) else {
            throw SandboxError(.host, "the running environment's pid 1 (\(control.pid)) ended as it started")
        }
        self.process = process
        self.namespaces = SandboxNamespaces(holder: holder, descriptors: namespaces)
        self.control = control
        self.network = network
    }

    /// Whether pid 1 has ended (reaped here, so the answer is exact).
    public func hasEnded() -> Bool {
        guard control.control_fd >= 0 else { return true }
        var status: Int32 = 0
        guard waitpid(control.pid, &status, WNOHANG) == control.pid else { return false }
        finish()
        return true
    }

    /// Ends the sandbox and everything in it, and waits for pid 1. The kernel lets pid 1 go only
    /// once every process of its namespace is reaped: reap the commands joined from here first.
    public func release() {
        guard control.control_fd >= 0 else { return }
        // Pid 1 leaves at the control socket's end of file: close first, then wait.
        close(control.control_fd)
        control.control_fd = -1
        var status: Int32 = 0
        while waitpid(control.pid, &status, 0) < 0 && errno == EINTR {}
        finish()
    }

    /// After pid 1 was reaped: the network helper and the namespace descriptors go too.
    private func finish() {
        if control.control_fd >= 0 { close(control.control_fd) }
        control.control_fd = -1
        network?.detach()
        for descriptor in namespaces.descriptors { close(descriptor) }
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

/// A running sandbox's namespaces as a joiner finds them: descriptors of its pid 1's
/// /proc/PID/ns/ entries, opened while pid 1 was still being set up and kept open by `holder`
/// (the supervisor). Pid 1 itself cannot be asked later: it is not dumpable (a copy of devenv's
/// memory, see reaper.c), and the kernel lets only a ptrace-capable caller open the namespaces
/// of such a process, which a rootless user is not, while the same user may open the
/// descriptors of a process of its own (/proc/HOLDER/fd/N).
public struct SandboxNamespaces: Sendable, Equatable, Codable {
    public var holder: SandboxProcess
    /// In `csandbox_namespace_names`' order.
    public var descriptors: [Int32]

    /// The descriptors to join with, opened anew unless the holder is this process; nil when
    /// the holder has ended. -1 for a namespace the caller is in already: the host's network,
    /// which a rootless caller could not enter again (it belongs to the host's user namespace).
    /// The caller closes the others.
    func open() -> [Int32]? {
        guard descriptors.count == Int(CSANDBOX_NAMESPACE_COUNT) else { return nil }
        let own = holder.pid == getpid()
        var opened: [Int32] = []
        for descriptor in descriptors {
            let fd = own ? fcntl(descriptor, F_DUPFD_CLOEXEC, 3) : Glibc.open("/proc/\(holder.pid)/fd/\(descriptor)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                opened.forEach { close($0) }
                return nil
            }
            opened.append(fd)
        }
        // Checked after opening: these are the holder's, not those of a process that took its pid.
        guard holder.isAlive else {
            opened.forEach { close($0) }
            return nil
        }
        return opened.enumerated().map { index, fd in
            var held = stat(), own = stat()
            let name = String(cString: csandbox_namespace_name(Int32(index)))
            guard fstat(fd, &held) == 0, stat("/proc/self/ns/\(name)", &own) == 0,
                  held.st_ino == own.st_ino, held.st_dev == own.st_dev else { return fd }
            close(fd)
            return -1
        }
    }

    /// Opens pid `pid`'s namespaces (the child devenv just cloned, still dumpable).
    static func open(of pid: pid_t) throws(SandboxError) -> [Int32] {
        var opened: [Int32] = []
        for index in 0..<Int(CSANDBOX_NAMESPACE_COUNT) {
            let name = String(cString: csandbox_namespace_name(Int32(index)))
            let fd = Glibc.open("/proc/\(pid)/ns/\(name)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let error = String(cString: strerror(errno))
                opened.forEach { close($0) }
                throw SandboxError(.host, "cannot open /proc/\(pid)/ns/\(name): \(error)")
            }
            opened.append(fd)
        }
        return opened
    }
}
