/// One build step (an apt or pip install, a setup script) as `devenv build` runs it: root inside
/// over the lower layers, with what it writes to the root filesystem kept in `upperDirectory`,
/// the new layer. `spec()` turns it into a `SandboxSpec`. Unlike a session, nothing from the
/// user's side comes in that could end up in the layer: no home, no generated /etc/passwd or
/// /etc/group (maintainer scripts that run adduser would copy them into the layer), the
/// environment exactly as the caller gives it. Its network is a private one with outbound access:
/// the internet, not the host's loopback.
public struct BuildSession: Sendable {
    public var layersDirectory: String
    /// Layer directory names in `layersDirectory`, bottom first.
    public var layers: [String]
    /// Empty sibling host directories (see `SandboxSpec.upperDirectory`); with a `shiftsHostIDs`
    /// identity their parent is mounted idmapped.
    public var upperDirectory: String
    public var workDirectory: String
    public var command: [String]
    /// "NAME=value" entries, complete: nothing is added.
    public var environment: [String]
    /// From `IDMapping.forBuild`: root inside.
    public var identity: IDMapping
    /// The host's /etc/resolv.conf and /etc/hosts: downloads resolve names as on the host (through
    /// the private network's resolver address).
    public var hostResolvConf: String?
    public var hostHosts: String?
    /// Host paths the step reads (the project, say); mounted read-only whatever `readOnly` says.
    public var readOnlyBinds: [SandboxSpec.Bind] = []
    /// nil: devenv's own (see `SandboxSpec.standardInput`).
    public var standardInput: Int32?
    public var standardOutput: Int32?
    public var standardError: Int32?

    public static let hostname = "devenv-build"

    public init(layersDirectory: String, layers: [String], upperDirectory: String, workDirectory: String,
                command: [String], environment: [String], identity: IDMapping) {
        self.layersDirectory = layersDirectory
        self.layers = layers
        self.upperDirectory = upperDirectory
        self.workDirectory = workDirectory
        self.command = command
        self.environment = environment
        self.identity = identity
    }

    public func spec() -> SandboxSpec {
        var spec = SandboxSpec(command: command, environment: environment, workingDirectory: "/", hostname: Self.hostname,
                               layersDirectory: layersDirectory, layers: layers, identity: identity)
        spec.upperDirectory = upperDirectory
        spec.workDirectory = workDirectory
        spec.binds = readOnlyBinds.map { SandboxSpec.Bind(source: $0.source, target: $0.target, readOnly: true) }
        // Scratch space of the step's own, so none of it ends up in the layer.
        spec.tmpfs = [
            SandboxSpec.Tmpfs(target: "/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/var/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/run", options: "mode=0755"),
        ]
        // Generated files sit in a lower layer below the upper one: they reach the new layer
        // only if the step changes them.
        spec.files = [SandboxSpec.File(path: "/etc/hosts", contents: EnvironmentSession.hosts(from: hostHosts, hostname: Self.hostname))]
        spec.files.append(SandboxSpec.File(path: "/etc/resolv.conf", contents: OutboundNetwork.resolvConf(from: hostResolvConf)))
        // Downloads, but not the developer's local services: a cloned project's steps run unasked.
        spec.network = .private
        spec.seccomp = .default
        spec.keepsCapabilities = true
        spec.standardInput = standardInput
        spec.standardOutput = standardOutput
        spec.standardError = standardError
        return spec
    }
}
