import Foundation
import TestSupport
import Testing

/// What the build suites share for one test run: a store, so the apt layer every project here
/// asks for is built once and then found by key (as it would be on a user's machine).
struct BuildScope: SuiteTrait, TestScoping {
    @TaskLocal static var store: String?

    static func current() throws -> String {
        try #require(store, "the test must be in a suite with the .buildScope trait")
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let temp = try TemporaryDirectory("build-scope")
        try await Self.$store.withValue(temp.path + "/store") { try await function() }
        withExtendedLifetime(temp) {}
    }
}

extension Trait where Self == BuildScope {
    static var buildScope: BuildScope { BuildScope() }
}

/// A git repository with a `.devenv/devenv.toml`, driven through the devenv binary.
final class BuildProject {
    let directory: TemporaryDirectory
    let store: String
    var path: String { directory.path }
    var manifestPath: String { path + "/.devenv/devenv.toml" }
    var lockPath: String { path + "/.devenv/devenv.lock" }

    static func base() throws -> String { "\(try TestEnvironment.registry())/fixtures/debian:bookworm" }

    /// The manifest most tests use: jq from apt, six from PyPI, one setup step.
    static func standardManifest(name: String = "proj", six: String = "1.16.0", setup: String = "echo built > /opt/marker") throws -> String {
        """
        name = "\(name)"

        [base]
        image = "\(try base())"

        [packages]
        apt = ["jq"]
        pip = ["six==\(six)"]

        [env]
        GREETING = "hello from \(name)"

        [[setup]]
        name = "marker"
        run = "\(setup)"
        """
    }

    init(_ manifest: String, store: String) throws {
        directory = try TemporaryDirectory("build-project")
        self.store = store
        let initialized = try Shell.run("git", ["init", "-q", directory.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
        try FileManager.default.createDirectory(atPath: path + "/.devenv", withIntermediateDirectories: true)
        try write(manifest)
    }

    func write(_ manifest: String) throws {
        try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
    }

    /// `devenv COMMAND -C PROJECT --store STORE ARGS…`
    @discardableResult
    func devenv(_ command: String, _ arguments: [String] = []) throws -> Shell.Result {
        try Shell.run(try TestEnvironment.binary(), [command, "-C", path, "--store", store] + arguments)
    }

    /// `devenv run -q -- sh -c SCRIPT`: the script's stdout.
    func sh(_ script: String) throws -> Shell.Result {
        try devenv("run", ["-q", "--", "sh", "-c", script])
    }

    func lockText() throws -> String { try String(contentsOfFile: lockPath, encoding: .utf8) }

    func lockJSON() throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: lockPath))) as? [String: Any])
    }

    /// `devenv status --json`, decoded.
    func status() throws -> [String: Any] {
        let result = try devenv("status", ["--json"])
        return try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "status --json: \(result.output)")
    }

    /// Each layer's state in `status --json`, by step title.
    func layerStates() throws -> [String: String] {
        let layers = try #require(try status()["layers"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: layers.map { ($0["step"] as? String ?? "?", $0["state"] as? String ?? "?") })
    }

    func layerKeys() throws -> [String: String] {
        let layers = try #require(try status()["layers"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: layers.map { ($0["step"] as? String ?? "?", $0["key"] as? String ?? "?") })
    }
}

/// What a build said about each layer: "cached", "built in 1.2s", … by step title.
func layerReport(_ output: String) -> [String: String] {
    var report: [String: String] = [:]
    for line in output.split(separator: "\n") where line.hasPrefix("  ") && !line.hasPrefix("    ") {
        let text = line.trimmingCharacters(in: .whitespaces)
        for title in ["base", "apt", "pip"] where text.hasPrefix(title + " ") {
            report[title] = stateWord(text)
        }
        if text.hasPrefix("setup ") {
            let name = text.dropFirst(6).prefix { $0 != " " && $0 != ":" }
            if !text.hasSuffix("running…") { report["setup " + name] = stateWord(text) }
        }
    }
    return report
}

private func stateWord(_ text: String) -> String {
    for word in ["cached", "built by another devenv", "built in", "pulled in"] where text.contains(word) {
        return word.hasSuffix(" in") ? String(word.dropLast(3)) : word
    }
    return text.hasSuffix("running…") ? "running" : "?"
}
