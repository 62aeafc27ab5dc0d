import Foundation
import Testing

/// `devenv enter` and `devenv run` on a terminal, driven through a pseudo-terminal by
/// Fixtures/sandbox-terminal.py (pexpect).
extension SandboxRunTests {
    func terminal(_ scenario: String, _ arguments: [String]) throws -> Shell.Result {
        let store = try SandboxScope.current().store
        let command = Array(arguments.prefix(1)) + ["-q", "--store", store] + arguments.dropFirst()
        return try Shell.run("/usr/bin/env", ["-C", project.path, "python3", SandboxScope.fixture("sandbox-terminal.py"), scenario,
                                              try TestEnvironment.binary()] + command)
    }

    @Test func enterGivesAShellWithJobControl() throws {
        let result = try terminal("job-control", ["enter", "--image", try Self.debian()])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.hasSuffix("PASS\n"))
    }

    @Test func enterWithoutBashRunsShWithThePrompt() throws {
        let image = try SandboxTestImage(in: project)
        let reference = try image.push(name: "busybox")
        let result = try terminal("prompt", ["enter", "--image", reference])
        #expect(result.status == 0, "\(result.output)")
        let name = URL(fileURLWithPath: project.path).lastPathComponent
        #expect(result.stdout.contains("(\(name)) $ "), "\(result.stdout)")
    }

    @Test func ctrlCEndsARunCommandWithStatus130() throws {
        let result = try terminal("interrupt", ["run", "--image", try Self.debian(), "--", "sh", "-c", "echo started; sleep 100"])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func ctrlZStopsARunCommandAsAJobOfTheOuterShell() throws {
        let result = try terminal("suspend", ["run", "--image", try Self.debian()])
        #expect(result.status == 0, "\(result.output)")
    }

    @Test func leavingEnterGivesTheTerminalBackToTheOuterShell() throws {
        let result = try terminal("nested", ["enter", "--image", try Self.debian()])
        #expect(result.status == 0, "\(result.output)")
    }
}
