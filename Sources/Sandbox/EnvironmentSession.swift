import CLaunch
import Foundation

/// A command or shell in a development environment, as `devenv run` and `devenv enter` ask for
/// it: which image, which project, who is asking. `spec()` turns it into a `SandboxSpec` with
/// the policy of docs/architecture.md, "The sandbox": the repository at its own path,
/// read-write; a per-project $HOME; the user as themself (or root with `--root`, over a
/// throwaway writable layer); the image's environment plus the caller's terminal and locale
/// settings; a prompt naming the environment.
public struct EnvironmentSession: Sendable {
    /// The environment's name: the prompt shows it and it is the hostname.
    public var name: String
    public var layersDirectory: String
    /// Layer directory names in `layersDirectory`, bottom first.
    public var layers: [String]
    /// The image config's `Env`.
    public var imageEnvironment: [String]
    public var callerEnvironment: [String: String]
    /// Directories before everything else on PATH (an environment's venv): the environment's own
    /// tools must win over same-named ones the caller's PATH would find first.
    public var pathPrefix: [String] = []
    /// The repository (or, outside one, the directory devenv was started in): bound read-write at
    /// the same path.
    public var projectDirectory: String
    /// The caller's working directory; kept inside when it is in the project.
    public var workingDirectory: String
    public var user: HostUser
    /// The host directory that is $HOME inside, persistent per project.
    public var homeDirectory: String
    public var identity: IDMapping
    /// Root inside, over a writable layer that is thrown away at exit.
    public var asRoot = false
    /// nil runs the shell.
    public var command: [String]?
    /// The shell's path inside (`[shell] command`); nil: bash if the image has it, else sh.
    public var shell: String?
    /// `[shell] hostname`; nil: derived from the name.
    public var hostname: String?
    /// Where the project appears inside (`[shell] workdir`); nil: at its own host path.
    public var projectMountPoint: String?
    /// Bound over themselves inside the project's bind (`RepositoryProtection`).
    public var protectedPaths: [ProtectedPath] = []
    /// The user's git configuration, bound read-only where git inside looks for it.
    public var gitConfiguration: HostGitConfiguration?
    /// The host's GnuPG agent: its extra socket as `~/.gnupg/S.gpg-agent` inside, where gpg looks
    /// (there is no /run/user inside), and its public keyring read-only beside it. The caller
    /// makes `~/.gnupg` (mode 0700, as gpg wants it) in the home directory.
    public var gnupg: HostGnuPG?
    /// The host's ssh agent socket, bound at `sshAgentPath` inside ($SSH_AUTH_SOCK there).
    public var sshAgentSocket: String?
    static let sshAgentPath = "/run/devenv/ssh-agent"
    public var network: SandboxSpec.Network = .host
    /// With a private network: published on the host's 127.0.0.1.
    public var ports: [SandboxSpec.PublishedPort] = []
    public var seccomp: SeccompProfile? = .default
    /// The host's /etc/resolv.conf and /etc/hosts: with the host's network or a private one, names resolve as on the host.
    public var hostResolvConf: String?
    public var hostHosts: String?

    /// Variables taken from the caller when set; everything else comes from the image.
    public static let passedThrough: [String] = {
        // The launcher's list (claunch_passed_variable), so both sides pass and name by the same.
        var names: [String] = []
        while let name = claunch_passed_variable(names.count) { names.append(String(cString: name)) }
        return names
    }()
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    static let bashrc = "/etc/devenv/bashrc"
    static let shrc = "/etc/devenv/shrc"
    static let gitSystemConfigurationPath = "/etc/devenv/gitconfig"

    public init(name: String, layersDirectory: String, layers: [String], imageEnvironment: [String],
                callerEnvironment: [String: String], projectDirectory: String, workingDirectory: String,
                user: HostUser, homeDirectory: String, identity: IDMapping) {
        self.name = name
        self.layersDirectory = layersDirectory
        self.layers = layers
        self.imageEnvironment = imageEnvironment
        self.callerEnvironment = callerEnvironment
        self.projectDirectory = projectDirectory
        self.workingDirectory = workingDirectory
        self.user = user
        self.homeDirectory = homeDirectory
        self.identity = identity
    }

