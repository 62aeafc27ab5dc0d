import Foundation
import TestSupport
import Testing

/// `devenv init` in a fresh git repository: the manifest and hello-world it writes, what it
/// refuses, the template list, and the embedded templates matching templates/.
@Suite struct InitTests {
    static let names = ["minimal", "c", "go", "node", "postgres", "python", "rust"]

    /// A fresh git repository with a subfolder, where init is run from.
    let repository: TemporaryDirectory

    init() throws {
        repository = try TemporaryDirectory("init-project")
        let initialized = try Shell.run("git", ["init", "-q", repository.path])
        try #require(initialized.status == 0, "git init: \(initialized.output)")
        try FileManager.default.createDirectory(atPath: repository.path + "/sub", withIntermediateDirectories: true)
    }

    static var sourceRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    static func template(_ name: String, _ file: String) throws -> String {
        try String(contentsOfFile: "\(sourceRoot)/templates/\(name)/\(file)", encoding: .utf8)
    }

    /// devenv ARGS run from the repository's subfolder.
    func initialize(_ arguments: [String]) throws -> Shell.Result {
        try Shell.run("/usr/bin/env", ["-C", repository.path + "/sub", try TestEnvironment.binary(), "init"] + arguments)
    }

    func read(_ relative: String) throws -> String {
        try String(contentsOfFile: repository.path + "/" + relative, encoding: .utf8)
    }

    @Test func writesTheMinimalTemplateAtTheRepositoryRootAndRefusesASecondTime() throws {
        let first = try initialize([])
        #expect(first.status == 0, "\(first.output)")
        #expect(try read(".devenv/devenv.toml") == Self.template("minimal", "devenv.toml"))
        #expect(try read("hello.sh") == Self.template("minimal", "hello.sh"))
        #expect(FileManager.default.isExecutableFile(atPath: repository.path + "/hello.sh"))
        #expect(first.stdout.contains("wrote .devenv/devenv.toml (template minimal)"), "\(first.stdout)")
        #expect(first.stdout.contains("next: devenv build, then devenv enter"), "\(first.stdout)")
        #expect(!FileManager.default.fileExists(atPath: repository.path + "/.gitignore"))

        let second = try initialize(["--template", "python"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("\(repository.path)/.devenv/devenv.toml exists already; devenv init --force overwrites it"), "\(second.stderr)")
        #expect(try read(".devenv/devenv.toml") == Self.template("minimal", "devenv.toml"))
    }

    @Test func forceOverwritesTheManifestButNeverTheUsersFiles() throws {
        #expect(try initialize(["-q"]).status == 0)
        try "echo mine\n".write(toFile: repository.path + "/hello.sh", atomically: true, encoding: .utf8)
        try "print('mine')\n".write(toFile: repository.path + "/hello.py", atomically: true, encoding: .utf8)
        let forced = try initialize(["--force", "--template", "python"])
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try read(".devenv/devenv.toml") == Self.template("python", "devenv.toml"))
        #expect(try read("hello.py") == "print('mine')\n")
        #expect(try read("hello.sh") == "echo mine\n")
        #expect(forced.stdout.contains("overwrote .devenv/devenv.toml (template python)"), "\(forced.stdout)")
        #expect(forced.stdout.contains("kept your hello.py (not overwritten)"), "\(forced.stdout)")
        #expect(forced.stdout.contains("devenv run -- python3 hello.py"), "\(forced.stdout)")
    }

    @Test func baseOverridesTheImageAndIgnoredPathsAreAddedOnce() throws {
        try "build/".write(toFile: repository.path + "/.gitignore", atomically: true, encoding: .utf8)
        let mirror = "registry.example.com/mirror/debian:bookworm"
        let result = try initialize(["--template", "python", "--base", mirror])
        #expect(result.status == 0, "\(result.output)")
        #expect(try read(".devenv/devenv.toml") == Self.template("python", "devenv.toml")
            .replacingOccurrences(of: "image = \"debian:bookworm\"", with: "image = \"\(mirror)\""))
        #expect(try read(".gitignore") == "build/\n__pycache__/\n")
        #expect(result.stdout.contains("added __pycache__/ to .gitignore"), "\(result.stdout)")

        #expect(try initialize(["--force", "--template", "python"]).status == 0)
        #expect(try read(".gitignore") == "build/\n__pycache__/\n")

