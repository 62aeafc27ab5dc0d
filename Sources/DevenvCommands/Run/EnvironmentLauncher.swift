import ArgumentParser
import Foundation
import Git
import OCI
import Sandbox

/// What `run` and `enter` share: find the image and the project, prepare the per-project state,
/// and run the sandbox.
struct EnvironmentLauncher {
    let global: GlobalOptions
    let options: SandboxOptions

    /// Runs `command` (nil: the image's shell) and returns its exit status.
    func run(command: [String]?) async throws -> Int32 {
        guard let imageName = options.image else {
            throw DevenvError.user("no image to run: pass --image REF, e.g. --image debian:bookworm (.devenv/devenv.toml is not read yet)")
        }
        let ref = try Reference(parsing: imageName)
        let store = try global.store()
        let image = try await LocalImage.ensure(ref, store: store, quiet: global.quiet)

        let workingDirectory = try Self.physicalWorkingDirectory()
        let project = GitRepository.discoverWorkingTree(from: workingDirectory).map(Self.physical) ?? workingDirectory
        guard project != "/" else {
            throw DevenvError.user("the project directory would be / (the whole host): run devenv inside a project directory")
        }
        let name = URL(fileURLWithPath: project).lastPathComponent
        let environmentDirectory = "\(store.envs)/\(name)-\(Digest(hashing: Array(project.utf8)).short)"
        let home = environmentDirectory + "/home"
        try Self.makeDirectory(home, mode: 0o700)
        try Self.makeDirectory(store.layers + "/" + SandboxSpec.scratchName, mode: 0o755)

        let user = HostUser.current()
        let identity = IDMapping.forInvoker(asRoot: options.asRoot)
        if identity.mode == .single, !global.quiet { noteSingleIDMappingOnce(store, user: user) }

        var session = EnvironmentSession(
            name: name, layersDirectory: store.layers, layers: image.layers,
            imageEnvironment: image.config.config?.Env ?? [], callerEnvironment: ProcessInfo.processInfo.environment,
            projectDirectory: project, workingDirectory: workingDirectory, user: user,
            homeDirectory: home, identity: identity)
        session.asRoot = options.asRoot
        session.command = command
        session.network = options.networkMode
        session.hostResolvConf = try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)
        session.hostHosts = try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)

        do {
            return try Sandbox.run(session.spec())
        } catch let error where error.code == .exec {
            Terminal.note("devenv: error: \(error.message)")
            return error.errno == ENOENT ? 127 : 126
        } catch {
            throw DevenvError.internal("cannot start the sandbox: \(error.message)")
        }
    }

    /// On a machine without /etc/subuid ranges for the user, say once per store what that means.
    private func noteSingleIDMappingOnce(_ store: StoreLocation, user: HostUser) {
        let marker = store.envs + "/.single-id-mapping-noted"
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
