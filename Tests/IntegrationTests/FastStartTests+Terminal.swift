import Foundation
import Testing

/// A fast start on a terminal, driven through a pseudo-terminal by Fixtures/sandbox-terminal.py:
/// the launcher hands the terminal to the sandbox and takes it back itself.
extension FastStartTests {
    /// The driver runs devenv with TERM=xterm and python3's PATH: the record must be for those.
    static func driverEnvironment() throws -> [String: String] { ["TERM": "xterm", "PATH": try pythonPath()] }

    /// `sandbox-terminal.py SCENARIO devenv VERB -q --store STORE --image DEBIAN ARGUMENTS…`, traced,
    /// started with the signals `blocked` (by default none, as from a login shell) blocked.
    func terminal(_ scenario: String, _ verb: String, _ arguments: [String] = [], blocked: [Int32] = [],
                  binary: Binary = .launcher) throws -> Shell.Result {
        let driver = [SandboxScope.fixture("sandbox-terminal.py"), scenario, try Self.executable(binary), verb, "-q",
                      "--store", try store, "--image", try Self.debian()] + arguments
        return try Shell.run("/usr/bin/env", ["-C", project.path] + Self.withSignalMask(blocked, "python3", driver),
                             environment: ["DEVENV_TRACE_START": "1"])
    }

    @Test func enterGivesAShellWithJobControlOnAFastStart() throws {
        try warm(enter: true, environment: try Self.driverEnvironment())
        // The prompt, a command's output, Ctrl-C stopping `sleep`, Ctrl-Z and fg, a resize, `exit 7` → 7.
        let result = try terminal("job-control", "enter")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.hasSuffix("PASS\n"), "\(result.stdout)")
        #expect(result.stdout.hasPrefix(Start.fastPrefix), "not a fast start: \(result.stdout.prefix(200))")
    }

    @Test func leavingAFastEnterGivesTheTerminalBackToTheOuterShell() throws {
        try warm(enter: true, environment: try Self.driverEnvironment())
        let result = try terminal("nested", "enter")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains(Start.fastPrefix), "not a fast start: \(result.stdout.prefix(300))")
    }

    @Test func ctrlCEndsAFastRunWithStatus130() throws {
        try warm(environment: try Self.driverEnvironment())
        let result = try terminal("interrupt", "run", ["--", "sh", "-c", "echo started; sleep 100"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.hasPrefix(Start.fastPrefix), "not a fast start: \(result.stdout.prefix(200))")
    }

    /// With SIGTSTP blocked by whoever started the outer shell (a Swift task's Process does:
    /// bash passes its inherited mask on to its jobs), as well as without.
    @Test(arguments: [[], [SIGTSTP]] as [[Int32]])
    func ctrlZStopsAFastRunAsAJobOfTheOuterShell(blocked: [Int32]) throws {
        try warm(environment: try Self.driverEnvironment())
        let full = try terminal("suspend", "run", blocked: blocked, binary: .core)
        #expect(full.status == 0, "devenv-core: \(full.output)")
        let result = try terminal("suspend", "run", blocked: blocked)
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains(Start.fastPrefix), "not a fast start: \(result.stdout.prefix(300))")
    }
}
