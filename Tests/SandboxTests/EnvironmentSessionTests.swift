import Foundation
@testable import Sandbox
import TestSupport
import Testing

@Suite(.tags(.rootless)) final class EnvironmentSessionTests {
    let scratch: TemporaryDirectory
    let layers: String
    let user = HostUser(name: "alice", uid: 1000, gid: 1000, groupName: "staff", home: "/home/alice")

    init() throws {
        scratch = try TemporaryDirectory("session")
        layers = scratch.path
        try FileManager.default.createDirectory(atPath: layers + "/l1/etc", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: layers + "/l1/bin", withIntermediateDirectories: true)
        try Data("root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/old:/bin/false\n".utf8).write(to: URL(fileURLWithPath: layers + "/l1/etc/passwd"))
        try Data("root:x:0:\nusers:x:1000:\n".utf8).write(to: URL(fileURLWithPath: layers + "/l1/etc/group"))
        _ = FileManager.default.createFile(atPath: layers + "/l1/bin/bash", contents: Data(), attributes: [.posixPermissions: 0o755])
    }

    func session(_ configure: (inout EnvironmentSession) -> Void = { _ in }) -> EnvironmentSession {
        var session = EnvironmentSession(
            name: "My App", layersDirectory: layers, layers: ["l1"],
            imageEnvironment: ["PATH=/opt/tool/bin:/usr/bin:/bin", "LANG=C", "TOOL_HOME=/opt/tool"],
            callerEnvironment: ["PATH": "/home/alice/bin:/usr/bin", "TERM": "xterm-256color", "SECRET": "x", "LANG": "de_DE.UTF-8"],
            projectDirectory: "/home/alice/src/app", workingDirectory: "/home/alice/src/app/lib", user: user,
            homeDirectory: "/store/envs/app/home",
            identity: IDMapping.forUser(uid: 1000, gid: 1000, asRoot: false, subuids: [], subgids: [], helpersAvailable: false))
        configure(&session)
        return session
    }

    func file(_ spec: SandboxSpec, _ path: String) -> String? { spec.files.first { $0.path == path }?.contents }

    @Test func theProjectAndAPerProjectHomeAreBoundAndTheWorkingDirectoryKept() {
        let spec = session().spec()
        #expect(spec.binds == [
            SandboxSpec.Bind(source: "/home/alice/src/app", target: "/home/alice/src/app"),
            SandboxSpec.Bind(source: "/store/envs/app/home", target: "/home/alice"),
        ])
        // The home is mounted first, the project inside it after.
        #expect(spec.orderedBinds.map(\.target) == ["/home/alice", "/home/alice/src/app"])
        #expect(spec.workingDirectory == "/home/alice/src/app/lib")
        #expect(session { $0.workingDirectory = "/elsewhere" }.spec().workingDirectory == "/home/alice/src/app")
        #expect(spec.tmpfs.map(\.target) == ["/tmp", "/var/tmp", "/run"])
        #expect(!spec.writableRoot)
        #expect(spec.identity.uid == 1000)
    }

    @Test func theEnvironmentIsTheImagesWithTheCallersTerminalSettingsAndPath() {
        let environment = session().spec().environment
        #expect(environment.contains("PATH=/home/alice/bin:/usr/bin:/opt/tool/bin:/bin"))
        #expect(environment.contains("TERM=xterm-256color"))
        #expect(environment.contains("LANG=de_DE.UTF-8"))
        #expect(environment.contains("TOOL_HOME=/opt/tool"))
        #expect(environment.contains("HOME=/home/alice"))
        #expect(environment.contains("USER=alice"))
        #expect(environment.contains("DEVENV_NAME=My App"))
        #expect(!environment.contains { $0.hasPrefix("SECRET=") })
    }

    @Test func theUserReplacesImageEntriesOfTheSameNameOrId() throws {
        let spec = session().spec()
        let passwd = try #require(file(spec, "/etc/passwd"))
        #expect(passwd == "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:alice:/home/alice:/bin/bash\n")
        #expect(file(spec, "/etc/group") == "root:x:0:\nstaff:x:1000:\n")
        #expect(file(spec, "/etc/hostname") == "my-app\n")
        #expect(spec.hostname == "my-app")
    }

    @Test func enterRunsBashWithThePromptRcAndTheTerminal() {
        let spec = session().spec()
        #expect(spec.command == ["/bin/bash", "--rcfile", "/etc/devenv/bashrc"])
        #expect(spec.foreground)
        #expect(file(spec, "/etc/devenv/bashrc")?.contains("PS1=\"(${DEVENV_NAME}) ") == true)
        let run = session { $0.command = ["make", "test"] }.spec()
        #expect(run.command == ["make", "test"])
        #expect(!run.foreground)
    }

    @Test func withoutBashTheShellIsSh() throws {
        try FileManager.default.removeItem(atPath: layers + "/l1/bin/bash")
        let spec = session().spec()
        #expect(spec.command == ["/bin/sh"])
        #expect(spec.environment.contains("ENV=/etc/devenv/shrc"))
        #expect(file(spec, "/etc/passwd")?.contains("alice:x:1000:1000:alice:/home/alice:/bin/sh") == true)
    }

    @Test func asRootTheRootIsWritableAndHomeIsTheImages() {
        let spec = session {
            $0.asRoot = true
            $0.identity = IDMapping.forUser(uid: 1000, gid: 1000, asRoot: true, subuids: [], subgids: [], helpersAvailable: false)
        }.spec()
        #expect(spec.writableRoot)
        #expect(spec.identity.uid == 0)
        #expect(spec.binds == [SandboxSpec.Bind(source: "/home/alice/src/app", target: "/home/alice/src/app")])
        #expect(spec.environment.contains("HOME=/root"))
        #expect(spec.environment.contains("USER=root"))
    }

    @Test func hostNetworkFilesComeAlongWithTheHostOrAPrivateNetwork() {
        let host = session {
            $0.hostResolvConf = "nameserver 10.0.0.1\n"
            $0.hostHosts = "10.0.0.2 registry"
        }.spec()
        #expect(file(host, "/etc/resolv.conf") == "nameserver 10.0.0.1\n")
        #expect(file(host, "/etc/hosts") == "10.0.0.2 registry\n127.0.1.1\tmy-app\n")
        let none = session {
            $0.network = .none
            $0.hostResolvConf = "nameserver 10.0.0.1\n"
        }.spec()
        #expect(none.network == .none)
        #expect(file(none, "/etc/resolv.conf") == nil)
        #expect(file(none, "/etc/hosts")?.hasPrefix("127.0.0.1\tlocalhost\n") == true)
        let outbound = session {
            $0.network = .private
            $0.hostResolvConf = "nameserver 127.0.0.53\nsearch corp.example\n"
            $0.hostHosts = "10.0.0.2 registry"
        }.spec()
        #expect(outbound.network == .private)
        #expect(file(outbound, "/etc/resolv.conf") == "search corp.example\nnameserver 10.0.2.3\n")
        #expect(file(outbound, "/etc/hosts") == "10.0.0.2 registry\n127.0.1.1\tmy-app\n")
    }

    @Test func aProjectThatIsTheHomeDirectoryIsNotHidden() {
        let spec = session {
            $0.projectDirectory = "/home/alice"
            $0.workingDirectory = "/home/alice"
        }.spec()
        #expect(spec.binds == [SandboxSpec.Bind(source: "/home/alice", target: "/home/alice")])
    }

    @Test func specsTheSpawnCannotUseAreRefused() {
        var spec = session().spec()
        #expect(spec.problem == nil)
        spec.layers = ["a,b"]
        #expect(spec.problem?.contains("overlayfs") == true)
        spec.layers = []
        #expect(spec.problem == "the image has no layers")
        spec = session().spec()
        spec.binds.append(SandboxSpec.Bind(source: "relative", target: "/x"))
        #expect(spec.problem?.contains("not an absolute path") == true)
    }

    @Test func hostnamesAreValid() {
        #expect(EnvironmentSession.hostname(for: "Web_App.2") == "web-app-2")
        #expect(EnvironmentSession.hostname(for: "--") == "devenv")
        #expect(EnvironmentSession.hostname(for: String(repeating: "a", count: 80)).count == 63)
    }
}
