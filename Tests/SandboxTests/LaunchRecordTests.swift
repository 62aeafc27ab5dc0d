import Foundation
@testable import Sandbox
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The launch record's writer: what it accepts, and when it refuses to leave a record that could
/// describe inputs it did not read. (Reading records back and starting from them is the
/// launcher's, tested end to end in IntegrationTests/FastStartTests.)
final class LaunchRecordTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("launch-record-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

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
