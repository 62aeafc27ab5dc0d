import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nothing a running environment uses is deleted under it: `gc` and `build --no-cache` while a
/// `run` is in the middle of reading its files, on a full and on a fast start, and gc next to a
/// pull. Each sandbox here waits for the test's go-ahead (a file in the repository) before it
/// reads, so the deletion certainly happens while it runs. Written for root and the rootless users.
@Suite(.serialized, .tags(.rootless)) struct StoreInUseTests {
    let project: TemporaryDirectory
    let storeDirectory: TemporaryDirectory
    var store: String { storeDirectory.path + "/store" }

    init() throws {
        project = try TemporaryDirectory("in-use-project")
        storeDirectory = try TemporaryDirectory("in-use-store")
        let initialized = try Shell.run("git", ["init", "-q", project.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
    }

    static func debian() throws -> String { "\(try TestEnvironment.registry())/fixtures/debian:bookworm" }

    /// The script a held sandbox runs: says it started, waits for `go`, then reads `file`.
    static func waitThenRead(_ file: String) -> String {
        "touch started; while [ ! -e go ]; do sleep 0.05; done; cat \(file)"
    }

    /// `devenv ARGUMENTS` in the repository, started in the background.
    func background(_ arguments: [String]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: project.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["DEVENV_TRACE_START": "1"]) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    /// Waits (at most a minute) for the sandbox's `started` file.
    func waitForStart(_ process: Process) throws {
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: project.path + "/started") {
            try #require(process.isRunning, "the sandbox ended before it started waiting")
            try #require(Date() < deadline, "the sandbox did not start within a minute")
            usleep(50_000)
        }
    }

    /// Lets the sandbox read, and returns its status and output.
    func finish(_ started: (Process, Pipe, Pipe)) -> (status: Int32, stdout: String, stderr: String) {
        FileManager.default.createFile(atPath: project.path + "/go", contents: nil)
        let stdout = started.1.fileHandleForReading.readDataToEndOfFile()
        let stderr = started.2.fileHandleForReading.readDataToEndOfFile()
        started.0.waitUntilExit()
        try? FileManager.default.removeItem(atPath: project.path + "/started")
        try? FileManager.default.removeItem(atPath: project.path + "/go")
        return (started.0.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func devenv(_ arguments: [String]) throws -> Shell.Result {
        try Shell.run("/usr/bin/env", ["-C", project.path, try TestEnvironment.binary()] + arguments)
    }

    /// Drops every tag from the store's index, so that gc finds nothing referencing the layers.
    func untagEverything() throws {
        let path = store + "/oci/index.json"
        var index = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        index["manifests"] = []
        try JSONSerialization.data(withJSONObject: index).write(to: URL(fileURLWithPath: path))
    }

    func layerDirectories() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store + "/layers")) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    func gc() throws -> Shell.Result {
        let result = try devenv(["gc", "--store", store, "--grace", "0"])
        #expect(result.status == 0, "\(result.output)")
        return result
    }

    /// The run's layers survive a gc that finds them unreferenced, the run reads its file after
    /// it, and the next gc (nothing running) removes them.
    func expectGcWaitsForTheRun(fast: Bool) throws {
        let debianVersion = "/etc/debian_version"
        let run = ["run", "--store", store, "--image", try Self.debian(), "--", "sh", "-c", Self.waitThenRead(debianVersion)]
        let held = try background(run)
        try waitForStart(held.0)
        let layers = layerDirectories()
        try #require(!layers.isEmpty)
        try untagEverything()
        let during = try gc()
        #expect(during.stdout.contains("0 layers"), "gc removed a layer in use: \(during.output)")
        #expect(layerDirectories() == layers)
        let result = finish(held)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("12."), "the running command lost its file: \(result.stdout) \(result.stderr)")
        #expect(result.stderr.hasPrefix(fast ? "devenv: fast start from " : "devenv: full start: "), "\(result.stderr)")
        _ = try gc()
        #expect(layerDirectories().isEmpty, "nothing runs any more, yet gc kept \(layerDirectories())")
    }

    @Test func gcKeepsTheLayersOfARunningFullStart() throws {
        #expect(try devenv(["pull", "-q", "--store", store, try Self.debian()]).status == 0)
        try expectGcWaitsForTheRun(fast: false)
    }

    @Test func gcKeepsTheLayersOfARunningFastStart() throws {
        #expect(try devenv(["pull", "-q", "--store", store, try Self.debian()]).status == 0)
        // With the image pulled, a run leaves the record (two, in case the first read an index
        // written in the same clock tick); the held run is then a fast start.
        for _ in 0..<2 {
            let warm = try devenv(["run", "--store", store, "--image", try Self.debian(), "--", "true"])
            #expect(warm.status == 0, "\(warm.output)")
        }
        try expectGcWaitsForTheRun(fast: true)
    }

    /// A devenv killed while its sandbox ran leaves its hold file behind, unlocked: it must not
    /// keep layers forever.
    @Test func theHoldOfAKilledDevenvKeepsNothing() throws {
        #expect(try devenv(["pull", "-q", "--store", store, try Self.debian()]).status == 0)
        let layers = layerDirectories()
        try #require(!layers.isEmpty)
        try FileManager.default.createDirectory(atPath: store + "/layers/.in-use", withIntermediateDirectories: true)
        let stale = store + "/layers/.in-use/999999.1.1"
        try (layers.joined(separator: "\n") + "\n").write(toFile: stale, atomically: false, encoding: .utf8)
        try untagEverything()
        _ = try gc()
        #expect(layerDirectories().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: stale))
    }

    /// `build --no-cache` replaces a layer another run is using: the run keeps reading the old
    /// one; gc removes the old one once the run is over.
    @Test func aRebuildLeavesARunningEnvironmentItsLayer() throws {
        try FileManager.default.createDirectory(atPath: project.path + "/.devenv", withIntermediateDirectories: true)
        try """
            name = "inuse"

            [base]
            image = "\(try Self.debian())"

            [[setup]]
            name = "marker"
            run = "date +%s%N > /opt/marker"
            """.write(toFile: project.path + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
        #expect(try devenv(["lock", "--store", store]).status == 0)
        let built = try devenv(["build", "--store", store])
        #expect(built.status == 0, "\(built.output)")
        let before = try devenv(["run", "--store", store, "--", "cat", "/opt/marker"])
        #expect(before.status == 0, "\(before.output)")

        let held = try background(["run", "--store", store, "--", "sh", "-c", Self.waitThenRead("/opt/marker")])
        try waitForStart(held.0)
        let rebuilt = try devenv(["build", "--no-cache", "--store", store])
        #expect(rebuilt.status == 0, "\(rebuilt.output)")
        let after = try devenv(["run", "--store", store, "--", "cat", "/opt/marker"])
        #expect(after.stdout != before.stdout, "the rebuild did not make a new layer")
        let result = finish(held)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == before.stdout, "the running environment lost or changed its layer: \(result.stdout) \(result.stderr)")

        func retired() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []).filter { $0.hasPrefix("retired-") }
        }
        #expect(retired().count == 1, "the replaced layer should wait in tmp/ for gc")
        _ = try gc()
        #expect(retired().isEmpty, "gc kept the replaced layer after the run ended")
    }
}
