import ArgumentParser
import CLaunch
import Foundation
import Git
import Manifest
import OCI
import Sandbox

/// What `run` and `enter` share: find the project and its image (`--image`, else the manifest's
/// `[base] image`), prepare the per-project state, and run the sandbox as the manifest shapes it.
struct EnvironmentLauncher {
    let global: GlobalOptions
    let options: SandboxOptions

    /// Runs `command` (nil: the image's shell) and returns its exit status.
    func run(command: [String]?) async throws -> Int32 {
        let started = LaunchRecord.startingNow()
        let requestedRecord = LaunchRecord.requested(environment: ProcessInfo.processInfo.environment)
        unsetenv(CLAUNCH_RECORD_VARIABLE)
        unsetenv(CLAUNCH_KEY_VARIABLE)
        try global.enterDirectory()
        let project = try Project.discover()
        let user = HostUser.current()
        let layout = LayerLayout.forInvoker(asRoot: options.asRoot)
        // --image runs any image as it is: the project's manifest is for the project's environment.
        var manifest: Manifest?
        let layers: [String]
        let imageEnvironment: [String]
        var pathPrefix: [String] = []
        var mounts: [SandboxSpec.Bind] = []
        var approved = false
        var approveCommand = "devenv trust"
        let store: StoreLocation
        if let imageName = options.image {
            let ref = try Reference(parsing: imageName)
            store = try global.store()
            let image = try await LocalImage.ensure(ref, store: store, quiet: global.quiet, layout: layout)
            layers = image.layers
            imageEnvironment = image.config.config?.Env ?? []
        } else {
            let loaded = try project.manifest(home: user.home)
            // Mounts are checked before anything is built: a bad manifest changes nothing.
            mounts = try ManifestRunner.binds(loaded, project: project.directory)
            store = try global.store()
            // Before anything is built or mounted; the store is read only after its owner is checked,
            // so no other user can plant an approval.
            let trust = try ProjectTrust(project: project, manifest: loaded, store: store)
            try trust.requireApproval(global)
            approved = trust.isApproved
            approveCommand = trust.approveCommand(global)
            let output = BuildOutput(quiet: global.quiet, verbose: global.verbose)
            var builder = EnvironmentBuilder(store: store, layout: layout, output: output)
            builder.locked = options.locked
            let environment = try await builder.ensure(project: project, manifest: loaded)
            layers = environment.layers
            imageEnvironment = environment.environment
            pathPrefix = environment.pathPrefix
            manifest = loaded
        }

        let name = project.environmentName(manifest)
        let environmentDirectory = project.environmentDirectory(manifest, store: store)
        let home = environmentDirectory + "/home"
        try Self.makeDirectory(home, mode: 0o700)
        try Self.makeDirectory(store.layers + "/" + SandboxSpec.scratchName, mode: 0o755)

        let identity = IDMapping.forInvoker(asRoot: options.asRoot)
        if identity.mode == .single, !global.quiet { noteSingleIDMappingOnce(store, user: user) }

        // The environment's variables are the image's Env with [env] applied; the session's PATH
        // and TERM/LANG/… passthrough rules still apply on top.
        var session = EnvironmentSession(
            name: name, layersDirectory: store.layers, layers: layers, imageEnvironment: imageEnvironment,
            callerEnvironment: ProcessInfo.processInfo.environment,
            projectDirectory: project.directory, workingDirectory: project.workingDirectory, user: user,
            homeDirectory: home, identity: identity)
        session.pathPrefix = pathPrefix
        session.asRoot = options.asRoot
        session.command = command
        session.network = options.networkMode ?? manifest.flatMap { SandboxSpec.Network(rawValue: $0.network.rawValue) } ?? .host
        var protection: RepositoryProtection?
        if !options.unprotected {
            do {
                protection = try RepositoryProtection.of(project.directory)
            } catch {
                throw DevenvError.user(error.message)
            }
            session.protectedPaths = protection?.paths ?? []
        }
        // Git's own rule: the configuration is found from $HOME.
        let gitConfiguration = HostGitConfiguration.of(home: ProcessInfo.processInfo.environment["HOME"] ?? user.home,
                                                       environment: ProcessInfo.processInfo.environment)
        session.gitConfiguration = gitConfiguration
        let agent = Self.hostSSHAgent()
        let callerHome = ProcessInfo.processInfo.environment["HOME"] ?? user.home
        let gnupg = HostGnuPG.of(home: callerHome, uid: geteuid(), environment: ProcessInfo.processInfo.environment)
        // Root's sandboxes are ids the agents refuse (they take only their own uid and root).
        if approved, !identity.shiftsHostIDs {
            session.sshAgentSocket = agent
            if let gnupg, !options.asRoot {
                // Private, as gpg wants its home; whatever code inside left there is not followed.
                _ = mkdir(home + "/.gnupg", 0o700)
                session.gnupg = gnupg
            }
        }
        let agents = [agent.map { _ in "ssh agent" }, gnupg.map { _ in "GnuPG agent" }].compactMap { $0 }
        if !agents.isEmpty, manifest != nil, !approved, !global.quiet { noteAgentsOnce(agents, environmentDirectory, approveCommand: approveCommand) }
        var notes: [String] = []
        if let manifest {
            session.shell = manifest.shell.command
            session.hostname = manifest.shell.hostname
            if case .path(let path) = manifest.shell.workdir { session.projectMountPoint = path }
            if manifest.seccomp == .unconfined {
                session.seccomp = nil
                notes.append("devenv: note: [security] seccomp = \"unconfined\": the sandbox runs without a seccomp filter")
            }
        }
        for note in notes { Terminal.note(note) }
        session.hostResolvConf = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        session.hostHosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)

