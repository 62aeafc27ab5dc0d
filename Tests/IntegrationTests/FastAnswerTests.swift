import Foundation
import Testing

/// Issue 16: `devenv build` and `devenv status` on an up-to-date project are answered by the C
/// launcher from the answer record the last full one left, without starting devenv-core, and
/// say exactly what devenv-core says; any change to what the answer rests on (an input file, the
/// lock, a layer) makes the next one a full run again. Run as root and rootless (scripts/test).
@Suite(.buildScope, .serialized, .tags(.rootless)) struct FastAnswerTests {
    static let answeredPrefix = "devenv: answered from "
    static let fullPrefix = "devenv: full start: "

    /// A traced call: (status, stdout, trace line, stderr without it).
    func traced(_ project: BuildProject, _ command: String, _ arguments: [String] = [], core: Bool = false) throws
        -> (status: Int32, stdout: String, trace: String, stderr: String) {
        var binary = try TestEnvironment.binary()
        if core { binary = URL(fileURLWithPath: binary).deletingLastPathComponent().appendingPathComponent("devenv-core").path }
        let result = try Shell.run(binary, [command, "-C", project.path, "--store", project.store] + arguments,
                                   environment: ["DEVENV_TRACE_START": "1"])
        var lines = result.stderr.components(separatedBy: "\n")
        var trace = ""
        if let first = lines.first, first.hasPrefix(Self.answeredPrefix) || first.hasPrefix(Self.fullPrefix) {
            trace = first
            lines.removeFirst()
        }
        return (result.status, result.stdout, trace, lines.joined(separator: "\n"))
    }

    func project() throws -> BuildProject {
        let project = try BuildProject("""
            name = "answered"

            [base]
            image = "\(try BuildProject.base())"

            [[setup]]
            name = "config"
            files = ["app.json"]
            run = "cp $DEVENV_FILES/app.json /opt/app.json"
            """, store: try BuildScope.current())
        try "{}\n".write(toFile: project.path + "/app.json", atomically: true, encoding: .utf8)
        return project
    }

    @Test func anUpToDateBuildIsAnsweredWithoutDevenvCoreAndSaysTheSame() throws {
        let project = try project()
        let built = try traced(project, "build")
        try #require(built.status == 0, "\(built)")
        #expect(built.trace.hasPrefix(Self.fullPrefix), "\(built)")
        // The first up-to-date build leaves the answer; the next one is answered.
        let full = try traced(project, "build")
        #expect(full.status == 0 && full.trace.hasPrefix(Self.fullPrefix), "\(full)")
        #expect(full.stderr.hasPrefix("answered is up to date (") && full.stderr.hasSuffix(" layers); enter it with: devenv enter\n"), "\(full)")
        let answered = try traced(project, "build")
        #expect(answered.status == 0 && answered.trace.hasPrefix(Self.answeredPrefix), "\(answered)")
        #expect(answered.stderr == full.stderr && answered.stdout == full.stdout, "\(answered)")
        let core = try traced(project, "build", core: true)
        #expect(core.stderr == answered.stderr, "devenv-core says the same: \(core)")

        // -q and --locked are other invocations, each with its own answer.
        _ = try traced(project, "build", ["-q", "--locked"])
        let quiet = try traced(project, "build", ["-q", "--locked"])
        #expect(quiet.status == 0 && quiet.trace.hasPrefix(Self.answeredPrefix) && quiet.stderr.isEmpty, "\(quiet)")
        // Options the answer does not cover go to devenv-core.
        let noCache = try traced(project, "build", ["--no-cache", "-q"])
        #expect(noCache.status == 0 && noCache.trace.hasPrefix(Self.fullPrefix), "\(noCache)")

        // --no-cache replaced the layer: the next build is a full one, then answered again.
        let afterRebuild = try traced(project, "build")
        #expect(afterRebuild.trace.hasPrefix(Self.fullPrefix), "\(afterRebuild)")
        #expect(try traced(project, "build").trace.hasPrefix(Self.answeredPrefix))

        // An input file changes: full, and it rebuilds.
        try "{\"changed\": true}\n".write(toFile: project.path + "/app.json", atomically: true, encoding: .utf8)
        let edited = try traced(project, "build")
        #expect(edited.status == 0 && edited.trace.contains("app.json changed"), "\(edited)")
        #expect(edited.stderr.contains("setup config (app.json changed): running…"), "\(edited)")
        #expect(try project.sh("cat /opt/app.json").stdout == "{\"changed\": true}\n")

        // The lock written again: full.
        _ = try traced(project, "build", ["--locked"])
        #expect(try traced(project, "build", ["--locked"]).trace.hasPrefix(Self.answeredPrefix))
        let lock = try project.lockText()
        try lock.write(toFile: project.lockPath, atomically: true, encoding: .utf8)
        let stale = try traced(project, "build", ["--locked"])
        #expect(stale.trace.hasPrefix(Self.fullPrefix) && stale.trace.contains("devenv.lock changed"), "\(stale)")
    }

    @Test func aReadyStatusIsAnsweredWithoutDevenvCoreAndANotReadyOneNever() throws {
        let project = try project()
        #expect(try traced(project, "build").status == 0)
        for arguments in [[], ["--json"]] {
            let full = try traced(project, "status", arguments)
            #expect(full.status == 0 && full.trace.hasPrefix(Self.fullPrefix), "\(full)")
            let answered = try traced(project, "status", arguments)
            #expect(answered.status == 0 && answered.trace.hasPrefix(Self.answeredPrefix), "\(answered)")
            #expect(answered.stdout == full.stdout && !answered.stdout.isEmpty, "\(answered)")
            #expect(try traced(project, "status", arguments, core: true).stdout == answered.stdout)
        }
        // A manifest edit that needs a new lock: not ready, every time from devenv-core.
        try project.write("name = \"answered\"\n\n[base]\nimage = \"\(try BuildProject.base())\"\n\n[packages]\napt = [\"jq\"]\n")
        for _ in 0..<2 {
            let notReady = try traced(project, "status")
            #expect(notReady.status == 1 && notReady.trace.hasPrefix(Self.fullPrefix), "\(notReady)")
            #expect(notReady.stdout.contains("Not ready: run devenv lock"), "\(notReady)")
        }
    }
}
