import Foundation
import ImageStore
import Manifest
import Sandbox
import Storage

/// The supervisor process of `devenv up` (the hidden `supervise` command, started detached by
/// `EnvironmentUp`): prepares the project's sandbox as `enter` would, holds it with no command,
/// and runs `ServiceSupervisor` until `down`. Holding `run/supervisor.lock` for its whole life is
/// what makes the environment "up" for everyone else (`RunningEnvironment.current`).
public struct EnvironmentSupervisor {
    public let launcher: EnvironmentLauncher

    public init(launcher: EnvironmentLauncher) {
        self.launcher = launcher
    }

    /// Runs until the environment is taken down; `services` (with what they depend on) only,
    /// when given.
    public func run(services: [String] = []) async throws {
        let launch = try await launcher.prepareLaunch(command: nil)
        guard let manifest = launch.prepared.manifest else {
            throw DevenvError.user("devenv up needs a project with .devenv/devenv.toml")
        }
        let running = RunningEnvironment(environmentDirectory: launch.environmentDirectory)
        for directory in [running.runDirectory, running.logsDirectory] { try HostPath.makeDirectory(directory, mode: 0o700) }
        // `ps` or `up` checking a stale state holds the lock for an instant: try for a moment.
        var acquired = FileLock.tryAcquire(running.lockPath)
        for _ in 0..<10 where acquired == nil {
            try await Task.sleep(for: .milliseconds(20))
            acquired = FileLock.tryAcquire(running.lockPath)
        }
        guard let lock = acquired else {
            throw DevenvError.user("\(launch.session.name) is already up (devenv ps; devenv down to stop it)")
        }
        defer { withExtendedLifetime(lock) {} }
        unlink(running.statePath)

        var spec = launch.spec
        let manifestPath = launch.project.manifestPath
        try Self.check(manifest, spec: spec, manifestPath: manifestPath)
        spec.binds += try ServiceVolumes.binds(manifest, running: running, spec: spec, manifestPath: manifestPath)
        let units = try Self.selected(services, of: manifest).map { service in
            try Self.unit(service, base: spec, session: launch.session, running: running, manifestPath: manifestPath)
        }
        // Held for the supervisor's life: gc and a rebuild delete none of the layers it runs on.
        let hold: LayerHold
        do {
            hold = try LayerHold(layersDirectory: spec.layersDirectory, layers: spec.layers)
        } catch {
            throw DevenvError.internal(error.message)
        }
        defer { withExtendedLifetime(hold) {} }
        let sandbox: HeldSandbox
        do {
            sandbox = try Sandbox.hold(spec)
        } catch let error where error.code == .unsupported || error.code == .user {
            throw DevenvError.user(error.message)
        } catch {
            throw DevenvError.internal("cannot start the sandbox: \(error.message)")
        }
        let now = Date()
        let state = RunningState(
            name: launch.session.name, project: launch.project.directory, supervisor: getpid(), sandbox: sandbox.process,
            namespaces: sandbox.namespaces, started: now, network: spec.network.rawValue, ports: spec.ports.map { "\($0.host):\($0.inside)" },
            services: units.map { RunningState.Service(name: $0.service.name, status: .waiting, since: now) })
        ServiceSupervisor(units: units, state: state, running: running, sandbox: sandbox).run()
    }

    /// What would keep the environment from coming up on this machine, found before anything
    /// starts: a service's or volume's user the image lacks or the id mapping cannot hold (a
    /// private network without id 0 is refused before the build, `EnvironmentLauncher.prepare`).
    static func check(_ manifest: Manifest, spec: SandboxSpec, manifestPath: String) throws {
        for service in manifest.services {
            _ = try ServiceAccount.resolve(service.user, for: "service \"\(service.name)\" runs as", spec: spec,
                                           manifestPath: manifestPath, position: service.position)
        }
        for volume in manifest.volumes {
            _ = try ServiceAccount.resolve(manifest.volumeOwner(volume), for: "volume \"\(volume.name)\" belongs to", spec: spec,
                                           manifestPath: manifestPath, position: volume.position)
        }
    }

    /// The manifest's services named in `names` and those they depend on, in start order (all
    /// when `names` is empty); an unknown name is an error listing the services there are.
    public static func selected(_ names: [String], of manifest: Manifest) throws -> [Manifest.Service] {
        guard !names.isEmpty else { return manifest.services }
        let known = manifest.services.map(\.name)
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw DevenvError.user("no service \"\(unknown)\" in the manifest; its services: \(known.isEmpty ? "none" : known.joined(separator: ", "))")
        }
        var wanted = Set(names)
        // Start order puts dependencies first: walking it backwards sees each dependent before them.
        for service in manifest.services.reversed() where wanted.contains(service.name) { wanted.formUnion(service.dependsOn) }
        return manifest.services.filter { wanted.contains($0.name) }
    }

    /// A service's command and ready check as specs joined into the sandbox: `/bin/sh -c`, as the
    /// service's user with that user's HOME, USER and LOGNAME, in the repository when it is the
    /// environment's own user and at / otherwise, output appended to its log.
    static func unit(_ service: Manifest.Service, base: SandboxSpec, session: EnvironmentSession, running: RunningEnvironment,
                     manifestPath: String) throws -> ServiceSupervisor.Unit {
        let account = try ServiceAccount.resolve(service.user, for: "service \"\(service.name)\" runs as", spec: base,
                                                 manifestPath: manifestPath, position: service.position)
        let log = try openLog(running.logPath(service.name))
        var run = base
        run.identity.uid = account.uid
        run.identity.gid = account.gid
        run.command = ["/bin/sh", "-c", service.command]
        let own = account.uid == base.identity.uid
        run.environment = base.environment.filter { !["HOME=", "USER=", "LOGNAME="].contains(where: $0.hasPrefix) }
            + (own ? base.environment.filter { $0.hasPrefix("HOME=") } : ["HOME=" + account.home])
            + ["USER=" + account.name, "LOGNAME=" + account.name]
        run.workingDirectory = own ? base.workingDirectory : "/"
        run.foreground = false
        run.ownProcessGroup = true
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        run.standardInput = devNull
        run.standardOutput = log
        run.standardError = log
        var ready: SandboxSpec?
        if let check = service.ready {
            ready = run
            ready?.command = ["/bin/sh", "-c", check]
            ready?.ownProcessGroup = false
            ready?.standardOutput = devNull
            ready?.standardError = devNull
        }
        return ServiceSupervisor.Unit(service: service, run: run, ready: ready, log: log)
    }

    /// The service's log, the previous run's kept as NAME.log.1.
    private static func openLog(_ path: String) throws -> Int32 {
        _ = rename(path, path + ".1")
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw DevenvError.internal("cannot open \(path): \(String(cString: strerror(errno)))") }
        return fd
    }
}
