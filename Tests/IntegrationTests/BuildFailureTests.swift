import Foundation
import Testing

/// Bad input to `lock` and `build`: a clear error, a non-zero exit, and the lock and the store's
/// layers as they were.
@Suite(.buildScope, .serialized) struct BuildFailureTests {
    /// Every built layer directory in the store (a base image pulled to resolve against is a
    /// cache fill, not a change: it is what the next try needs too).
    func layers(_ store: String) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: store + "/layers")) ?? []).filter { $0.hasPrefix("build-") })
    }

    func manifest(apt: [String] = ["jq"], pip: [String] = [], setup: String? = nil, base: String? = nil) throws -> String {
        var text = """
            [base]
            image = "\(try base ?? BuildProject.base())"

            [packages]
            apt = [\(apt.map { "\"\($0)\"" }.joined(separator: ", "))]
            pip = [\(pip.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
        if let setup { text += "\n[[setup]]\nname = \"step\"\nrun = \"\(setup)\"\n" }
        return text
    }

    /// Runs `arguments` expecting failure: exit 1, `message` in stderr, no lock written, no layer
    /// added (`keepsAptLayer`: except the complete apt layer pip was resolved in, kept for the retry).
    func expectRefusal(_ project: BuildProject, _ command: String, _ arguments: [String] = [], status: Int32 = 1, saying message: String,
                       keepsAptLayer: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = layers(project.store)
        let lockBefore = try? project.lockText()
        let result = try project.devenv(command, arguments)
        #expect(result.status == status, "\(result.output)", sourceLocation: sourceLocation)
        #expect(result.stderr.contains(message), "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(layers(project.store).subtracting(before).count <= (keepsAptLayer ? 1 : 0), "no built layer was added", sourceLocation: sourceLocation)
        #expect((try? project.lockText()) == lockBefore, "the lock is unchanged", sourceLocation: sourceLocation)
    }

    @Test func invalidManifestsAreRefusedWithTheirPosition() throws {
        let project = try BuildProject("[base]\nimage = \"debian\"\n[packages]\napt = [\"jq\"\n", store: try BuildScope.current())
        try expectRefusal(project, "lock", saying: "devenv.toml:")
        try project.write("[base]\nimage = \"debian\"\n[pakages]\napt = [\"jq\"]\n")
        try expectRefusal(project, "build", saying: "did you mean")
        try project.write("[base]\nimage = \"debian\"\n[packages]\napt = \"jq\"\n")
        try expectRefusal(project, "build", saying: "devenv.toml:4")
    }

    @Test func packagesTheMirrorDoesNotHaveAreReported() throws {
        let project = try BuildProject(try manifest(apt: ["jq", "devenv-no-such-package"]), store: try BuildScope.current())
        try expectRefusal(project, "lock", saying: "Unable to locate package devenv-no-such-package")
        try project.write(try manifest(apt: ["jq=0.0-devenv1"]))
        try expectRefusal(project, "lock", saying: "'0.0-devenv1' for 'jq' was not found")
        try project.write(try manifest(apt: ["jq"], pip: ["devenv-no-such-distribution==1.0"]))
        try expectRefusal(project, "lock", saying: "No matching distribution found for devenv-no-such-distribution", keepsAptLayer: true)
    }

    @Test func aFailingSetupStepShowsItsCommandAndOutputAndLeavesNoLayer() throws {
        let project = try BuildProject(try manifest(setup: "echo about to fail; exit 7"), store: try BuildScope.current())
        try #require(try project.devenv("lock", ["-q"]).status == 0)
        let result = try project.devenv("build", ["-q"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("build step \"setup step\" failed with exit status 7"), "\(result.stderr)")
        #expect(result.stderr.contains("about to fail"), "-q still shows the failing step's last lines: \(result.stderr)")
        #expect(result.stderr.contains("exit 7"), "the command is shown: \(result.stderr)")
        #expect(try project.layerStates()["setup step"] == "missing")
        let again = try project.devenv("run", ["-q", "--", "true"])
        #expect(again.status == 1, "run builds first, and the step still fails: \(again.output)")
    }

    @Test func anUnreachableRegistryIsAnErrorAndWritesNoLock() throws {
        let project = try BuildProject(try manifest(base: "127.0.0.1:9/devenv/none:1"), store: try BuildScope.current())
        try expectRefusal(project, "lock", status: 3, saying: "127.0.0.1:9")
        #expect(!FileManager.default.fileExists(atPath: project.lockPath))
    }

    @Test func aStaleLockIsRefusedByRunLockedWithWhatChanged() throws {
        let project = try BuildProject(try manifest(), store: try BuildScope.current())
        try #require(try project.devenv("lock", ["-q"]).status == 0)
        try project.write(try manifest(apt: ["jq", "less"]))
        try expectRefusal(project, "run", ["--locked", "--", "true"], saying: "[packages] apt adds \"less\"")
        let status = try project.status()
        #expect((status["lock"] as? [String: Any])?["state"] as? String == "stale")
        #expect(status["ready"] as? Bool == false)
    }
}
