import Foundation
import Manifest
import Sandbox
import Synchronization

/// The signal that asked the supervisor to stop (0: none yet). A global, as a signal handler
/// can reach nothing else.
private let stopSignal = Atomic<Int32>(0)

/// The loop of a running environment's supervisor (docs/architecture.md, "Running
/// environments"): starts `[services]` in dependency order, each once its dependencies are
/// ready, runs their `ready` commands until one succeeds, restarts them as `restart` says with a
/// growing pause, and on SIGTERM or SIGINT stops them in reverse order (SIGTERM to the
/// service's process group, SIGKILL after the grace period), then ends the sandbox. Every change
/// is written to the state file at once. It polls (every 50 ms) rather than waiting on signals:
/// a Swift process has threads, and a blocked signal may go to any of them.
final class ServiceSupervisor {
    /// One service: its specs and where it stands.
    struct Unit {
        var service: Manifest.Service
        var run: SandboxSpec
        var ready: SandboxSpec?
        var log: Int32
        var pid: pid_t?
        var readyPid: pid_t?
        var nextReadyCheck = Date.distantPast
        var restartAt: Date?
        var startedAt = Date.distantPast
        /// Failures since it last ran long enough to count as up (`Backoff`).
        var failures = 0
    }

    /// How long a service may take to end after SIGTERM before SIGKILL.
    static let gracePeriod: TimeInterval = 10
    static let tick: TimeInterval = 0.05
    static let readyInterval: TimeInterval = 0.25

    private var units: [Unit]
    private var state: RunningState
    private let running: RunningEnvironment
    private let sandbox: HeldSandbox

    init(units: [Unit], state: RunningState, running: RunningEnvironment, sandbox: HeldSandbox) {
        self.units = units
        self.state = state
        self.running = running
        self.sandbox = sandbox
    }

    /// Pause before restart number `failures` (1, 2, …): 0.5 s doubling up to 30 s.
    static func backoff(failures: Int) -> TimeInterval {
        min(30, 0.5 * pow(2, Double(max(0, failures - 1))))
    }

    /// A run at least this long resets the count of failures.
    static let stableAfter: TimeInterval = 10

