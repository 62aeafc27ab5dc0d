@testable import Sandbox
import Testing

@Suite(.tags(.rootless)) struct BuildSessionTests {
    let identity = IDMapping.forBuild(uid: 1000, gid: 1000, asRoot: false, subuids: [SubordinateRange(start: 100_000, count: 65536)],
                                      subgids: [SubordinateRange(start: 100_000, count: 65536)], helpersAvailable: true)

    func session(_ configure: (inout BuildSession) -> Void = { _ in }) -> BuildSession {
        var session = BuildSession(
            layersDirectory: "/store/layers", layers: ["base", "apt"], upperDirectory: "/store/tmp/build-1/upper",
            workDirectory: "/store/tmp/build-1/work", command: ["/bin/sh", "-c", "apt-get install -y jq"],
            environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive"], identity: identity)
        configure(&session)
        return session
    }

    @Test func aStepRunsAsRootWithCapabilitiesOverAKeptUpperDirectory() {
        let spec = session().spec()
        #expect(spec.command == ["/bin/sh", "-c", "apt-get install -y jq"])
        #expect(spec.environment == ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive"])
        #expect(spec.layersDirectory == "/store/layers" && spec.layers == ["base", "apt"])
        #expect(spec.upperDirectory == "/store/tmp/build-1/upper" && spec.workDirectory == "/store/tmp/build-1/work")
        #expect(!spec.writableRoot)
        #expect(spec.identity == identity && spec.identity.uid == 0)
        #expect(spec.keepsCapabilities)
        #expect(spec.workingDirectory == "/" && spec.hostname == "devenv-build")
        #expect(spec.network == .private && spec.seccomp == .default && !spec.foreground)
        #expect(spec.tmpfs == [
            SandboxSpec.Tmpfs(target: "/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/var/tmp", options: "mode=1777"),
            SandboxSpec.Tmpfs(target: "/run", options: "mode=0755"),
        ])
        #expect(spec.binds.isEmpty)
        #expect(spec.standardInput == nil && spec.standardOutput == nil && spec.standardError == nil)
        #expect(spec.problem == nil)
    }

    @Test func onlyNameResolutionFilesAreGeneratedNeverTheUserDatabase() {
        let spec = session {
            $0.hostResolvConf = "# by the host\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0 trust-ad\n"
            $0.hostHosts = "10.0.0.2 mirror"
        }.spec()
        #expect(spec.files.map(\.path).sorted() == ["/etc/hosts", "/etc/resolv.conf"])
        // The private network's resolver forwards to the host's, wherever that listens.
        #expect(spec.files.first { $0.path == "/etc/resolv.conf" }?.contents == "search corp.example\noptions edns0 trust-ad\nnameserver 10.0.2.3\n")
        #expect(spec.files.first { $0.path == "/etc/hosts" }?.contents == "10.0.0.2 mirror\n127.0.1.1\tdevenv-build\n")

        let bare = session().spec()
        #expect(bare.files.map(\.path) == ["/etc/hosts", "/etc/resolv.conf"])
        #expect(bare.files.last?.contents == "nameserver 10.0.2.3\n")
        #expect(bare.files.first?.contents.hasPrefix("127.0.0.1\tlocalhost\n") == true)
    }

    @Test func bindsAreReadOnlyAndTheOutputGoesWhereTheCallerSays() {
        let spec = session {
            $0.readOnlyBinds = [SandboxSpec.Bind(source: "/home/alice/app", target: "/src", readOnly: false)]
            $0.standardInput = 5
            $0.standardOutput = 7
            $0.standardError = 7
        }.spec()
        #expect(spec.binds == [SandboxSpec.Bind(source: "/home/alice/app", target: "/src", readOnly: true)])
        #expect(spec.standardInput == 5 && spec.standardOutput == 7 && spec.standardError == 7)
    }

    @Test func specsTheSpawnCannotBuildAreRefused() {
        var spec = session().spec()
        spec.workDirectory = nil
        #expect(spec.problem?.contains("work directory") == true)
        spec = session().spec()
        spec.writableRoot = true
        #expect(spec.problem?.contains("exclude each other") == true)
        spec = session { $0.upperDirectory = "/store/tmp/a,b/upper" }.spec()
        #expect(spec.problem?.contains("overlayfs") == true)
        spec = session { $0.workDirectory = "work" }.spec()
        #expect(spec.problem == "\"work\" is not an absolute path")
        spec = session().spec()
        spec.identity.uid = 1000
        #expect(spec.problem == "only root inside can keep capabilities")
    }
}
