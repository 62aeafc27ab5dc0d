import CLinux
import Foundation
import ImageStore
import Manifest
import Sandbox
import Synchronization

/// The signal that interrupted a foreground `up` (0: none).
private let interruptSignal = Atomic<Int32>(0)

/// `devenv up` and `devenv down`: builds the environment as `enter` would, starts its
/// supervisor as a process of its own (in a session of its own, so it outlives the terminal),
/// and follows the state it writes until every service is ready or one fails.
public struct EnvironmentUp {
    public let launcher: EnvironmentLauncher
    /// A line for the user (the command writes it to stderr).
    public let onLine: @Sendable (String) -> Void

    public init(launcher: EnvironmentLauncher, onLine: @escaping @Sendable (String) -> Void) {
        self.launcher = launcher
        self.onLine = onLine
    }

    /// What `up` did, and the environment it is about.
    public struct Started: Sendable {
        public var outcome: Outcome
        public var state: RunningState
        public var running: RunningEnvironment
    }

    /// How `up` ended.
    public enum Outcome: Sendable, Equatable {
        /// Every service is ready (or done); the environment runs on.
        case ready
        /// It was up already.
        case alreadyUp
    }

    static let poll: TimeInterval = 0.05
    /// How many of a failed service's last log lines `up` shows.
    static let logLines = 20

    /// Starts the environment and waits until every service is ready or finished, or `timeout`
    /// passes. A failure takes it down again, naming the service and showing its last log lines.
    public func up(timeout: TimeInterval, services: [String] = []) async throws -> Started {
        let launch = try await launcher.prepareLaunch(command: nil)
        guard let manifest = launch.prepared.manifest else {
            throw DevenvError.user("devenv up needs a project with .devenv/devenv.toml (devenv init writes one)")
        }
        _ = try EnvironmentSupervisor.selected(services, of: manifest)
        try EnvironmentSupervisor.check(manifest, spec: launch.spec, manifestPath: launch.project.manifestPath)
        let running = RunningEnvironment(environmentDirectory: launch.environmentDirectory)
        if let state = running.current() { return Started(outcome: .alreadyUp, state: state, running: running) }
        try HostPath.makeDirectory(running.runDirectory, mode: 0o700)
        let supervisor = try spawnSupervisor(project: launch.project.directory, store: launch.prepared.store.root, services: services,
                                             running: running)
        let started = Date()
        var shown: [String: RunningState.Service.Status] = [:]
        while true {
            if let state = running.current(), state.supervisor == supervisor {
                for service in state.services where shown[service.name] != service.status {
                    shown[service.name] = service.status
                    onLine(describe(service, started: started))
                }
                if let failed = state.services.first(where: { $0.status == .failed }) {
                    let problem = failed.problem ?? "failed"
                    throw failure("service \(failed.name) \(problem)", service: failed.name, running: running, supervisor: supervisor)
                }
                if state.services.allSatisfy({ $0.status == .ready || $0.status == .exited }) {
                    return Started(outcome: .ready, state: state, running: running)
                }
            }
            if let exit = Self.exitStatus(of: supervisor) {
                // Another up of the same project got there first.
                if let other = running.current(), other.supervisor != supervisor {
                    return Started(outcome: .alreadyUp, state: other, running: running)
                }
                throw DevenvError.user("""
                    \(launch.session.name) did not come up (its supervisor exited with status \(exit)):
                    \(Self.tail(running.supervisorLog, lines: Self.logLines).joined(separator: "\n"))
                    """)
            }
            if Date().timeIntervalSince(started) > timeout {
                let waiting = running.current()?.services.filter { $0.status != .ready && $0.status != .exited } ?? []
                let first = waiting.first { $0.status != .waiting } ?? waiting.first
                throw failure("\(waiting.map(\.name).joined(separator: ", ")) not ready after \(Int(timeout)) s"
                              + (manifest.services.first { $0.name == first?.name }?.ready.map { " (its ready command `\($0)` has not succeeded)" } ?? ""),
                              service: first?.name, running: running, supervisor: supervisor)
            }
            try await Task.sleep(for: .milliseconds(Int(Self.poll * 1000)))
        }
    }

