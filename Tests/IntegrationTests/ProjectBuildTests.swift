import Foundation
import Testing

/// `devenv lock`, `build`, `run` and `status` on a real project: a Debian base from the test
/// registry, jq from the Debian mirror, six from PyPI, a setup step. The suite shares one store,
/// as one user's machine does.
@Suite(.buildScope, .serialized) struct ProjectBuildTests {
    @Test func lockBuildRunAndRebuildOnlyWhatChanged() throws {
        let project = try BuildProject(try BuildProject.standardManifest(), store: try BuildScope.current())

        let locked = try project.devenv("lock")
        try #require(locked.status == 0, "devenv lock: \(locked.output)")
        let lock = try project.lockJSON()
        let apt = try #require((lock["apt"] as? [String: Any])?["packages"] as? [[String: String]])
        let jq = try #require(apt.first { $0["name"] == "jq" }, "jq is in the apt closure")
        #expect(apt.contains { $0["name"] == "libjq1" }, "the closure holds jq's dependencies")
        #expect(apt.contains { $0["name"] == "python3-venv" }, "pip requirements bring python3-venv")
        let pip = try #require((lock["pip"] as? [String: Any])?["distributions"] as? [[String: Any]])
        #expect(pip.count == 1)
        #expect(pip.first?["name"] as? String == "six" && pip.first?["version"] as? String == "1.16.0")
        #expect(((pip.first?["sha256"] as? [String])?.first?.count ?? 0) == 64)
        let digest = try #require((lock["base"] as? [String: Any])?["digest"] as? String)
        #expect(digest.hasPrefix("sha256:"))

        // Same inputs, same bytes; --check agrees.
        let first = try project.lockText()
        let again = try project.devenv("lock", ["--update"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try project.lockText() == first)
        #expect(try project.devenv("lock", ["--check"]).status == 0)

        let built = try project.devenv("build")
        try #require(built.status == 0, "devenv build: \(built.output)")
        let report = layerReport(built.stderr)
        #expect(report["pip"] == "built" && report["setup marker"] == "built", "\(built.stderr)")
        #expect(report["apt"] == "built" || report["apt"] == "cached", "the apt layer may have been built by the lock already")
        #expect(built.stderr.contains("Successfully installed six-1.16.0"), "a step's output streams: \(built.stderr)")

        let tools = try project.sh("jq --version; python -c 'import six; print(six.__version__)'; cat /opt/marker; echo $GREETING")
        #expect(tools.status == 0, "\(tools.output)")
        #expect(tools.stdout == "jq-\(jq["version"]!.prefix { $0 != "-" })\n1.16.0\nbuilt\nhello from proj\n", "\(tools.output)")

        // What is installed is what the lock says, package by package.
        let installed = try project.sh("dpkg-query -W -f '${Package}=${Version}\\n'")
        let installedSet = Set(installed.stdout.split(separator: "\n").map(String.init))
        for package in apt {
            #expect(installedSet.contains("\(package["name"]!)=\(package["version"]!)"), "\(package) installed")
        }
        #expect(try project.sh("pip freeze").stdout == "six==1.16.0\n")

        // Nothing changed: nothing runs.
        let noop = try project.devenv("build")
        #expect(noop.status == 0)
        #expect(!noop.stderr.contains("running"), "\(noop.stderr)")
        #expect(noop.stderr.contains("up to date"), "\(noop.stderr)")
        #expect(try project.status()["ready"] as? Bool == true)

        // One pip pin changes: the lock is stale. `--locked` (CI) refuses with the difference…
        let keysBefore = try project.layerKeys()
        try project.write(try BuildProject.standardManifest(six: "1.15.0"))
        let check = try project.devenv("lock", ["--check"])
        #expect(check.status == 1)
        #expect(check.stderr.contains("six==1.16.0") && check.stderr.contains("six==1.15.0"), "\(check.stderr)")
        let refused = try project.devenv("build", ["--locked"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is out of date with") && refused.stderr.contains("(--locked)")
                && refused.stderr.contains("six==1.15.0") && refused.stderr.contains("fix: run `devenv lock`"), "\(refused.stderr)")
        #expect(try project.lockText() == first, "a refused build leaves the lock alone")

        // …and a plain build resolves only pip, updates the lock in one line, and runs pip and
        // what is above it, never the base or apt.
        let rebuilt = try project.devenv("build")
        #expect(rebuilt.status == 0, "\(rebuilt.output)")
        #expect(!rebuilt.stderr.contains("Resolving [packages] apt"), "\(rebuilt.stderr)")
        #expect(rebuilt.stderr.contains("Resolving [packages] pip"), "\(rebuilt.stderr)")
        #expect(rebuilt.stderr.contains("Updated ") && rebuilt.stderr.contains("devenv.lock: ") && rebuilt.stderr.contains("six==1.15.0"),
                "\(rebuilt.stderr)")
        #expect(try project.devenv("lock", ["--check"]).status == 0)
        let rebuiltReport = layerReport(rebuilt.stderr)
        #expect(rebuiltReport["apt"] == "cached" && rebuiltReport["pip"] == "built" && rebuiltReport["setup marker"] == "built", "\(rebuilt.stderr)")
        let keysAfter = try project.layerKeys()
        #expect(keysAfter["apt"] == keysBefore["apt"])
        #expect(keysAfter["pip"] != keysBefore["pip"])
        #expect(try project.sh("python -c 'import six; print(six.__version__)'").stdout == "1.15.0\n")
    }

    @Test func theBuiltEnvironmentIsAnOCIImageOtherToolsRead() throws {
        let project = try BuildProject(try BuildProject.standardManifest(name: "ociview"), store: try BuildScope.current())
        let built = try project.devenv("build", ["-q"])
        try #require(built.status == 0, "\(built.output)")
        let images = try Shell.devenv(["images", "--json"], store: project.store)
        let rows = try #require(JSONSerialization.jsonObject(with: Data(images.stdout.utf8)) as? [[String: Any]])
        let environment = try #require(rows.first { ($0["reference"] as? String ?? "").hasPrefix("env/ociview-") }, "\(images.stdout)")
        #expect(environment["layers"] as? Int == 4)
        #expect(environment["unpacked"] as? Bool == true)
        let name = try #require(environment["reference"] as? String)
        let inspected = try Shell.run("skopeo", ["inspect", "oci:\(project.store)/oci:\(name)"])
        #expect(inspected.status == 0, "\(inspected.output)")
        let layers = (try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any])?["Layers"] as? [Any]
        #expect(layers?.count == 4, "\(inspected.stdout)")
        // The pip layer's blob holds the venv, and its tar says root owns it (numeric ids only).
        let listing = try Shell.run("/bin/sh", ["-c", "for b in \(project.store)/oci/blobs/sha256/*; do tar -tvzf $b 2>/dev/null | grep -m1 'opt/devenv/venv/bin/python3 ' ; done"])
        #expect(listing.stdout.contains(" 0/0 "), "\(listing.output)")
    }

