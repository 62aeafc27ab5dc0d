import CLinux
import Glibc

/// The network of a sandbox in `SandboxSpec.Network.private`: its own network namespace with
/// outbound access through slirp4netns, which relays the namespace's connections through sockets
/// of its own on the host. The host's loopback is not reachable from inside
/// (`--disable-host-loopback`), so a build step of a cloned project cannot talk to the
/// developer's local databases, agents or admin ports.
///
/// slirp4netns rather than pasta (both Debian's): bookworm's pasta keeps running after the
/// namespace's process has gone, so a killed devenv would leave one behind per step, while
/// slirp4netns ends when `--exit-fd` closes, which the kernel does when devenv dies however it
/// dies. Measured by `scripts/bench network` (docs/benchmarks.md): a start 28 ms longer than with
/// the host's network, 362 MB/s from a server on the host against 954 MB/s.
public final class OutboundNetwork {
    /// slirp4netns's address for the host's resolver: names resolve as on the host, also when
    /// its resolver listens on the host's loopback (systemd-resolved's 127.0.0.53).
    static let resolver = "10.0.2.3"

    private let helper: pid_t
    private let exitWriter: Int32

    /// Starts slirp4netns for the network namespace of `pid` (held before its command starts)
    /// and returns once the interface is up and routed and `ports` are published.
    init(attachingTo pid: pid_t, publishing ports: [SandboxSpec.PublishedPort] = []) throws(SandboxError) {
        guard let executable = Self.executable() else {
            throw SandboxError(.host, """
                a private network (build steps have one) needs slirp4netns, which is not installed
                  fix: apt-get install slirp4netns
                """)
        }
        if let tun = Self.tunProblem() { throw SandboxError(.host, "\(tun.problem)\n  fix: \(tun.fix)") }
        // Socket pairs rather than pipes: created close-on-exec in one call (pipe2 is not in
        // Swift's Glibc), so no other child of devenv holds an end that keeps slirp4netns alive.
        var exitPipe: [Int32] = [-1, -1], readyPipe: [Int32] = [-1, -1]
        let stream = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        guard socketpair(AF_UNIX, stream, 0, &exitPipe) == 0 else { throw SandboxError(.host, "socketpair: \(String(cString: strerror(errno)))") }
        guard socketpair(AF_UNIX, stream, 0, &readyPipe) == 0 else {
            close(exitPipe[0])
            close(exitPipe[1])
            throw SandboxError(.host, "socketpair: \(String(cString: strerror(errno)))")
        }
        let messages = Self.scratchFile()
        defer {
            close(exitPipe[0])
            if readyPipe[1] >= 0 { close(readyPipe[1]) }
            if messages >= 0 { close(messages) }
        }
        // The API socket only to publish ports, in a directory of the caller's alone, and gone
        // once they are: nothing else can ask slirp4netns for more.
        let apiDirectory = ports.isEmpty ? nil : Self.privateDirectory()
        if !ports.isEmpty, apiDirectory == nil {
            close(exitPipe[1])
            close(readyPipe[0])
            throw SandboxError(.host, "cannot create a directory in /tmp for slirp4netns's socket: \(String(cString: strerror(errno)))")
        }
        defer { if let apiDirectory { rmdir(apiDirectory) } }
        let apiSocket = apiDirectory.map { $0 + "/api.sock" }
        let arguments = [
            executable, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
            "--exit-fd=3", "--ready-fd=4",
        ] + (apiSocket.map { ["--api-socket", $0] } ?? []) + [String(pid), "tap0"]
        let spawned: pid_t
        do throws(SandboxError) {
            // Rootless, slirp4netns makes its socket as root of the sandbox's user namespace, a
            // subordinate id the caller cannot write to unless others may: umask 0 for it alone
            // (the socket's directory is the caller's, 0700, so no one else reaches it).
            let mask = apiSocket == nil ? nil : umask(0)
            defer { if let mask { umask(mask) } }
            spawned = try Self.spawn(arguments, descriptors: [exitPipe[0], readyPipe[1]], errors: messages)
        } catch {
            close(exitPipe[1])
            close(readyPipe[0])
            throw error
        }
        close(readyPipe[1])
        readyPipe[1] = -1
        let ready = Self.awaitReady(readyPipe[0])
        close(readyPipe[0])
        guard ready else {
            close(exitPipe[1])
            var status: Int32 = 0
            while waitpid(spawned, &status, 0) < 0 && errno == EINTR {}
            throw SandboxError(.host, "slirp4netns could not give the sandbox its network: \(Self.read(messages))")
        }
        if let apiSocket {
            defer { unlink(apiSocket) }
            for port in ports {
                if let problem = Self.publish(port, through: apiSocket) {
                    close(exitPipe[1])
                    var status: Int32 = 0
                    while waitpid(spawned, &status, 0) < 0 && errno == EINTR {}
                    throw SandboxError(.user, problem)
                }
            }
        }
        helper = spawned
        exitWriter = exitPipe[1]
    }

