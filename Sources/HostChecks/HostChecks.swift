#if os(Linux)
import Environments
import Foundation
import Git
import Glibc
import ImageStore
import Manifest
import OCI
import Sandbox

/// What `devenv doctor` checks on Linux. Where it can, a check does what devenv itself will do
/// (create a user namespace, mount an overlay in one, compile the seccomp filter, ask the
/// registry for the base image) rather than guess from version numbers.
public struct HostChecks {
    public let storePath: String?

    public init(storePath: String?) {
        self.storePath = storePath
    }

    public static let minimumKernel = (5, 11)
    public static let lowSpace: Int64 = 5_000_000_000
    public static let registryTimeout = Duration.seconds(10)

    /// Runs every check; `-C` must have been applied already.
    public func run() async -> [DoctorCheck] {
        let store = Result { try StoreLocation(explicit: storePath) }
        var checks = [os(), kernel(), userNamespaces(), overlay(scratch: try? store.get().tmp), seccomp(), idMapping(), mapHelpers(),
                      buildNetwork(), self.store(store), git()]
        checks += await project()
        return checks
    }

    // MARK: kernel

    public static func uname() -> (release: String, machine: String) {
        var names = utsname()
        Glibc.uname(&names)
        func text<T>(_ field: inout T) -> String {
            withUnsafePointer(to: &field) { $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout<T>.size) { String(cString: $0) } }
        }
        return (text(&names.release), text(&names.machine))
    }

    /// "6.1.0-18-amd64" → (6, 1).
    public static func kernelVersion(_ release: String) -> (Int, Int)? {
        let numbers = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }

    public func os() -> DoctorCheck {
        let system = Self.uname()
        return .ok("os", "Linux \(system.release) (\(system.machine))")
    }

    public func kernel() -> DoctorCheck {
        let release = Self.uname().release
        guard let version = Self.kernelVersion(release) else {
            return .warn("kernel", "cannot read the version from \"\(release)\"", fix: "make sure the kernel is 5.11 or newer (uname -r)")
        }
        guard version >= Self.minimumKernel else {
            return .fail("kernel", "\(version.0).\(version.1) is older than 5.11, the first to mount overlayfs in a user namespace (userxattr)",
                         fix: "upgrade the kernel: Debian 12 ships 6.1 (apt-get install linux-image-$(dpkg --print-architecture)), Ubuntu 22.04 ships 5.15")
        }
        return .ok("kernel", "\(version.0).\(version.1) (5.11 or newer: overlayfs in user namespaces)")
    }

    // MARK: namespaces and overlay

    public func userNamespaces() -> DoctorCheck {
        let mode = IDMapping.forInvoker(asRoot: false).mode
        switch Self.asNamespaceRoot(["/bin/true"]) {
        case .success(let result) where result.status == 0:
            return .ok("user namespaces", "created one with the \(mode.rawValue) id mapping")
        case .success(let result):
            return .fail("user namespaces", "/bin/true in a new user namespace \(Self.helperFailure(result))", fix: Self.userNamespaceFix())
        case .failure(let error):
            return .fail("user namespaces", error.message, fix: Self.userNamespaceFix())
        }
    }

    /// How a program run in a user namespace ended: its status and what it printed.
    public struct Outcome {
        public var status: Int32
        public var output: [UInt8]
    }

    /// Runs `command` as root of a new user namespace whose root is the user: through devenv's
    /// own helper with the mapping the sandbox uses or, for a single-id mapping (with which that
    /// helper cannot become root), through unshare --map-root-user, which maps the same way. As
    /// root, root's own id is that root (its sandboxes' ids reach the store only through
    /// idmapped mounts, which the run itself checks).
    public static func asNamespaceRoot(_ command: [String]) -> Result<Outcome, SandboxError> {
        let mapping = getuid() == 0 ? IDMapping.rootOver(uid: 0, gid: 0, count: IDMapping.shiftedIDCount) : IDMapping.forInvoker(asRoot: true)
        let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        guard mapping.mode == .single else {
            return Result { () throws(SandboxError) in
                let result = try UserNamespaceProcess.run(command, environment: environment, mapping: mapping)
                return Outcome(status: result.status, output: result.output)
            }
        }
        guard let unshare = tool("unshare") else { return .failure(SandboxError(.host, "unshare (util-linux) is not installed")) }
        let process = Process()
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: unshare)
        process.arguments = ["--user", "--map-root-user", "--"] + command
        process.environment = Dictionary(uniqueKeysWithValues: environment.map { ($0.prefix { $0 != "=" }.description, String($0.drop { $0 != "=" }.dropFirst())) })
        process.standardOutput = output
        process.standardError = output
        do { try process.run() } catch { return .failure(SandboxError(.host, "cannot run \(unshare): \(error)")) }
        let bytes = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .success(Outcome(status: process.terminationStatus, output: Array(bytes)))
    }

    public static func tool(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"].map { $0 + name }.first { access($0, X_OK) == 0 }
    }

    /// The sysctl that blocks unprivileged user namespaces on this machine, if one does.
    public static func userNamespaceFix() -> String {
        func value(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if value("/proc/sys/kernel/unprivileged_userns_clone") == "0" {
            return "sysctl -w kernel.unprivileged_userns_clone=1 (and set it in /etc/sysctl.d/ to keep it)"
        }
        if value("/proc/sys/user/max_user_namespaces") == "0" {
            return "sysctl -w user.max_user_namespaces=15000 (and set it in /etc/sysctl.d/ to keep it)"
        }
        if value("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1" {
            return "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or give devenv an AppArmor profile that allows userns"
        }
        return "enable user namespaces: a kernel with CONFIG_USER_NS=y, and no sysctl or security module forbidding them"
    }

    /// Mounts an overlay with `userxattr` in a new user namespace, the way the sandbox mounts an
    /// environment's root: with mapping "root inside", `unshare --mount` makes a mount namespace
    /// that namespace owns, and mount(8) mounts there.
    public func overlay(scratch: String?) -> DoctorCheck {
        let filesystems = (try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? ""
        guard filesystems.split(whereSeparator: \.isNewline).contains(where: { $0.hasSuffix("\toverlay") }) else {
            return .fail("overlayfs", "the kernel does not list overlay in /proc/filesystems", fix: "modprobe overlay (and add overlay to /etc/modules)")
        }
        guard let unshare = Self.tool("unshare"), let mount = Self.tool("mount"), let scratch else {
            return .warn("overlayfs", "overlay is in /proc/filesystems, but no mount was tried (unshare or mount missing, or no store)",
                         fix: "apt-get install util-linux mount, then run devenv doctor again")
        }
        let base = scratch + "/doctor-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        for directory in ["lower1", "lower2", "merged"] {
            try? FileManager.default.createDirectory(atPath: base + "/" + directory, withIntermediateDirectories: true)
        }
        let command = [unshare, "--mount", mount, "-t", "overlay", "overlay", "-o", "ro,userxattr,lowerdir=\(base)/lower1:\(base)/lower2", base + "/merged"]
        switch Self.asNamespaceRoot(command) {
        case .success(let result) where result.status == 0:
            return .ok("overlayfs", "mounted one with userxattr in a user namespace")
        case .success(let result):
            return .fail("overlayfs", "mount -t overlay -o userxattr in a user namespace \(Self.helperFailure(result))",
                         fix: "use Linux 5.11 or newer with overlayfs, and keep the store (\(scratch.dropLast(4))) on a local file system such as ext4 or xfs")
        case .failure(let error):
            return .fail("overlayfs", "cannot create a user namespace to mount in: \(error.message)", fix: Self.userNamespaceFix())
        }
    }

    // MARK: seccomp and ids

    public func seccomp() -> DoctorCheck {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard status.split(whereSeparator: \.isNewline).contains(where: { $0.hasPrefix("Seccomp:") }) else {
            return .fail("seccomp", "the kernel has no seccomp (no Seccomp: line in /proc/self/status)",
                         fix: "use a kernel built with CONFIG_SECCOMP_FILTER=y (every distribution kernel is)")
        }
        do {
            let program = try SeccompProfile.default.compile()
            return .ok("seccomp", "libseccomp compiled the sandbox's filter (\(program.count / 8) instructions); the kernel supports filters")
        } catch {
            return .fail("seccomp", "libseccomp cannot compile the sandbox's filter: \(error.message)", fix: "apt-get install libseccomp2")
        }
    }

    public func idMapping() -> DoctorCheck {
        let user = HostUser.current()
        let mapping = IDMapping.forInvoker(asRoot: false)
        switch mapping.mode {
        case .root:
            let first = mapping.uids.first.map { "\($0.outside)-\(UInt64($0.outside) + UInt64($0.count) - 1)" } ?? "?"
            return .ok("id mapping", "root: sandboxes are root of host ids \(first), which own nothing; files keep the owners the image gives them")
        case .subordinate:
            let uids = Self.subordinateRanges("/etc/subuid", user: user), gids = Self.subordinateRanges("/etc/subgid", user: user)
            return .ok("id mapping", "subordinate ids for \(user.name): uids \(uids), gids \(gids) (image owners keep their ids)")
        case .single:
            let reason = IDMapping.helpersAvailable ? "no ranges for \(user.name) in /etc/subuid and /etc/subgid" : "newuidmap and newgidmap are not installed"
            return .warn("id mapping", "single id (\(reason)): files of other owners in an image appear as nobody",
                         fix: IDMapping.helpersAvailable
                            ? "usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \(user.name)"
                            : "apt-get install uidmap, then usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \(user.name)")
        }
    }

    public static func subordinateRanges(_ path: String, user: HostUser) -> String {
        let contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return SubordinateRange.parse(contents, name: user.name, id: user.uid)
            .map { "\($0.start)-\(UInt64($0.start) + UInt64($0.count) - 1)" }.joined(separator: ",")
    }

    public func mapHelpers() -> DoctorCheck {
        let found = ["newuidmap", "newgidmap"].map { name in
            ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"].map { $0 + "/" + name }.first { access($0, X_OK) == 0 }
        }
        let missing = zip(["newuidmap", "newgidmap"], found).filter { $0.1 == nil }.map(\.0)
        if getuid() == 0 {
            return .ok("newuidmap", missing.isEmpty ? "installed (not needed as root)" : "not installed, not needed as root")
        }
        guard missing.isEmpty else {
            return .warn("newuidmap", "\(missing.joined(separator: " and ")) not installed: only a single-id mapping is possible", fix: "apt-get install uidmap")
        }
        return .ok("newuidmap", found.compactMap { $0 }.joined(separator: ", "))
    }

    /// Build steps (and `--network private`) get a network of their own through slirp4netns.
    public func buildNetwork() -> DoctorCheck {
        guard let path = OutboundNetwork.executable() else {
            return .fail("build network", "slirp4netns is not installed: build steps, which run in a network of their own, cannot start",
                         fix: "apt-get install slirp4netns")
        }
        if let tun = OutboundNetwork.tunProblem() { return .fail("build network", tun.problem, fix: tun.fix) }
        return .ok("build network", "slirp4netns: \(path) (build steps reach the internet, not this machine's loopback)")
    }

    public func store(_ location: Result<StoreLocation, any Error>) -> DoctorCheck {
        let store: StoreLocation
        do { store = try location.get() } catch {
            return .fail("store", "\(error)", fix: "choose a writable place with --store PATH or DEVENV_HOME")
        }
        var info = statvfs()
        guard statvfs(store.root, &info) == 0 else {
            return .fail("store", "\(store.root): \(String(cString: strerror(errno)))", fix: "choose a writable place with --store PATH or DEVENV_HOME")
        }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        guard free >= Self.lowSpace else {
            return .warn("store", "\(store.root): only \(Units.bytes(free)) free; an environment with a toolchain takes several GB",
                         fix: "free space there (devenv gc), or move the store with --store PATH or DEVENV_HOME")
        }
        return .ok("store", "\(store.root): \(Units.bytes(free)) free")
    }

    public func git() -> DoctorCheck {
        let transports = GitRepository.transports
        let detail = "libgit2 \(GitRepository.libraryVersion): devenv clone fetches over \((transports + ["local paths"]).joined(separator: ", "))"
        return transports.contains("ssh") ? .ok("git", detail)
            : .warn("git", detail + " (not ssh)", fix: "install a libgit2 built with libssh2 (Debian's libgit2 is), or clone ssh URLs with git")
    }

    // MARK: the project

    /// The manifest, the tools its base needs, and its base image's registry.
    public func project() async -> [DoctorCheck] {
        guard let project = try? Project.discover() else {
            return [.skip("manifest", "no project directory")]
        }
        let path = project.manifestPath
        guard FileManager.default.fileExists(atPath: path) else {
            return [.skip("manifest", "no .devenv/devenv.toml in \(project.directory) (devenv init writes one): no manifest to check")]
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.load(path: path, home: HostUser.current().home)
        } catch let error as ManifestError {
            return [.fail("manifest", "\(error.file):\(error.position): \(error.problem)", fix: error.fix)]
        } catch {
            return [.fail("manifest", "cannot read \(path): \(error.localizedDescription)", fix: "check the file's permissions")]
        }
        // run and enter refuse a [mounts] entry whose host path is missing: say so here first.
        do { _ = try ManifestRunner.binds(manifest, project: project.directory) } catch let error as DevenvError {
            let parts = error.description.components(separatedBy: "\n  fix: ")
            return [.fail("manifest", parts[0], fix: parts.count > 1 ? parts[1] : "correct [mounts]")]
        } catch {
            return [.fail("manifest", "\(error)", fix: "correct [mounts]")]
        }
        switch manifest.base {
        case .bootstrap(let suite, let mirror):
            return [.ok("manifest", "\(path): base bootstrapped from \(suite) (\(mirror))"), bootstrapTool(),
                    .skip("registry", "a bootstrap base comes from the Debian mirror, not a registry")]
        case .image(let image):
            return [.ok("manifest", "\(path): base image \(image)"),
                    .skip("helper tools", "an image base needs no host tools"), await registry(image)]
        }
    }

    public func bootstrapTool() -> DoctorCheck {
        guard let path = BootstrapBase.which("mmdebstrap") else {
            return .fail("helper tools", "the manifest's [base] bootstrap needs mmdebstrap, which is not installed", fix: "apt-get install mmdebstrap")
        }
        return .ok("helper tools", "mmdebstrap: \(path)")
    }

    /// Asks the base image's registry for its manifest, as a pull would, within a few seconds.
    public func registry(_ image: String) async -> DoctorCheck {
        let ref: Reference
        do { ref = try Reference(parsing: image) } catch {
            return .fail("registry", "\(error)", fix: "correct [base] image in .devenv/devenv.toml")
        }
        let credentials: Credentials
        do { credentials = try Credentials.load() } catch {
            return .fail("registry", "\(error)", fix: "correct or remove \(Credentials.defaultConfigPath())")
        }
        let client = RegistryClient(credentials: credentials)
        let tag = ref.digest?.description ?? ref.tag ?? "latest"
        let outcome: Result<String, any Error>? = await withTaskGroup(of: Result<String, any Error>?.self) { group in
            group.addTask {
                do { return .success(try await client.fetchManifest(ref, reference: tag).digest.description) } catch { return .failure(error) }
            }
            group.addTask {
                try? await Task.sleep(for: Self.registryTimeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await client.shutdown()
        switch outcome {
        case .success(let digest)?:
            return .ok("registry", "\(ref.registryHost) answers: \(ref) is \(digest.prefix(19))…")
        case .failure(let error)?:
            let message = (error as? OCIError)?.message ?? "\(error)"
            return .fail("registry", message, fix: "check the network and [base] image; log in with docker login \(ref.domain) if it is private; list a plain-HTTP registry in DEVENV_INSECURE_REGISTRIES")
        case nil:
            return .fail("registry", "\(ref.registryHost) did not answer within \(Self.registryTimeout.components.seconds) s", fix: "check the network, a proxy or firewall between you and \(ref.registryHost)")
        }
    }

    /// What went wrong in a UserNamespaceProcess run: its own failures have fixed statuses.
    public static func helperFailure(_ result: Outcome) -> String {
        let output = String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\n", with: "; ")
        let reason = switch result.status {
        case 126: "could not become root inside (setresuid/setresgid/setgroups refused)"
        case 127: "could not be executed"
        default: "exited with \(result.status)"
        }
        return output.isEmpty ? reason : "\(reason): \(output)"
    }
}
#endif
