import Foundation
import ImageStore
import Storage
import TestSupport
import Testing
@testable import Environments
@testable import Sandbox

/// Whether a project's environment is up, as `ps`, `up`, `enter` and `run` ask it: a state file
/// counts only while a supervisor holds `run/supervisor.lock`, since a killed supervisor leaves
/// its state file behind.
@Suite struct RunningEnvironmentTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory("running-environment")
    }

    /// The state a supervisor writes; this test process stands in for the sandbox's pid 1 so that
    /// it is alive.
    func state(name: String = "web") throws -> RunningState {
        let me = try #require(SandboxProcess(pid: getpid()))
        return RunningState(name: name, project: "/home/ada/" + name, supervisor: getpid(), sandbox: me,
                            namespaces: SandboxNamespaces(holder: me, descriptors: [10, 11, 12, 13, 14, 15, 16]),
                            started: Date(timeIntervalSince1970: 1_700_000_000), network: "none", ports: [],
                            services: [RunningState.Service(name: "db", status: .ready, since: Date(timeIntervalSince1970: 1_700_000_001))])
    }

    /// An environment directory with `state` written as the supervisor writes it.
    func environment(_ name: String = "web", state: RunningState) throws -> RunningEnvironment {
        let running = RunningEnvironment(environmentDirectory: try scratch.directory(name))
        try scratch.directory(name + "/run", mode: 0o700)
        try running.write(state)
        return running
    }

    @Test func neverStartedIsNotUp() throws {
        let running = RunningEnvironment(environmentDirectory: try scratch.directory("web"))
        #expect(running.current() == nil)
    }

    @Test func aStateFileWhoseLockNobodyHoldsWasLeftByAKilledSupervisorAndIsRemoved() throws {
        let running = try environment(state: try state())
        #expect(FileManager.default.fileExists(atPath: running.statePath))
        #expect(running.current() == nil)
        #expect(!FileManager.default.fileExists(atPath: running.statePath))
        // Asking released the lock again: a supervisor can start.
        #expect(FileLock.tryAcquire(running.lockPath) != nil)
    }

    @Test func whileTheSupervisorHoldsTheLockTheStateIsTheEnvironments() throws {
        let expected = try state()
        let running = try environment(state: expected)
        let supervisor = try #require(FileLock.tryAcquire(running.lockPath))
        defer { withExtendedLifetime(supervisor) {} }
        #expect(running.current() == expected)
        #expect(running.current() == expected, "asking twice changes nothing")
        #expect(FileManager.default.fileExists(atPath: running.statePath))
    }

    /// A pid reused by another process after the sandbox ended is not the sandbox.
    @Test func aStateWhoseSandboxEndedIsNotUpEvenWithTheLockHeld() throws {
        var stale = try state()
        stale.sandbox.startTime += 1
        let running = try environment(state: stale)
        let supervisor = try #require(FileLock.tryAcquire(running.lockPath))
        defer { withExtendedLifetime(supervisor) {} }
        #expect(running.current() == nil)
    }

    @Test func anUnreadableStateIsNotUp() throws {
        let running = try environment(state: try state())
        try Data("{\"name\": \"web\"".utf8).write(to: URL(fileURLWithPath: running.statePath))
        let supervisor = try #require(FileLock.tryAcquire(running.lockPath))
        defer { withExtendedLifetime(supervisor) {} }
        #expect(running.current() == nil)
    }

    /// `devenv ps`: of the store's environments, those that are up, by directory name.
    @Test func psListsOnlyTheEnvironmentsThatAreUp() throws {
        let store = try StoreLocation(explicit: scratch.path + "/store")
        func environment(_ id: String, _ name: String) throws -> RunningEnvironment {
            let running = RunningEnvironment(environmentDirectory: store.envs + "/" + id)
            try HostPath.makeDirectory(running.environmentDirectory, mode: 0o700)
            try HostPath.makeDirectory(running.runDirectory, mode: 0o700)
            try running.write(try state(name: name))
            return running
        }
        let web = try environment("b-web", "web")
        let api = try environment("a-api", "api")
        _ = try environment("c-killed", "killed")
        try HostPath.makeDirectory(store.envs + "/d-never-up", mode: 0o700)
        let locks = try [web, api].map { try #require(FileLock.tryAcquire($0.lockPath)) }
        defer { withExtendedLifetime(locks) {} }
        #expect(RunningEnvironment.all(store: store).map(\.name) == ["api", "web"])
    }
}