        var spec = session.spec()
        spec.binds += mounts
        var record: LaunchRecord?
        // The launcher starts no network helper: a private network always goes through here.
        if let requestedRecord, spec.network != .private,
           requestedRecord.fields == [command == nil ? "enter" : "run", store.root, project.directory, options.image ?? "",
                                      "root=\(options.asRoot ? 1 : 0) network=\(options.network ?? "") quiet=\(global.quiet ? 1 : 0)"],
           let corePath = try? DevenvProcess.executable() {
            var inputs = LaunchRecord(path: requestedRecord.path, key: requestedRecord.key, corePath: corePath,
                                      projectDirectory: project.directory, mountPoint: session.projectMountPoint ?? project.directory,
                                      notAfter: started)
            inputs.notes = notes
            inputs.variables = ["PATH", "SSH_AUTH_SOCK"] + EnvironmentSession.passedThrough + HostGitConfiguration.variables
                + HostGnuPG.variables
            inputs.checks = [.content(corePath)]
                + (manifest == nil ? [.content(store.oci + "/index.json")]
                    : [.content(project.manifestPath), .content(project.lockPath),
                       // Revoked or approved anew since: the full start decides again.
                       .content(ProjectTrust.approvalPath(project: project, store: store))])
                // Requirements files and steps' files: an edit changes the lock or a layer.
                + (manifest?.inputFiles.map { .content(project.directory + "/" + $0.path) } ?? [])
                + layers.map { .identity(store.layers + "/" + $0) }
                + mounts.map { .identity($0.source) }
                + (protection?.checks ?? [])
                + gitConfiguration.looked.map { .content($0) }
                + (session.sshAgentSocket.map { [.identity($0)] } ?? [])
                + HostGnuPG.candidates(home: callerHome, uid: geteuid(), environment: ProcessInfo.processInfo.environment).map { .identity($0) }
                + (gnupg?.looked.map { .content($0) } ?? [])
                + (!agents.isEmpty && manifest != nil && !approved && !global.quiet ? [.content(environmentDirectory + "/" + Self.agentNote)] : [])
                + [.directory(home), .directory(store.layers + "/" + SandboxSpec.scratchName)]
                + ["/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid", "/etc/resolv.conf", "/etc/hosts",
                   IDMapping.helper("newuidmap"), IDMapping.helper("newgidmap")].map { .content($0) }
                + (identity.mode == .single && !global.quiet ? [.content(store.envs + "/" + Self.singleIDNote)] : [])
            record = inputs
        }
        // Until the sandbox ends, gc and a rebuild delete none of its layers. Held after they
        // were made, so one gc removed in between is caught here rather than by the mount.
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
            Terminal.note("devenv: error: \(error.message)")
            return error.errno == ENOENT ? 127 : 126
        } catch let error where error.code == .unsupported {
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
        Terminal.note("""
            devenv: note: \(which) outside until you approve this project on this machine \
            (code inside could use your keys): \(approveCommand)
            """)
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
    }

    /// On a machine without /etc/subuid ranges for the user, say once per store what that means.
    private func noteSingleIDMappingOnce(_ store: StoreLocation, user: HostUser) {
        let marker = store.envs + "/" + Self.singleIDNote
        guard !FileManager.default.fileExists(atPath: marker) else { return }
        Terminal.note("""
            devenv: note: no subordinate ids for \(user.name) in /etc/subuid and /etc/subgid (or no newuidmap): \
            using a single-id mapping, in which files of other owners in the image appear as nobody. \
            Add ranges (e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \(user.name)) for a full mapping.
            """)
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
    }

    /// The working directory with symlinks resolved: the bind inside is made at the real path.
    static func physicalWorkingDirectory() throws -> String {
        guard let cwd = getcwd(nil, 0) else { throw DevenvError.user("the working directory is gone: \(String(cString: strerror(errno)))") }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    static func physical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func makeDirectory(_ path: String, mode: Int) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw DevenvError.internal("cannot create \(path): \(error.localizedDescription)")
        }
    }
}
