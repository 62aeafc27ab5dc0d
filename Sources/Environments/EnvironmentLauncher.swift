import CLaunch
import Foundation
import Git
import ImageStore
import Manifest
import OCI
import Sandbox

/// What `run` and `enter` share: find the project and its image (`--image`, else the project's
/// environment, built first when needed), prepare the per-project state, and run the sandbox as
/// the manifest shapes it, leaving a launch record for the next start when the launcher asked.
public struct EnvironmentLauncher {
    public let request: LaunchRequest
    public let progress: BuildProgress
    /// A note for the user (the command writes it to stderr).
    public let onNote: @Sendable (String) -> Void

    public init(request: LaunchRequest, progress: BuildProgress, onNote: @escaping @Sendable (String) -> Void) {
        self.request = request
        self.progress = progress
        self.onNote = onNote
    }

    /// What the sandbox runs on, and what the project's manifest and approval add to it.
    struct Prepared {
        var store: StoreLocation
        var manifest: Manifest?
        var layers: [String]
        var imageEnvironment: [String]
        var pathPrefix: [String] = []
        var mounts: [SandboxSpec.Bind] = []
        var approved = false
        var approveCommand = "devenv trust"
    }

    /// What of the host's the session sees beyond the project, and the files that decided it.
    struct HostAccess {
        var protection: RepositoryProtection?
        var gitConfiguration: HostGitConfiguration
        /// The agents found on the host, in words, whether or not they are forwarded.
        var agents: [String]
        var gnupgCandidates: [String]
        var gnupgLooked: [String]
        var agentNoteShown: Bool
    }

    /// A sandbox ready to start: its spec and what it was made from.
    struct Launch {
        var spec: SandboxSpec
        var project: Project
        var prepared: Prepared
        var session: EnvironmentSession
        var environmentDirectory: String
        var access: HostAccess
        var notes: [String]
    }

    /// Runs `command` (nil: the image's shell) and returns its exit status. In a project whose
    /// environment is up (`devenv up`), joins it instead of starting a sandbox of its own,
    /// unless `--image`, `--root` or `--network` ask for another one.
    public func run(command: [String]?) async throws -> Int32 {
        let started = LaunchRecord.startingNow()
        let requestedRecord = LaunchRecord.requested(environment: ProcessInfo.processInfo.environment)
        unsetenv(CLAUNCH_RECORD_VARIABLE)
        unsetenv(CLAUNCH_KEY_VARIABLE)
        let launch = try await prepareLaunch(command: command)
        for note in launch.notes { onNote(note) }
        let running = RunningEnvironment(environmentDirectory: launch.environmentDirectory)
        var joining: RunningState?
        if launch.prepared.manifest != nil, request.image == nil, let state = running.current() {
            if !request.asRoot, request.network == nil {
                joining = state
            } else {
                onNote("devenv: note: \(launch.session.name) is up; --root and --network start a sandbox of their own, apart from its services")
            }
        }
        let store = launch.prepared.store
        let project = launch.project
        let spec = launch.spec
        // The launcher starts no network helper: a private network goes through here, unless
        // the command joins one that runs already.
        var record: LaunchRecord?
        if let requestedRecord, spec.network != .private || joining != nil,
           requestedRecord.key == LaunchRecord.runKey(verb: command == nil ? "enter" : "run", store: store.root, project: project.directory,
                                                      image: request.image, root: request.asRoot, network: request.network?.rawValue,
                                                      quiet: request.quiet),
           let corePath = try? HelperCommand.executable() {
            record = LaunchRecord(path: requestedRecord.path, key: requestedRecord.key, corePath: corePath,
                                  projectDirectory: project.directory, mountPoint: launch.session.projectMountPoint ?? project.directory,
                                  notAfter: started)
            record?.notes = launch.notes
            record?.variables = ["PATH", "SSH_AUTH_SOCK"] + EnvironmentSession.passedThrough + HostGitConfiguration.variables
                + HostGnuPG.variables
            // `devenv up` writes the state: from then on, starts go through here to join it.
            record?.checks = [.content(corePath), .content(running.statePath)]
                + checks(project: project, prepared: launch.prepared, access: launch.access, session: launch.session,
                         environmentDirectory: launch.environmentDirectory)
        }
        if let joining { return try join(spec, state: joining, record: record) }
        return try start(spec, record: record, store: store)
    }