        // A template with services says to start them first.
        let services = try initialize(["--force", "--template", "postgres"])
        #expect(services.status == 0, "\(services.output)")
        #expect(services.stdout.contains("next: devenv up -d (starts its services), then devenv run -- sh pg-hello.sh proves it works"),
                "\(services.stdout)")
        #expect(FileManager.default.isExecutableFile(atPath: repository.path + "/pg-hello.sh"))

        let bad = try initialize(["--force", "--base", "Not A Ref"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("invalid image reference"), "\(bad.stderr)")
        // Without a registry: the same template on a base bootstrapped from the Debian mirror.
        let bootstrapped = try initialize(["--force", "--template", "postgres", "--bootstrap", "debian:bookworm"])
        #expect(bootstrapped.status == 0, "\(bootstrapped.output)")
        #expect(try read(".devenv/devenv.toml") == Self.template("postgres", "devenv.toml")
            .replacingOccurrences(of: "image = \"debian:bookworm\"", with: "bootstrap = \"debian:bookworm\""))
        #expect(try initialize(["--force", "--bootstrap", "bookworm"]).status == 2)
        #expect(try initialize(["--force", "--bootstrap", "debian:bookworm", "--base", mirror]).status == 2)
    }

    /// Issue 12: a cloned repository's .gitignore symlink (to ~/.bashrc, say) is not appended to.
    @Test func aGitignoreSymlinkIsNotWrittenThrough() throws {
        let outside = try TemporaryDirectory("init-outside")
        let target = outside.path + "/bashrc"
        try "# mine\n".write(toFile: target, atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: repository.path + "/.gitignore", withDestinationPath: target)
        let result = try initialize(["--template", "c"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("\(repository.path)/.gitignore is a symlink; devenv init does not write through it"), "\(result.stderr)")
        #expect(result.stderr.contains("fix: replace it with a regular file, or remove it, and run devenv init again"), "\(result.stderr)")
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "# mine\n")
        #expect(!FileManager.default.fileExists(atPath: repository.path + "/.devenv/devenv.toml"), "refused before writing anything")

        // A symlinked directory on the way to a file init writes is refused the same way.
        try FileManager.default.removeItem(atPath: repository.path + "/.gitignore")
        try FileManager.default.createSymbolicLink(atPath: repository.path + "/.devenv", withDestinationPath: outside.path)
        let throughDirectory = try initialize([])
        #expect(throughDirectory.status == 1, "\(throughDirectory.output)")
        #expect(throughDirectory.stderr.contains("\(repository.path)/.devenv is a symlink"), "\(throughDirectory.stderr)")
        #expect(throughDirectory.stderr.contains("fix: replace it with a regular directory"), "\(throughDirectory.stderr)")
        #expect(!FileManager.default.fileExists(atPath: outside.path + "/devenv.toml"))
    }

    @Test func dashCNamesTheProjectAndOutsideARepositoryTheDirectoryIsIt() throws {
        let plain = try TemporaryDirectory("init-plain")
        let result = try Shell.run(try TestEnvironment.binary(), ["init", "-q", "-C", plain.path, "--template", "node"])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.isEmpty)
        #expect(FileManager.default.fileExists(atPath: plain.path + "/.devenv/devenv.toml"))
        #expect(FileManager.default.fileExists(atPath: plain.path + "/hello.js"))
        #expect(try String(contentsOfFile: plain.path + "/.gitignore", encoding: .utf8) == "node_modules/\n")
    }

    @Test func anUnknownTemplateListsTheNames() throws {
        let result = try initialize(["--template", "pyhton"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("unknown template \"pyhton\"; the templates are: \(Self.names.joined(separator: ", "))"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: repository.path + "/.devenv"))
    }

    @Test func listDescribesEveryTemplateAsTextAndJSON() throws {
        let text = try initialize(["--list"])
        #expect(text.status == 0, "\(text.output)")
        let lines = text.stdout.split(separator: "\n")
        #expect(lines.map { String($0.prefix { $0 != " " }) } == Self.names)
        #expect(lines.first?.hasSuffix("(default)") == true)
        #expect(!FileManager.default.fileExists(atPath: repository.path + "/.devenv"))

        let json = try initialize(["--list", "--json"])
        #expect(json.status == 0, "\(json.output)")
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(entries.compactMap { $0["name"] as? String } == Self.names)
        for entry in entries {
            let name = entry["name"] as? String ?? ""
            #expect((entry["description"] as? String)?.isEmpty == false, "\(name)")
            #expect((entry["check"] as? String)?.isEmpty == false, "\(name)")
            #expect((entry["files"] as? [String])?.isEmpty == false, "\(name)")
        }

        let usage = try initialize(["--json"])
        #expect(usage.status == 2)
    }

    @Test func theEmbeddedTemplatesMatchTemplatesFolder() throws {
        let check = try Shell.run(Self.sourceRoot + "/scripts/gen-templates", ["--check"])
        #expect(check.status == 0, "\(check.output)")
        let folders = try FileManager.default.contentsOfDirectory(atPath: Self.sourceRoot + "/templates").sorted()
        #expect(folders == Self.names.sorted())
    }

    /// Every template's manifest is valid (devenv doctor parses it) and names an image the
    /// registry has once --base points it at the test registry's Debian.
    @Test func everyTemplateWritesAValidManifest() throws {
        let base = "\(try TestEnvironment.registry())/fixtures/debian:bookworm"
        for name in Self.names {
            #expect(try initialize(["--force", "--template", name, "--base", base]).status == 0)
            let doctor = try Shell.run(try TestEnvironment.binary(), ["doctor", "--json", "-C", repository.path])
            let report = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any], "\(doctor.output)")
            let checks = report["checks"] as? [[String: Any]] ?? []
            let manifest = checks.first { $0["name"] as? String == "manifest" }
            #expect(manifest?["status"] as? String == "ok", "\(name): \(manifest ?? [:])")
            #expect((manifest?["detail"] as? String)?.hasSuffix("base image \(base)") == true, "\(name): \(manifest ?? [:])")
            let registry = checks.first { $0["name"] as? String == "registry" }
            #expect(registry?["status"] as? String == "ok", "\(name): \(registry ?? [:])")
        }
    }

    /// The minimal template asks for no packages, so it runs before anything is built.
    @Test func theMinimalHelloWorldRunsInTheEnvironment() throws {
        let store = try TemporaryDirectory("init-store")
        let base = "\(try TestEnvironment.registry())/fixtures/debian:bookworm"
        #expect(try initialize(["-q", "--base", base]).status == 0)
        let run = try Shell.run("/usr/bin/env", ["-C", repository.path + "/sub", try TestEnvironment.binary(),
                                                 "run", "-q", "--store", store.path, "--", "sh", "../hello.sh"])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.stdout == "hello from Debian GNU/Linux 12 (bookworm)\n")
    }
}
