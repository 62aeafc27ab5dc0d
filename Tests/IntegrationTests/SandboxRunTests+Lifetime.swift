import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Signals sent to devenv reach the command, and the sandbox never outlives devenv.
extension SandboxRunTests {
    /// Starts `devenv run -- sh -c SCRIPT` in the background; SCRIPT signals readiness by creating
    /// the file `ready` in the project.
    func startInBackground(_ script: String) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["run", "-q", "--store", try SandboxScope.current().store, "--image", try Self.debian(), "--", "sh", "-c", script]
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        try waitFor("the command to start") { FileManager.default.fileExists(atPath: project.path + "/ready") }
        return process
    }

    func waitFor(_ what: String, _ condition: () throws -> Bool) throws {
        for _ in 0..<300 {
            if try condition() { return }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func signalsSentToDevenvReachTheCommand() throws {
        let process = try startInBackground("trap 'echo term > got; exit 3' TERM; touch ready; while :; do sleep 0.1; done")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 3)
        #expect(try String(contentsOfFile: project.path + "/got", encoding: .utf8) == "term\n")
    }

    @Test func theSandboxEndsWhenDevenvIsKilled() throws {
        let marker = "\(Int.random(in: 100_000...999_999)).5"
        let process = try startInBackground("touch ready; exec sleep \(marker)")
        func sleeperRuns() -> Bool {
            let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            return pids.contains { pid in
                guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
                return String(decoding: cmdline, as: UTF8.self).contains(marker)
            }
        }
        #expect(sleeperRuns())
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try waitFor("the sandbox to end") { !sleeperRuns() }
    }
}