    /// Everything up to the start: the project, its environment built as far as needed, and
    /// the sandbox's spec.
    func prepareLaunch(command: [String]?) async throws -> Launch {
        let project = try Project.discover()
        let user = HostUser.current()
        let prepared = try await prepare(project, user: user)
        let store = prepared.store
        let environmentDirectory = project.environmentDirectory(prepared.manifest, store: store)
        let home = environmentDirectory + "/home"
        try HostPath.makeDirectory(home, mode: 0o700)
        try HostPath.makeDirectory(store.layers + "/" + SandboxSpec.scratchName, mode: 0o755)

        let identity = IDMapping.forInvoker(asRoot: request.asRoot)
        if identity.mode == .single, !request.quiet { noteSingleIDMappingOnce(store, user: user) }

        // The environment's variables are the image's Env with [env] applied; the session's PATH
        // and TERM/LANG/… passthrough rules still apply on top.
        var session = EnvironmentSession(
            name: project.environmentName(prepared.manifest), layersDirectory: store.layers, layers: prepared.layers,
            imageEnvironment: prepared.imageEnvironment, callerEnvironment: ProcessInfo.processInfo.environment,
            projectDirectory: project.directory, workingDirectory: project.workingDirectory, user: user,
            homeDirectory: home, identity: identity)
        session.pathPrefix = prepared.pathPrefix
        session.asRoot = request.asRoot
        session.command = command
        session.network = request.network ?? prepared.manifest.flatMap { SandboxSpec.Network(rawValue: $0.network.rawValue) } ?? .host
        session.ports = prepared.manifest?.ports.map { SandboxSpec.PublishedPort(host: $0.host, inside: $0.inside) } ?? []
        let access = try shareHost(with: &session, prepared: prepared, user: user, environmentDirectory: environmentDirectory)
        let notes = shape(&session, manifest: prepared.manifest)
        session.hostResolvConf = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        session.hostHosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)