    @Test func twoProjectsWithDifferentVersionsRunSideBySide() throws {
        let store = try BuildScope.current()
        let old = try BuildProject(try BuildProject.standardManifest(name: "old", six: "1.15.0"), store: store)
        let new = try BuildProject(try BuildProject.standardManifest(name: "new", six: "1.16.0"), store: store)
        for project in [old, new] {
            let built = try project.devenv("build", ["-q"])
            try #require(built.status == 0, "\(built.output)")
        }
        #expect(try old.layerKeys()["apt"] == new.layerKeys()["apt"], "one apt layer serves both")
        // Both entered at once: each sees its own version while the other runs.
        let script = "touch started; while [ ! -e go ]; do sleep 0.05; done; python -c 'import six; print(six.__version__)'"
        var processes: [(Process, Pipe)] = []
        for project in [old, new] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
            process.arguments = ["run", "-C", project.path, "--store", store, "-q", "--", "sh", "-c", script]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            processes.append((process, pipe))
        }
        for project in [old, new] {
            for _ in 0..<400 where !FileManager.default.fileExists(atPath: project.path + "/started") { usleep(50_000) }
            #expect(FileManager.default.fileExists(atPath: project.path + "/started"))
        }
        for project in [old, new] { FileManager.default.createFile(atPath: project.path + "/go", contents: nil) }
        var outputs: [String] = []
        for (process, pipe) in processes {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            outputs.append(String(decoding: data, as: UTF8.self))
        }
        #expect(outputs == ["1.15.0\n", "1.16.0\n"])
    }

    @Test func twoBuildsAtOnceBuildOnceAndAKilledBuildIsFinishedNextTime() throws {
        let store = try BuildScope.current()
        let token = UUID().uuidString
        let project = try BuildProject(try BuildProject.standardManifest(name: "together", setup: "sleep 2; echo \(token) > /opt/marker"), store: store)
        try #require(try project.devenv("lock", ["-q"]).status == 0)
        let first = Process(), second = Process()
        let firstErr = Pipe(), secondErr = Pipe()
        for (process, pipe) in [(first, firstErr), (second, secondErr)] {
            process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
            process.arguments = ["build", "-C", project.path, "--store", store]
            process.standardError = pipe
            try process.run()
        }
        let outputs = [firstErr, secondErr].map { String(decoding: $0.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) }
        first.waitUntilExit()
        second.waitUntilExit()
        #expect(first.terminationStatus == 0 && second.terminationStatus == 0, "\(outputs)")
        let setupRuns = outputs.filter { layerReport($0)["setup marker"] == "built" }
        #expect(setupRuns.count == 1, "exactly one build ran the setup step: \(outputs)")
        #expect(try project.sh("cat /opt/marker").stdout == "\(token)\n")

        // A build killed in the middle of a step leaves no layer; the next one makes it.
        let slow = UUID().uuidString
        try project.write(try BuildProject.standardManifest(name: "together", setup: "sleep 3; echo \(slow) > /opt/marker"))
        let killed = Process()
        killed.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        killed.arguments = ["build", "-C", project.path, "--store", store]
        let killedErr = Pipe()
        killed.standardError = killedErr
        try killed.run()
        let reader = killedErr.fileHandleForReading
        var seen = ""
        while !seen.contains("setup marker: running") {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        #expect(seen.contains("setup marker: running"), "\(seen)")
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        #expect(try project.layerStates()["setup marker"] == "missing")
        let finished = try project.devenv("build")
        #expect(finished.status == 0, "\(finished.output)")
        #expect(try project.sh("cat /opt/marker").stdout == "\(slow)\n")
        #expect(try project.status()["ready"] as? Bool == true)
    }
}
