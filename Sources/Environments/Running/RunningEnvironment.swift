import Foundation
import ImageStore
import Sandbox
import Storage

/// Where a project's running environment keeps its state, logs and volumes
/// (`envs/<id>/run/`, `logs/`, `volumes/`), and whether it is up: the supervisor holds
/// `run/supervisor.lock` for as long as it lives, so a state file whose lock nobody holds was
/// left by a supervisor that was killed, and is not believed.
public struct RunningEnvironment: Sendable {
    public let environmentDirectory: String

    public init(environmentDirectory: String) {
        self.environmentDirectory = environmentDirectory
    }

    public var runDirectory: String { environmentDirectory + "/run" }
    public var statePath: String { runDirectory + "/state.json" }
    var lockPath: String { runDirectory + "/supervisor.lock" }
    /// The supervisor's own messages (its stdout and stderr).
    public var supervisorLog: String { runDirectory + "/supervisor.log" }
    public var logsDirectory: String { environmentDirectory + "/logs" }
    public var volumesDirectory: String { environmentDirectory + "/volumes" }

    public func logPath(_ service: String) -> String { logsDirectory + "/" + service + ".log" }
    public func volumePath(_ name: String) -> String { volumesDirectory + "/" + name }

    /// The state of the environment while it is up; nil when it is not (never started, taken
    /// down, or its supervisor killed: then the stale state is removed).
    public func current() -> RunningState? {
        guard let data = FileManager.default.contents(atPath: statePath) else { return nil }
        if let free = FileLock.tryAcquire(lockPath) {
            // Nobody holds the lock: the supervisor is gone, and a new one cannot start while we hold it.
            unlink(statePath)
            withExtendedLifetime(free) {}
            return nil
        }
        guard let state = try? RunningState.decoder.decode(RunningState.self, from: data), state.sandbox.isAlive else { return nil }
        return state
    }

    /// The running environments of the store's owner: every `envs/*` that is up.
    public static func all(store: StoreLocation) -> [RunningState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.envs)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().compactMap {
            RunningEnvironment(environmentDirectory: store.envs + "/" + $0).current()
        }
    }

    /// Writes `state` whole (readers never see half of it).
    func write(_ state: RunningState) throws {
        let data = try RunningState.encoder.encode(state)
        try AtomicFile.write(data, to: statePath, tmpDirectory: runDirectory, mode: 0o600)
    }
}