    /// Supervises until asked to stop or the sandbox ends; then stops everything.
    func run() {
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            Glibc.signal(signal) { stopSignal.store($0, ordering: .relaxed) }
        }
        publish()
        while stopSignal.load(ordering: .relaxed) == 0 {
            if sandboxEnded() {
                note(nil, "the sandbox ended; stopping")
                break
            }
            for index in units.indices { step(index) }
            publish()
            Thread.sleep(forTimeInterval: Self.tick)
        }
        stop()
    }

    private func sandboxEnded() -> Bool { sandbox.hasEnded() }

    /// Moves service `index` on by one step of its life.
    private func step(_ index: Int) {
        let now = Date()
        var unit = units[index]
        defer { units[index] = unit }
        let name = unit.service.name
        guard var status = state.service(name)?.status else { return }
        defer { setStatus(name, status) }
        switch status {
        case .waiting:
            let dependencies = unit.service.dependsOn.compactMap { state.service($0)?.status }
            // A dependency that finished its work (exited 0, not restarted) counts as ready.
            guard dependencies.allSatisfy({ $0 == .ready || $0 == .exited }) else { return }
            status = start(&unit)
        case .restarting:
            guard let at = unit.restartAt, now >= at else { return }
            status = start(&unit)
        case .starting, .ready:
            if let exit = reap(unit.pid) {
                unit.pid = nil
                if let readyPid = unit.readyPid { kill(readyPid, SIGKILL); _ = reap(readyPid, wait: true); unit.readyPid = nil }
                status = ended(&unit, exit: exit, now: now)
                return
            }
            guard status == .starting else { return }
            if let readyPid = unit.readyPid {
                guard let result = reap(readyPid) else { return }
                unit.readyPid = nil
                if result == 0 {
                    status = .ready
                    note(name, "ready")
                } else {
                    unit.nextReadyCheck = now.addingTimeInterval(Self.readyInterval)
                }
            } else if now >= unit.nextReadyCheck, let ready = unit.ready {
                do throws(SandboxError) {
                    unit.readyPid = try Sandbox.join(ready, target: state.namespaces)
                } catch {
                    note(name, "cannot run its ready command: \(error.message)")
                    unit.nextReadyCheck = now.addingTimeInterval(Self.readyInterval)
                }
            }
        case .failed, .exited:
            return
        }
    }

    /// Starts the service's command; its status after.
    private func start(_ unit: inout Unit) -> RunningState.Service.Status {
        let name = unit.service.name
        // Before the command runs, so that the line comes before anything it writes.
        note(name, "starting: \(unit.service.command)")
        do throws(SandboxError) {
            unit.pid = try Sandbox.join(unit.run, target: state.namespaces)
        } catch {
            note(name, "cannot start: \(error.message)")
            update(name) {
                $0.problem = "cannot start: \(error.message)"
                $0.pid = nil
            }
            return .failed
        }
        unit.startedAt = Date()
        unit.restartAt = nil
        unit.nextReadyCheck = Date.distantPast
        update(name) {
            $0.pid = unit.pid
            $0.problem = nil
        }
        return unit.ready == nil ? .ready : .starting
    }

    /// The service's command ended with `exit`: restart it, or leave it failed or exited.
    private func ended(_ unit: inout Unit, exit: Int32, now: Date) -> RunningState.Service.Status {
        let name = unit.service.name
        let restart = switch unit.service.restart {
        case .always: true
        case .onFailure: exit != 0
        case .no: false
        }
        update(name) {
            $0.pid = nil
            $0.lastExit = exit
        }
        let how = exit > 128 ? "was killed by signal \(exit - 128)" : "exited with status \(exit)"
        guard restart else {
            note(name, how)
            if exit != 0 { update(name) { $0.problem = "\(how) (restart = \"\(unit.service.restart.rawValue)\")" } }
            return exit == 0 ? .exited : .failed
        }
        unit.failures = now.timeIntervalSince(unit.startedAt) >= Self.stableAfter ? 1 : unit.failures + 1
        let pause = Self.backoff(failures: unit.failures)
        unit.restartAt = now.addingTimeInterval(pause)
        note(name, "\(how); restarting in \(String(format: "%.1f", pause)) s")
        update(name) { $0.restarts += 1 }
        return .restarting
    }

    /// Stops the services in reverse start order, then the sandbox, and removes the state.
    private func stop() {
        state.stopping = true
        publish()
        for index in units.indices.reversed() {
            if let readyPid = units[index].readyPid {
                kill(readyPid, SIGKILL)
                _ = reap(readyPid, wait: true)
                units[index].readyPid = nil
            }
            guard let pid = units[index].pid else { continue }
            note(units[index].service.name, "stopping")
            // The service's own process group: a shell and what it started go together.
            kill(-pid, SIGTERM)
            let deadline = Date().addingTimeInterval(Self.gracePeriod)
            var exit = reap(pid)
            while (exit == nil || kill(-pid, 0) == 0), Date() < deadline {
                Thread.sleep(forTimeInterval: Self.tick)
                if exit == nil { exit = reap(pid) }
            }
            if exit == nil || kill(-pid, 0) == 0 {
                note(units[index].service.name, "still running after \(Int(Self.gracePeriod)) s: killing it")
                kill(-pid, SIGKILL)
                if exit == nil { exit = reap(pid, wait: true) }
            }
            units[index].pid = nil
            note(units[index].service.name, "stopped")
            setStatus(units[index].service.name, .exited)
            update(units[index].service.name) {
                $0.pid = nil
                $0.lastExit = exit
            }
        }
        sandbox.release()
        unlink(running.statePath)
        for unit in units { close(unit.log) }
    }

    /// The exit status of child `pid` if it has ended (reaped), else nil.
    private func reap(_ pid: pid_t?, wait: Bool = false) -> Int32? {
        guard let pid else { return nil }
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, wait ? 0 : WNOHANG) } while result < 0 && errno == EINTR
        guard result == pid else { return result < 0 ? 255 : nil }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    private func setStatus(_ name: String, _ status: RunningState.Service.Status) {
        update(name) {
            if $0.status != status {
                $0.status = status
                $0.since = Date()
            }
        }
    }

    private func update(_ name: String, _ change: (inout RunningState.Service) -> Void) {
        guard let index = state.services.firstIndex(where: { $0.name == name }) else { return }
        change(&state.services[index])
    }

    private var published: RunningState?

    /// Writes the state when it changed.
    private func publish() {
        guard state != published else { return }
        do {
            try running.write(state)
            published = state
        } catch {
            note(nil, "cannot write \(running.statePath): \(error)")
        }
    }

    /// A line in the service's log (or the supervisor's own, for nil), marked as devenv's.
    private func note(_ service: String?, _ message: String) {
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line = Data("[devenv \(stamp)] \(service.map { "\($0): " } ?? "")\(message)\n".utf8)
        if let service, let unit = units.first(where: { $0.service.name == service }) {
            _ = line.withUnsafeBytes { write(unit.log, $0.baseAddress, $0.count) }
        } else {
            FileHandle.standardError.write(line)
        }
    }
}
