import Foundation
import Testing

/// Issue 16: the repository's own files feed the environment. A `[[setup]]` step's `files` are
/// seen read-only under /devenv/files and key its layer by content; `pip = ["-r FILE"]` takes a
/// requirements file from the repository into the lock. An edit rebuilds from the step that reads
/// the file and says which file changed, through `build` and through a fast `run` alike. Run as
/// root and as both rootless users (scripts/test).
@Suite(.buildScope, .serialized, .tags(.rootless)) struct BuildInputsTests {
    static func manifest(files: String = "[\"config/app.json\", \"package.json\"]") throws -> String {
        """
        [base]
        image = "\(try BuildProject.base())"

        [[setup]]
        name = "deps"
        files = \(files)
        run = '''
        cat "$DEVENV_FILES/config/app.json" > /opt/app.json
        if echo x >> "$DEVENV_FILES/package.json" 2>/dev/null; then echo "the step could write its input"; exit 1; fi
        '''

        [[setup]]
        name = "after"
        run = "date +%s%N > /opt/after"
        """
    }

    func write(_ project: BuildProject, _ path: String, _ text: String) throws {
        let full = project.path + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    @Test func aStepReadsItsFilesReadOnlyAndAnEditRebuildsFromThatStep() throws {
        let project = try BuildProject(try Self.manifest(), store: try BuildScope.current())
        try write(project, "config/app.json", "{\"version\": 1}\n")
        try write(project, "package.json", "{}\n")

        let built = try project.devenv("build")
        try #require(built.status == 0, "devenv build: \(built.output)")
        #expect(layerReport(built.stderr)["setup deps"]?.hasPrefix("built") == true, "\(built.stderr)")
        let first = try project.sh("cat /opt/app.json; cat /opt/after; test ! -e /devenv && echo no-inputs-left")
        #expect(first.status == 0, "\(first.output)")
        let lines = first.stdout.split(separator: "\n")
        #expect(lines.first == "{\"version\": 1}" && lines.last == "no-inputs-left", "\(first.output)")
        // The start above left a launch record; the edit must invalidate it.
        #expect(try project.sh("cat /opt/app.json").stdout == "{\"version\": 1}\n")

        try write(project, "config/app.json", "{\"version\": 2}\n")
        let edited = try project.devenv("run", ["--", "sh", "-c", "cat /opt/app.json; cat /opt/after"])
        #expect(edited.status == 0, "\(edited.output)")
        #expect(edited.stdout.hasPrefix("{\"version\": 2}\n"), "\(edited.output)")
        #expect(edited.stderr.contains("setup deps (config/app.json changed): running…"), "\(edited.stderr)")
        let report = layerReport(edited.stderr)
        #expect(report["setup deps"]?.hasPrefix("built") == true && report["setup after"]?.hasPrefix("built") == true, "\(edited.stderr)")
        let editedLines = edited.stdout.split(separator: "\n")
        #expect(editedLines.count == 2 && lines.count == 3 && editedLines[1] != lines[1], "the step above ran again: \(first.stdout) \(edited.stdout)")

        // Back to the first contents: the first layers are found by key, nothing runs.
        try write(project, "config/app.json", "{\"version\": 1}\n")
        let reverted = try project.devenv("build")
        #expect(reverted.status == 0 && !reverted.stderr.contains("running…"), "\(reverted.output)")
        #expect(try project.sh("cat /opt/app.json").stdout == "{\"version\": 1}\n")
        #expect(try project.status()["ready"] as? Bool == true)
    }

    @Test func aFileOutsideTheRepositoryIsRefusedNamingTheManifestLine() throws {
        let project = try BuildProject(try Self.manifest(), store: try BuildScope.current())
        try write(project, "package.json", "{}\n")
        try FileManager.default.createDirectory(atPath: project.path + "/config", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: project.path + "/config/app.json", withDestinationPath: "/etc/passwd")
        for command in ["build", "run", "status"] {
            let refused = try project.devenv(command, command == "run" ? ["--", "true"] : [])
            #expect(refused.status == 1, "\(refused.output)")
            // status reports on stdout, the others fail on stderr.
            #expect(refused.output.contains("\(project.manifestPath):6:"), "\(command): \(refused.output)")
            #expect(refused.output.contains("setup step \"deps\" reads \"config/app.json\": it resolves to \"/etc/passwd\""), "\(command): \(refused.output)")
        }
    }

    @Test func pipRequirementsComeFromTheRepositoryAndAnEditUpdatesTheLock() throws {
        let project = try BuildProject("""
            [base]
            image = "\(try BuildProject.base())"

            [packages]
            pip = ["-r requirements.txt"]
            """, store: try BuildScope.current())
        try write(project, "requirements.txt", "# what the app needs\nsix==1.16.0  # pinned\n")
        let built = try project.devenv("build")
        try #require(built.status == 0, "devenv build: \(built.output)")
        let pip = try #require(try project.lockJSON()["pip"] as? [String: Any])
        #expect(pip["requested"] as? [String] == ["six==1.16.0"])
        #expect(try project.sh("python -c 'import six; print(six.__version__)'").stdout == "1.16.0\n")

        try write(project, "requirements.txt", "six==1.15.0\n")
        let refused = try project.devenv("build", ["--locked"])
        #expect(refused.status == 1 && refused.stderr.contains("six==1.15.0"), "\(refused.output)")
        let updated = try project.devenv("run", ["--", "python", "-c", "import six; print(six.__version__)"])
        #expect(updated.status == 0, "\(updated.output)")
        #expect(updated.stdout == "1.15.0\n", "\(updated.output)")
        #expect(updated.stderr.contains("Updated ") && updated.stderr.contains("six==1.15.0"), "\(updated.stderr)")
        #expect(updated.stderr.contains("requirements.txt changed"), "\(updated.stderr)")
        #expect(layerReport(updated.stderr)["apt"] == "cached", "\(updated.stderr)")
        #expect(try project.devenv("lock", ["--check"]).status == 0)
    }
}