    /// Who the command is inside.
    var insideName: String { asRoot ? "root" : user.name }
    var insideHome: String { asRoot ? "/root" : user.home }

    public func spec() -> SandboxSpec {
        let stack = LayerStack(bottomFirst: layers.map { layersDirectory + "/" + $0 })
        let shell = self.shell ?? ["/bin/bash", "/usr/bin/bash"].first { stack.isExecutable($0) } ?? "/bin/sh"
        let inProject = workingDirectory == projectDirectory || workingDirectory.hasPrefix(projectDirectory + "/")
        let mountPoint = projectMountPoint ?? projectDirectory

        var spec = SandboxSpec(
            command: command ?? (shell.hasSuffix("bash") ? [shell, "--rcfile", Self.bashrc] : [shell]),
            environment: environment(shell: shell),
            workingDirectory: inProject ? mountPoint + workingDirectory.dropFirst(projectDirectory.count) : mountPoint,
            hostname: insideHostname,
            layersDirectory: layersDirectory, layers: layers, identity: identity)
        spec.writableRoot = asRoot
        spec.binds = [SandboxSpec.Bind(source: projectDirectory, target: mountPoint)]
            + protectedPaths.map {
                SandboxSpec.Bind(source: projectDirectory + "/" + $0.path, target: mountPoint + "/" + $0.path, readOnly: $0.readOnly,
                                 symlink: $0.symlink)
            }
        // With --root, /root is the image's, in the throwaway layer. A project that is the home
        // directory itself stays visible rather than hidden under the per-project home.
        if !asRoot, insideHome != mountPoint {
            spec.binds.append(SandboxSpec.Bind(source: homeDirectory, target: insideHome))
        }
        if let sshAgentSocket { spec.binds.append(SandboxSpec.Bind(source: sshAgentSocket, target: Self.sshAgentPath)) }
        if let gnupg, !asRoot {
            spec.binds.append(SandboxSpec.Bind(source: gnupg.socket, target: insideHome + "/.gnupg/S.gpg-agent"))
            for file in gnupg.publicFiles {
                spec.binds.append(SandboxSpec.Bind(source: file, target: insideHome + "/.gnupg/" + (file as NSString).lastPathComponent, readOnly: true))
            }
        }
        for file in gitConfiguration?.files ?? [] {
            spec.binds.append(SandboxSpec.Bind(source: file.source, target: file.inHome.map { insideHome + "/" + $0 } ?? file.source, readOnly: true))
        }
        spec.tmpfs = [
            SandboxSpec.Tmpfs(target: "/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/var/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/run", options: "mode=0755,uid=\(identity.uid),gid=\(identity.gid)"),
        ]
        spec.files = files(stack: stack, shell: shell)
        spec.seccomp = seccomp
        spec.network = network
        spec.ports = network == .private ? ports : []
        spec.foreground = command == nil
        return spec
    }