    /// Asks slirp4netns to forward `port.host` on the host's 127.0.0.1 to the sandbox's
    /// `port.inside`; returns what went wrong, or nil.
    private static func publish(_ port: SandboxSpec.PublishedPort, through socketPath: String) -> String? {
        let request = #"{"execute": "add_hostfwd", "arguments": {"proto": "tcp", "host_addr": "127.0.0.1", "host_port": \#(port.host), "guest_port": \#(port.inside)}}"#
        let answer: String
        switch exchange(request, at: socketPath) {
        case .success(let text): answer = text
        case .failure(let reason): return "cannot publish port \(port.host) → \(port.inside): slirp4netns's socket: \(reason)"
        }
        guard answer.contains("\"return\"") else {
            return """
                cannot publish port \(port.inside) of the environment on 127.0.0.1:\(port.host): the host port is in use (another project's environment, or a service of this machine)
                  fix: choose another host port in [network] ports ("\(port.host == UInt16.max ? port.host - 1 : port.host + 1):\(port.inside)"), or stop what listens there (ss -ltnp 'sport = :\(port.host)')
                """
        }
        return nil
    }

    private enum Exchange { case success(String), failure(String) }

    /// One request on slirp4netns's API socket and its answer (the socket closes after it).
    private static func exchange(_ request: String, at path: String) -> Exchange {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return .failure(String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return .failure("its path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { return .failure(String(cString: strerror(errno))) }
        let data = Array(request.utf8)
        var sent = 0
        while sent < data.count {
            let count = data[sent...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return .failure(String(cString: strerror(errno))) }
            sent += count
        }
        shutdown(descriptor, Int32(SHUT_WR))
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while answer.count < 65536 {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            answer += buffer.prefix(count)
        }
        return .success(String(decoding: answer, as: UTF8.self))
    }

    /// A new directory in /tmp only the caller can enter, or nil.
    private static func privateDirectory() -> String? {
        var template = Array("/tmp/devenv-network-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return nil }
        return String(cString: made)
    }

    /// Ends slirp4netns (after the sandbox ended: nothing uses the network any more).
    func detach() {
        close(exitWriter)
        var status: Int32 = 0
        while waitpid(helper, &status, 0) < 0 && errno == EINTR {}
    }

    /// `/etc/resolv.conf` inside: the host's search domains and options, slirp4netns's resolver.
    static func resolvConf(from host: String?) -> String {
        let kept = (host ?? "").split(separator: "\n").filter {
            let words = $0.split(whereSeparator: { $0 == " " || $0 == "\t" })
            return words.first.map { $0 == "search" || $0 == "domain" || $0 == "options" } ?? false
        }
        return (kept.map(String.init) + ["nameserver \(resolver)"]).joined(separator: "\n") + "\n"
    }

    /// Why slirp4netns cannot make the namespace's tap device, or nil. As root it can; otherwise
    /// /dev/net/tun must be open to everyone, as Debian's udev makes it (machines without udev,
    /// such as containers, leave the kernel's 0600).
    public static func tunProblem() -> (problem: String, fix: String)? {
        guard getuid() != 0, access("/dev/net/tun", R_OK | W_OK) != 0 else { return nil }
        return ("a private network (build steps have one) needs /dev/net/tun, which only root may open here",
                "chmod 0666 /dev/net/tun as root (Debian's udev rule does this; the device itself checks privileges)")
    }

    /// Where slirp4netns is, or nil when it is not installed.
    public static func executable() -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        return (path.split(separator: ":").map(String.init) + ["/usr/bin"]).map { $0 + "/slirp4netns" }.first { access($0, X_OK) == 0 }
    }

    /// In a process group of its own, so Ctrl-C on the terminal reaches the build, not its network.
    private static func spawn(_ arguments: [String], descriptors: [Int32], errors: Int32) throws(SandboxError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        if errors >= 0 { posix_spawn_file_actions_adddup2(&actions, errors, 2) }
        for (index, descriptor) in descriptors.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, descriptor, Int32(3 + index))
        }
        posix_spawn_file_actions_addclosefrom_np(&actions, Int32(3 + descriptors.count))
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, environ)
        guard result == 0 else { throw SandboxError(.host, "cannot run \(arguments[0]): \(String(cString: strerror(result)))") }
        return pid
    }

    /// One byte once configured; end of file when it failed. Ten seconds is far beyond the
    /// ~13 ms it takes, and keeps a wedged helper from hanging the build.
    private static func awaitReady(_ descriptor: Int32) -> Bool {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, 10_000) } while ready < 0 && errno == EINTR
        guard ready == 1 else { return false }
        var byte: UInt8 = 0
        return Glibc.read(descriptor, &byte, 1) == 1
    }

    /// Its messages go to an unnamed file, read back only when it fails.
    private static func scratchFile() -> Int32 {
        let path = "/tmp/devenv-slirp4netns-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let descriptor = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if descriptor >= 0 { unlink(path) }
        return descriptor
    }

    private static func read(_ descriptor: Int32) -> String {
        guard descriptor >= 0 else { return "(its messages could not be kept)" }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        let text = String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self).split(separator: "\n").suffix(5).joined(separator: "; ")
        return text.isEmpty ? "it exited without a message" : text
    }
}