    /// After a foreground `up`: prints every service's output as it comes, each line after the
    /// service's name, until Ctrl-C (then takes the environment down) or the environment ends.
    public func follow(_ state: RunningState, running: RunningEnvironment, output: @escaping (String) -> Void) async throws {
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            Glibc.signal(signal) { interruptSignal.store($0, ordering: .relaxed) }
        }
        var logs = ServiceLogs(running, services: state.services.map(\.name), named: true)
        while interruptSignal.load(ordering: .relaxed) == 0, running.current() != nil {
            logs.newLines().forEach(output)
            try await Task.sleep(for: .milliseconds(200))
        }
        if interruptSignal.load(ordering: .relaxed) != 0 {
            onLine("Stopping \(state.name)…")
            _ = try stop(running)
        }
    }

    /// Takes the project's environment down; with `volumes`, deletes its volumes too. Returns
    /// the state it had (nil when it was not up) and the volumes deleted.
    public func down(volumes: Bool) async throws -> (RunningState?, [String]) {
        let launch = try await launcher.prepareLaunch(command: nil)
        let running = RunningEnvironment(environmentDirectory: launch.environmentDirectory)
        let state = try stop(running)
        let removed = volumes ? try ServiceVolumes.remove(running, identity: launch.spec.identity) : []
        return (state, removed)
    }

    /// The running environment of this project, for `logs`.
    public func running() async throws -> (RunningEnvironment, Manifest?) {
        let launch = try await launcher.prepareLaunch(command: nil)
        return (RunningEnvironment(environmentDirectory: launch.environmentDirectory), launch.prepared.manifest)
    }

    /// SIGTERM to the supervisor, which stops the services and the sandbox; SIGKILL when it
    /// has not finished after every service's grace period (the sandbox still ends with it).
    @discardableResult
    func stop(_ running: RunningEnvironment) throws -> RunningState? {
        guard let state = running.current() else { return nil }
        kill(state.supervisor, SIGTERM)
        let deadline = Date().addingTimeInterval(ServiceSupervisor.gracePeriod * Double(max(1, state.services.count)) + 5)
        var killed = false
        while running.current() != nil {
            if !killed, Date() > deadline {
                kill(state.supervisor, SIGKILL)
                killed = true
                onLine("devenv: the supervisor of \(state.name) did not stop in time: killed it")
            }
            _ = Self.exitStatus(of: state.supervisor)
            Thread.sleep(forTimeInterval: Self.poll)
        }
        return state
    }

    private func failure(_ message: String, service: String?, running: RunningEnvironment, supervisor: pid_t) -> DevenvError {
        let lines = service.map { Self.tail(running.logPath($0), lines: Self.logLines) } ?? []
        _ = try? stop(running)
        _ = Self.exitStatus(of: supervisor)
        let log = lines.isEmpty ? "" : "\n  last lines of its log (devenv logs \(service ?? "")):\n" + lines.map { "    " + $0 }.joined(separator: "\n")
        return DevenvError.user("\(message); the environment was taken down again\(log)")
    }

    private func describe(_ service: RunningState.Service, started: Date) -> String {
        let after = String(format: "%.1f s", Date().timeIntervalSince(started))
        return switch service.status {
        case .waiting: "  \(service.name): waiting for its dependencies"
        case .starting: "  \(service.name): started, waiting until ready"
        case .ready: "  \(service.name): ready (\(after))"
        case .restarting: "  \(service.name): \(service.lastExit.map { "exited with status \($0)" } ?? "ended"), restarting"
        case .failed: "  \(service.name): failed"
        case .exited: "  \(service.name): finished"
        }
    }

    /// `devenv-core supervise`, detached: a session of its own, stdin /dev/null, output to
    /// `run/supervisor.log`.
    private func spawnSupervisor(project: String, store: String, services: [String], running: RunningEnvironment) throws -> pid_t {
        let path = try HelperCommand.executable()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, running.supervisorLog, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_addclosefrom_np(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigfillset(&defaults)
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK) | Self.spawnSetsid)
        let arguments = [path, "supervise", "-C", project, "--store", store] + services.flatMap { ["--service", $0] }
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        guard result == 0 else { throw DevenvError.internal("cannot run \(path): \(String(cString: strerror(result)))") }
        return pid
    }

    /// glibc's POSIX_SPAWN_SETSID, which Swift's Glibc module (built without _GNU_SOURCE) leaves out.
    private static let spawnSetsid: Int16 = 0x80

    /// The exit status of the child `pid` once it ended (reaped), else nil.
    static func exitStatus(of pid: pid_t) -> Int32? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// The last `lines` lines of the file at `path`.
    static func tail(_ path: String, lines: Int) -> [String] {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast(data.last == UInt8(ascii: "\n") ? 1 : 0).suffix(lines).map(String.init)
    }
}