    func environment(shell: String) -> [String] {
        var values: [(String, String)] = imageEnvironment.compactMap { entry in
            guard let equals = entry.firstIndex(of: "=") else { return nil }
            return (String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
        func set(_ name: String, _ value: String) {
            if let index = values.firstIndex(where: { $0.0 == name }) { values[index].1 = value } else { values.append((name, value)) }
        }
        // The caller's PATH first, so their habits work; the image's entries after it, so its tools are found.
        let imagePath = values.first { $0.0 == "PATH" }?.1 ?? Self.defaultPath
        var seen = Set<Substring>()
        let path = (pathPrefix + [callerEnvironment["PATH"] ?? "", imagePath]).joined(separator: ":").split(separator: ":").filter { seen.insert($0).inserted }
        set("PATH", path.joined(separator: ":"))
        for name in Self.passedThrough {
            if let value = callerEnvironment[name] { set(name, value) }
        }
        set("HOME", insideHome)
        set("USER", insideName)
        set("LOGNAME", insideName)
        set("SHELL", shell)
        set("DEVENV_NAME", name)
        // POSIX shells read $ENV when interactive: sh gets the prompt from there.
        set("ENV", Self.shrc)
        set("GIT_CONFIG_SYSTEM", Self.gitSystemConfigurationPath)
        if sshAgentSocket != nil { set("SSH_AUTH_SOCK", Self.sshAgentPath) }
        return values.map { "\($0.0)=\($0.1)" }
    }

    func files(stack: LayerStack, shell: String) -> [SandboxSpec.File] {
        let imagePasswd = stack.contents(of: "/etc/passwd").map { String(decoding: $0, as: UTF8.self) }
        let imageGroup = stack.contents(of: "/etc/group").map { String(decoding: $0, as: UTF8.self) }
        let groupName = asRoot ? "root" : user.groupName
        let hostname = insideHostname
        let hosts = Self.hosts(from: network == .none ? nil : hostHosts, hostname: hostname)
        var files = [
            SandboxSpec.File(path: "/etc/passwd", contents: UserDatabase.passwd(
                image: imagePasswd, name: insideName, uid: identity.uid, gid: identity.gid, home: insideHome, shell: shell)),
            SandboxSpec.File(path: "/etc/group", contents: UserDatabase.group(image: imageGroup, name: groupName, gid: identity.gid)),
            SandboxSpec.File(path: "/etc/hostname", contents: hostname + "\n"),
            SandboxSpec.File(path: "/etc/hosts", contents: hosts),
            SandboxSpec.File(path: Self.bashrc, contents: """
                # Written by devenv for each session: the user's ~/.bashrc, then the environment's name in the prompt.
                [ -f ~/.bashrc ] && . ~/.bashrc
                PS1="(${DEVENV_NAME}) ${PS1:-\\u@\\h:\\w\\$ }"
                # History stays with the project's home, written as each command runs: two shells keep both.
                shopt -s histappend
                PROMPT_COMMAND="history -a${PROMPT_COMMAND:+; $PROMPT_COMMAND}"

                """),
            SandboxSpec.File(path: Self.shrc, contents: """
                # Written by devenv for each session: the environment's name in the prompt.
                PS1="(${DEVENV_NAME}) \\$ "

                """),
            SandboxSpec.File(path: Self.gitSystemConfigurationPath, contents: Self.gitSystemConfiguration(repository: projectMountPoint ?? projectDirectory)),
        ]
        switch network {
        case .host: if let hostResolvConf { files.append(SandboxSpec.File(path: "/etc/resolv.conf", contents: hostResolvConf)) }
        case .private: files.append(SandboxSpec.File(path: "/etc/resolv.conf", contents: OutboundNetwork.resolvConf(from: hostResolvConf)))
        case .none: break
        }
        return files
    }

    var insideHostname: String { hostname ?? Self.hostname(for: name) }

    /// Git's system configuration inside ($GIT_CONFIG_SYSTEM): the image's own, and the repository
    /// as a safe directory, since inside it may belong to another id than the one running git
    /// (devenv run as root in a user's repository).
    static func gitSystemConfiguration(repository: String) -> String {
        var quoted = ""
        for character in repository {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            default: quoted.append(character)
            }
        }
        return """
            # Written by devenv for each session: the image's system configuration, and the repository as a safe directory.
            [include]
            \tpath = /etc/gitconfig
            [safe]
            \tdirectory = "\(quoted)"

            """
    }

    /// /etc/hosts: the host's entries (or just localhost's), and the sandbox's own name.
    static func hosts(from hostHosts: String?, hostname: String) -> String {
        var hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        if let hostHosts { hosts = hostHosts.hasSuffix("\n") || hostHosts.isEmpty ? hostHosts : hostHosts + "\n" }
        return hosts + "127.0.1.1\t\(hostname)\n"
    }

    /// A valid hostname from the environment's name: lowercase letters, digits and inner '-', at most 63.
    static func hostname(for name: String) -> String {
        let mapped = String(name.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
        let trimmed = mapped.prefix(63).trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return trimmed.isEmpty ? "devenv" : trimmed
    }
}
