import Foundation
import TestSupport
import Testing

/// `devenv run` for a project whose `.devenv/devenv.toml` names `[base] image`: the manifest's
/// env, shell, network, mounts and security settings reach the sandbox, and a bad manifest stops
/// devenv before it touches the store.
@Suite(.sandboxScope, .tags(.rootless)) struct ManifestRunTests {
    /// A git repository with a subfolder, the working directory of the runs.
    let repository: TemporaryDirectory
    /// A host directory the manifest mounts read-only.
    let shared: TemporaryDirectory

    init() throws {
        repository = try TemporaryDirectory("manifest-project")
        shared = try TemporaryDirectory("manifest-shared")
        let initialized = try Shell.run("git", ["init", "-q", repository.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
        try FileManager.default.createDirectory(atPath: repository.path + "/.devenv", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: repository.path + "/sub", withIntermediateDirectories: true)
        try "data\n".write(toFile: shared.path + "/file", atomically: true, encoding: .utf8)
    }

    static func image() throws -> String { "\(try TestEnvironment.registry())/fixtures/layered:latest" }

    func manifest(_ extra: String = "") throws -> String {
        """
        name = "myproj"

        [base]
        image = "\(try Self.image())"

        [env]
        GREETING = "hi"

        [shell]
        hostname = "proj"

        [network]
        mode = "none"

        [mounts]
        "\(shared.path)" = "ro"
        \(extra)
        """
    }

    func write(_ text: String) throws {
        try text.write(toFile: repository.path + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
    }

    /// Approves what the manifest asks for ([mounts], seccomp), as its user would before a run.
    func trust() throws {
        let result = try Shell.run(try TestEnvironment.binary(), ["trust", "-q", "-C", repository.path, "--store", try SandboxScope.current().store])
        try #require(result.status == 0, "devenv trust: \(result.output)")
    }

    /// `devenv run -q -- sh -c SCRIPT` from the repository's subfolder.
    func sh(_ script: String, store: String? = nil) throws -> Shell.Result {
        let store = try store ?? SandboxScope.current().store
        return try Shell.run("/usr/bin/env", ["-C", repository.path + "/sub", try TestEnvironment.binary(),
                                              "run", "--store", store, "-q", "--", "sh", "-c", script])
    }

    var physicalRepository: String { URL(fileURLWithPath: repository.path).resolvingSymlinksInPath().path }

    @Test func theManifestShapesTheSandbox() throws {
        try write(manifest())
        try trust()
        // /proc/net/dev lists the interfaces of the sandbox's own network namespace (/sys is the host's).
        let result = try sh("echo $GREETING; hostname; pwd; echo $DEVENV_NAME; cat \(shared.path)/file; sed -n 's/^ *\\([a-z0-9]*\\):.*/\\1/p' /proc/net/dev")
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "hi\nproj\n\(physicalRepository)/sub\nmyproj\ndata\nlo\n")
    }

    @Test func dashCPointsAtTheProjectFromElsewhere() throws {
        try write(manifest())
        try trust()
        let result = try Shell.run("/usr/bin/env", ["-C", "/", try TestEnvironment.binary(), "run", "--store", try SandboxScope.current().store,
                                                    "-q", "-C", repository.path + "/sub", "--", "sh", "-c", "pwd; echo $GREETING"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout == "\(physicalRepository)/sub\nhi\n")
        let missing = try Shell.run(try TestEnvironment.binary(), ["run", "-C", repository.path + "/nonexistent", "--", "true"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("given with -C"), "\(missing.stderr)")
    }

    @Test func aReadOnlyMountCannotBeWritten() throws {
        try write(manifest())
        try trust()
        let result = try sh("echo x > \(shared.path)/new")
        #expect(result.status != 0)
        #expect(result.stderr.contains("Read-only file system"), "\(result.output)")
        #expect(!FileManager.default.fileExists(atPath: shared.path + "/new"))
    }

    @Test func workdirAndUnconfinedSeccompApply() throws {
        try write(manifest("\n[security]\nseccomp = \"unconfined\"\n")
            .replacingOccurrences(of: "hostname = \"proj\"", with: "hostname = \"proj\"\nworkdir = \"/workspace\""))
        try trust()
        let result = try sh("pwd; ls /workspace/.devenv; grep Seccomp: /proc/self/status")
        #expect(result.status == 0, "\(result.output)")
        // The first run wrote the lock, pinning the base image's digest.
        #expect(result.stdout == "/workspace/sub\ndevenv.lock\ndevenv.toml\nSeccomp:\t0\n")
        #expect(result.stderr.contains("runs without a seccomp filter"), "\(result.stderr)")
    }

    @Test func anInvalidManifestExits1WithItsPositionAndChangesNothing() throws {
        try write(manifest().replacingOccurrences(of: "image =", with: "imgae ="))
        let store = repository.path + "/untouched-store"
        let result = try sh("true", store: store)
        #expect(result.status == 1)
        #expect(result.stderr.contains(".devenv/devenv.toml:4:1: unknown key \"imgae\" in [base]; did you mean \"image\"?"), "\(result.stderr)")
        #expect(result.stderr.contains("fix: rename \"imgae\" to \"image\""))
        #expect(!FileManager.default.fileExists(atPath: store))

        try write(manifest().replacingOccurrences(of: "hostname = \"proj\"", with: "hostname = 7"))
        let wrongType = try sh("true", store: store)
        #expect(wrongType.status == 1)
        #expect(wrongType.stderr.contains("devenv.toml:10:12: hostname in [shell] must be a string, found integer"), "\(wrongType.stderr)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    @Test func aMissingMountSourceNamesItsLine() throws {
        try write(manifest("\"\(shared.path)/absent\" = \"rw\"\n"))
        let store = repository.path + "/untouched-store"
        let result = try sh("true", store: store)
        #expect(result.status == 1)
        #expect(result.stderr.contains("devenv.toml:17:1: mount \"\(shared.path)/absent\""), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: store))
    }

    @Test func withoutAManifestDevenvSaysHowToMakeOne() throws {
        let result = try sh("true", store: repository.path + "/untouched-store")
        #expect(result.status == 1)
        #expect(result.stderr.contains("fix: create one with `devenv init`"), "\(result.stderr)")
    }
}
