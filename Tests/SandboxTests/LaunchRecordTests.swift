import Foundation
@testable import Sandbox
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The launch record's writer: what it accepts, and when it refuses to leave a record that could
/// describe inputs it did not read. (Reading records back and starting from them is the
/// launcher's, tested end to end in IntegrationTests/FastStartTests.)
@Suite(.tags(.rootless)) final class LaunchRecordTests {
    let scratch: TemporaryDirectory
    let directory: String

    init() throws {
        scratch = try TemporaryDirectory("launch-record")
        directory = scratch.path
    }

    static let key = "devenv-launch 1\nrun\n/store\n/project\n\nroot=0 network= quiet=1"

    func spec() -> SandboxSpec {
        var spec = SandboxSpec(command: ["/bin/true"], environment: ["PATH=/bin"], workingDirectory: "/project",
                               hostname: "test", layersDirectory: directory, layers: ["base"],
                               identity: IDMapping.forInvoker(asRoot: false))
        spec.binds = [SandboxSpec.Bind(source: directory, target: "/project")]
        return spec
    }

    func record(checking path: String, notAfter: timespec) -> LaunchRecord {
        var record = LaunchRecord(path: directory + "/launch/record", key: Self.key, corePath: "/core",
                                  projectDirectory: "/project", mountPoint: "/project", notAfter: notAfter)
        record.checks = [.content(path), .identity(directory), .directory(directory), .content(directory + "/absent")]
        record.variables = ["PATH", "DEVENV_SURELY_UNSET"]
        return record
    }

    func write(_ record: LaunchRecord, spec: SandboxSpec) throws -> Bool {
        let arena = CArena()
        let config = Sandbox.makeConfig(spec, filter: try spec.seccomp?.compile(), foreground: false, arena: arena)
        return try record.write(config: config, spec: spec, arena: arena)
    }

    @Test func theLaunchersRequestIsReadFromItsVariables() {
        let asked = LaunchRecord.requested(environment: ["DEVENV_LAUNCH_RECORD": "/store/envs/.launch/0123", "DEVENV_LAUNCH_KEY": Self.key])
        #expect(asked?.path == "/store/envs/.launch/0123")
        #expect(asked?.fields == ["run", "/store", "/project", "", "root=0 network= quiet=1"])
        #expect(LaunchRecord.requested(environment: ["DEVENV_LAUNCH_RECORD": "relative", "DEVENV_LAUNCH_KEY": Self.key]) == nil)
        #expect(LaunchRecord.requested(environment: ["DEVENV_LAUNCH_RECORD": "/r", "DEVENV_LAUNCH_KEY": "devenv-launch 1\nrun"]) == nil)
        #expect(LaunchRecord.requested(environment: [:]) == nil)
    }

    @Test func devenvCoreMakesTheKeysTheLauncherAsksFor() throws {
        func fields(_ key: String) -> [String]? {
            LaunchRecord.requested(environment: ["DEVENV_LAUNCH_RECORD": "/r", "DEVENV_LAUNCH_KEY": key])?.fields
        }
        let run = try #require(LaunchRecord.runKey(verb: "enter", store: "/store", project: "/project", image: "debian:12",
                                                   root: true, network: "none", quiet: false))
        #expect(fields(run) == ["enter", "/store", "/project", "debian:12", "root=1 network=none quiet=0"])
        let plain = try #require(LaunchRecord.runKey(verb: "run", store: "/store", project: "/project", image: nil, root: false,
                                                     network: nil, quiet: true))
        #expect(fields(plain) == ["run", "/store", "/project", "", "root=0 network= quiet=1"])
        let answer = try #require(LaunchRecord.answerKey(verb: "status", store: "/store", project: "/project", locked: false,
                                                         json: true, quiet: true))
        #expect(fields(answer) == ["status", "/store", "/project", "", "locked=0 json=1 quiet=1"])
        // The first line is the record format's version: a key of another version is another key.
        #expect(run.hasPrefix("devenv-launch ") && answer.prefix { $0 != "\n" } == run.prefix { $0 != "\n" })
        #expect(LaunchRecord.runKey(verb: "run", store: "/store", project: "/pro\nject", image: nil, root: false, network: nil,
                                    quiet: false) == nil)
        #expect(LaunchRecord.answerKey(verb: "build", store: "/store", project: "/" + String(repeating: "p", count: 20000),
                                       locked: true, json: false, quiet: false) == nil)
    }

    @Test func aRecordOfSettledInputsIsWrittenWholeInAPrivateDirectory() throws {
        let input = directory + "/devenv.toml"
        try Data("[base]\n".utf8).write(to: URL(fileURLWithPath: input))
        var later = timespec()
        clock_gettime(CLOCK_REALTIME, &later)
        later.tv_sec += 1
        #expect(try write(record(checking: input, notAfter: later), spec: spec()))

        let written = try Data(contentsOf: URL(fileURLWithPath: directory + "/launch/record"))
        #expect(written.prefix(4) == Data("DVLR".utf8))
        // The seccomp filter goes in compiled, so the launcher needs no libseccomp.
        #expect(written.count > 1000)
        var info = stat()
        #expect(stat(directory + "/launch", &info) == 0 && info.st_mode & 0o777 == 0o700)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/launch")
        #expect(leftovers == ["record"], "no temporary file stays behind")
    }

    @Test func anInputChangedAfterDevenvStartedMeansNoRecord() throws {
        let started = LaunchRecord.startingNow()
        let input = directory + "/devenv.lock"
        try Data("{}\n".utf8).write(to: URL(fileURLWithPath: input))
        #expect(try write(record(checking: input, notAfter: started), spec: spec()) == false)
        #expect(!FileManager.default.fileExists(atPath: directory + "/launch/record"))
    }

    @Test func aBuildStepsSandboxIsNeverRecorded() throws {
        var spec = spec()
        spec.upperDirectory = directory + "/upper"
        spec.workDirectory = directory + "/work"
        #expect(throws: SandboxError.self) { try self.write(self.record(checking: "/etc/passwd", notAfter: LaunchRecord.startingNow()), spec: spec) }
        #expect(!FileManager.default.fileExists(atPath: directory + "/launch/record"))
    }
}