        var spec = session.spec()
        spec.binds += prepared.mounts
        return Launch(spec: spec, project: project, prepared: prepared, session: session, environmentDirectory: environmentDirectory,
                      access: access, notes: notes)
    }

    /// Runs the command in the running environment, as the session would have run it in a
    /// sandbox of its own: same command, variables, working directory and user.
    /// With a `record`, the launcher's next start joins it itself, while the state file (which
    /// the record checks) is the same.
    private func join(_ spec: SandboxSpec, state: RunningState, record: LaunchRecord?) throws -> Int32 {
        do {
            return try Sandbox.joinAndWait(spec, target: state.namespaces, record: record)
        } catch let error where error.code == .exec {
            onNote("devenv: error: \(error.message)")
            return error.errno == ENOENT ? 127 : 126
        } catch {
            throw DevenvError.internal("cannot join the running environment \(state.name): \(error.message)")
        }
    }

    /// The image given with `--image` as it is, or the project's environment: manifest checked,
    /// approval required, then built as far as needed.
    private func prepare(_ project: Project, user: HostUser) async throws -> Prepared {
        if let imageName = request.image {
            let ref = try Reference(parsing: imageName)
            let store = try StoreLocation(explicit: request.given.store)
            let image = try await LocalImage.ensure(ref, store: store, layout: LayerLayout.forInvoker(asRoot: request.asRoot),
                                                   onEvent: progress.pull)
            return Prepared(store: store, layers: image.layers, imageEnvironment: image.config.config?.Env ?? [])
        }
        let manifest = try project.manifest(home: user.home)
        // Mounts are checked before anything is built: a bad manifest changes nothing.
        let mounts = try ManifestRunner.binds(manifest, project: project.directory)
        let store = try StoreLocation(explicit: request.given.store)
        // Before anything is built or mounted; the store is read only after its owner is checked,
        // so no other user can plant an approval.
        let trust = try ProjectTrust(project: project, manifest: manifest, store: store)
        try trust.requireApproval(request.given)
        // Nor is anything built for a network this machine cannot give the sandbox.
        if let network = request.network ?? SandboxSpec.Network(rawValue: manifest.network.rawValue),
           let problem = Sandbox.unsupported(network: network, identity: IDMapping.forInvoker(asRoot: request.asRoot)) {
            throw DevenvError.user(problem.message)
        }
        var builder = EnvironmentBuilder(store: store, layout: LayerLayout.forInvoker(asRoot: request.asRoot), output: progress)
        builder.locked = request.locked
        let environment = try await builder.ensure(project: project, manifest: manifest)
        return Prepared(store: store, manifest: manifest, layers: environment.layers, imageEnvironment: environment.environment,
                        pathPrefix: environment.pathPrefix, mounts: mounts, approved: trust.isApproved,
                        approveCommand: trust.approveCommand(request.given))
    }

    /// Repository protection, the caller's git configuration, and the ssh and GnuPG agents for
    /// approved projects only.
    private func shareHost(with session: inout EnvironmentSession, prepared: Prepared, user: HostUser,
                           environmentDirectory: String) throws -> HostAccess {
        let variables = ProcessInfo.processInfo.environment
        var protection: RepositoryProtection?
        if !request.unprotected {
            do {
                protection = try RepositoryProtection.of(session.projectDirectory)
            } catch {
                throw DevenvError.user(error.message)
            }
            session.protectedPaths = protection?.paths ?? []
        }
        // Git's and GnuPG's own rule: their files are found from $HOME.
        let callerHome = variables["HOME"] ?? user.home
        let gitConfiguration = HostGitConfiguration.of(home: callerHome, environment: variables)
        session.gitConfiguration = gitConfiguration
        let agent = Self.hostSSHAgent()
        let gnupg = HostGnuPG.of(home: callerHome, uid: geteuid(), environment: variables)
        // Root's sandboxes are ids the agents refuse (they take only their own uid and root).
        if prepared.approved, !session.identity.shiftsHostIDs {
            session.sshAgentSocket = agent
            if let gnupg, !request.asRoot {
                // Private, as gpg wants its home; whatever code inside left there is not followed.
                _ = mkdir(session.homeDirectory + "/.gnupg", 0o700)
                session.gnupg = gnupg
            }
        }
        let agents = [agent.map { _ in "ssh agent" }, gnupg.map { _ in "GnuPG agent" }].compactMap { $0 }
        let noteShown = !agents.isEmpty && prepared.manifest != nil && !prepared.approved && !request.quiet
        if noteShown { noteAgentsOnce(agents, environmentDirectory, approveCommand: prepared.approveCommand) }
        return HostAccess(protection: protection, gitConfiguration: gitConfiguration, agents: agents,
                          gnupgCandidates: HostGnuPG.candidates(home: callerHome, uid: geteuid(), environment: variables),
                          gnupgLooked: gnupg?.looked ?? [], agentNoteShown: noteShown)
    }

    /// The manifest's shell, hostname, mount point and seccomp choice; returns the notes to show.
    private func shape(_ session: inout EnvironmentSession, manifest: Manifest?) -> [String] {
        guard let manifest else { return [] }
        session.shell = manifest.shell.command
        session.hostname = manifest.shell.hostname
        if case .path(let path) = manifest.shell.workdir { session.projectMountPoint = path }
        guard manifest.seccomp == .unconfined else { return [] }
        session.seccomp = nil
        return ["devenv: note: [security] seccomp = \"unconfined\": the sandbox runs without a seccomp filter"]
    }

    /// Every file whose change must send the next start through devenv-core again.
    private func checks(project: Project, prepared: Prepared, access: HostAccess, session: EnvironmentSession,
                        environmentDirectory: String) -> [LaunchRecord.Check] {
        let store = prepared.store
        let inputs: [LaunchRecord.Check] = prepared.manifest == nil ? [.content(store.oci + "/index.json")]
            : [.content(project.manifestPath), .content(project.lockPath),
               // Revoked or approved anew since: the full start decides again.
               .content(ProjectTrust.approvalPath(project: project, store: store))]
            // Requirements files and steps' files: an edit changes the lock or a layer.
            + (prepared.manifest?.inputFiles.map { .content(project.directory + "/" + $0.path) } ?? [])
        let host: [LaunchRecord.Check] = (access.protection?.checks ?? [])
            + access.gitConfiguration.looked.map { .content($0) }
            + (session.sshAgentSocket.map { [.identity($0)] } ?? [])
            + access.gnupgCandidates.map { .identity($0) }
            + access.gnupgLooked.map { .content($0) }
        let notes: [LaunchRecord.Check] = (access.agentNoteShown ? [.content(environmentDirectory + "/" + Self.agentNote)] : [])
            + (session.identity.mode == .single && !request.quiet ? [.content(store.envs + "/" + Self.singleIDNote)] : [])
        return inputs
            + prepared.layers.map { .identity(store.layers + "/" + $0) }
            + prepared.mounts.map { .identity($0.source) }
            + host + notes
            + [.directory(session.homeDirectory), .directory(store.layers + "/" + SandboxSpec.scratchName)]
            + ["/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid", "/etc/resolv.conf", "/etc/hosts",
               IDMapping.helper("newuidmap"), IDMapping.helper("newgidmap")].map { .content($0) }
    }

    /// Runs the sandbox with its layers held: until it ends, gc and a rebuild delete none of
    /// them. Held after they were made, so one gc removed in between is caught here rather than
    /// by the mount.
    private func start(_ spec: SandboxSpec, record: LaunchRecord?, store: StoreLocation) throws -> Int32 {
        let hold: LayerHold
        do {
            hold = try LayerHold(layersDirectory: store.layers, layers: spec.layers)
        } catch {
            throw DevenvError.internal(error.message)
        }
        if let missing = spec.layers.first(where: { access(store.layers + "/" + $0, F_OK) != 0 }) {
            throw DevenvError.user("layer \(missing) was removed while the environment was starting (by devenv gc?); run the command again")
        }
        defer { withExtendedLifetime(hold) {} }
        do {
            return try Sandbox.run(spec, record: record)
        } catch let error where error.code == .exec {
            onNote("devenv: error: \(error.message)")
            return error.errno == ENOENT ? 127 : 126
        } catch let error where error.code == .unsupported || error.code == .user {
            throw DevenvError.user(error.message)
        } catch {
            throw DevenvError.internal("cannot start the sandbox: \(error.message)")
        }
    }

    /// The marker in `envs/` that the single-id note was shown.
    static let singleIDNote = ".single-id-mapping-noted"
    static let agentNote = ".ssh-agent-noted"

    /// The caller's ssh agent: $SSH_AUTH_SOCK when it is a socket of theirs.
    static func hostSSHAgent() -> String? {
        guard let path = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], path.hasPrefix("/") else { return nil }
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK, info.st_uid == geteuid() else { return nil }
        return path
    }

    /// In a project not approved with `devenv trust`, say once why the agents are not inside.
    private func noteAgentsOnce(_ agents: [String], _ environmentDirectory: String, approveCommand: String) {
        let marker = environmentDirectory + "/" + Self.agentNote
        guard !FileManager.default.fileExists(atPath: marker) else { return }
        let which = agents.count == 1 ? "your \(agents[0]) stays" : "your \(agents.joined(separator: " and ")) stay"
        onNote("""
            devenv: note: \(which) outside until you approve this project on this machine \
            (code inside could use your keys): \(approveCommand)
            """)
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
    }

    /// On a machine without /etc/subuid ranges for the user, say once per store what that means.
    private func noteSingleIDMappingOnce(_ store: StoreLocation, user: HostUser) {
        let marker = store.envs + "/" + Self.singleIDNote
        guard !FileManager.default.fileExists(atPath: marker) else { return }
        onNote("""
            devenv: note: no subordinate ids for \(user.name) in /etc/subuid and /etc/subgid (or no newuidmap): \
            using a single-id mapping, in which files of other owners in the image appear as nobody. \
            Add ranges (e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \(user.name)) for a full mapping.
            """)
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
    }
}
