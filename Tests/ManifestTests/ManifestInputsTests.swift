import Foundation
import TestSupport
import Testing
@testable import Manifest

/// Issue 16: repository files as build inputs — `pip = ["-r requirements.txt"]` and a setup
/// step's `files` — read from inside the project only, with errors naming the file and line.
@Suite struct ManifestInputsTests {
    let scratch: TemporaryDirectory
    let project: String
    var manifestPath: String { project + "/.devenv/devenv.toml" }

    init() throws {
        scratch = try TemporaryDirectory("ManifestInputsTests")
        project = scratch.path
        try FileManager.default.createDirectory(atPath: project + "/.devenv", withIntermediateDirectories: true)
    }


    func write(_ path: String, _ text: String) throws {
        let full = project + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: full, atomically: true, encoding: .utf8)
    }

    func load(_ manifest: String) throws -> Manifest {
        try write(".devenv/devenv.toml", manifest)
        return try Manifest.load(path: manifestPath, home: "/h")
    }

    func loadError(_ manifest: String) throws -> ManifestError {
        do {
            _ = try load(manifest)
        } catch let error as ManifestError {
            return error
        }
        Issue.record("the manifest loaded")
        throw CancellationError()
    }

    static let base = "[base]\nimage = \"debian:bookworm\"\n"

    @Test func requirementsFilesExpandIntoPipWithIncludesRelativeToTheIncludingFile() throws {
        try write("requirements.txt", """
            # pinned for production
            django==4.2.16 \\
                --hash=sha256:aaaa --hash=sha256:bbbb
            requests>=2.31  # comment after a requirement
            -r reqs/dev.txt

            """)
        try write("reqs/dev.txt", "pytest==8.3.3\r\n--requirement ../common.txt\r\n")
        try write("common.txt", "six==1.16.0\ndjango==4.2.16\n")
        let manifest = try load(Self.base + "[packages]\npip = [\"attrs\", \"-r requirements.txt\"]\n")
        #expect(manifest.packages.pip == ["attrs", "django==4.2.16", "requests>=2.31", "pytest==8.3.3", "six==1.16.0"])
        #expect(manifest.packages.requirementsFiles.map(\.path) == ["requirements.txt"])
        #expect(manifest.inputFiles.map(\.path) == ["common.txt", "reqs/dev.txt", "requirements.txt"])
        #expect(manifest.inputFiles.allSatisfy { $0.digest.count == 64 })
    }

    @Test func aRequirementsFileOptionThatEscapesTheLockIsRefusedAtItsLine() throws {
        for (line, option) in [("--index-url https://evil.example/simple", "--index-url"), ("-e .", "-e"),
                               ("-c constraints.txt", "-c"), ("--find-links /tmp", "--find-links")] {
            try write("requirements.txt", "six==1.16.0\n\(line)\n")
            let error = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
            #expect(error.file == project + "/requirements.txt")
            #expect(error.position == SourcePosition(line: 2, column: 1))
            #expect(error.problem.contains("pip option \"\(option)\" is not taken here"), "\(error)")
        }
        try write("requirements.txt", "six==1.16.0 --no-binary :all:\n")
        let after = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
        #expect(after.problem.contains("\"--no-binary\" after a requirement"), "\(after)")
        try write("requirements.txt", "not a requirement!\n")
        let bad = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
        #expect(bad.position.line == 1 && bad.problem.hasPrefix("requirement \"not a requirement!\""), "\(bad)")
    }

    @Test func requirementsFilesOutsideTheRepositoryOrInACircleAreRefused() throws {
        let outside = try loadError(Self.base + "[packages]\npip = [\"-r ../secrets.txt\"]\n")
        #expect(outside.file == manifestPath && outside.position.line == 4, "\(outside)")
        #expect(outside.problem.contains("has an empty, . or .. component"), "\(outside)")
        #expect(try loadError(Self.base + "[packages]\npip = [\"-r /etc/passwd\"]\n").problem.contains("absolute"))

        try write("requirements.txt", "-r ../../etc/passwd\n")
        let climbing = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
        #expect(climbing.file == project + "/requirements.txt" && climbing.problem.contains("not a file inside the repository"), "\(climbing)")

        try FileManager.default.removeItem(atPath: project + "/requirements.txt")
        try FileManager.default.createSymbolicLink(atPath: project + "/requirements.txt", withDestinationPath: "/etc/passwd")
        let symlink = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
        #expect(symlink.file == manifestPath && symlink.problem.contains("outside the project"), "\(symlink)")

        try FileManager.default.removeItem(atPath: project + "/requirements.txt")
        try write("requirements.txt", "-r b.txt\n")
        try write("b.txt", "-r requirements.txt\n")
        let circle = try loadError(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n")
        #expect(circle.description.contains("requirements.txt includes b.txt includes requirements.txt again"), "\(circle)")

        let missing = try loadError(Self.base + "[packages]\npip = [\"-r missing.txt\"]\n")
        #expect(missing.file == manifestPath && missing.position == SourcePosition(line: 4, column: 8), "\(missing)")
        #expect(missing.problem == "pip entry \"-r missing.txt\": it does not exist", "\(missing)")
    }

    @Test func setupFilesAreHashedAndNamedWhereTheManifestListsThem() throws {
        try write("package.json", "{}\n")
        try write("web/package-lock.json", "{\"lockfileVersion\": 3}\n")
        let manifest = try load(Self.base + """
            [[setup]]
            name = "deps"
            run = "cat $DEVENV_FILES/package.json"
            files = ["package.json", "web/package-lock.json"]
            """)
        #expect(manifest.setup[0].files.map(\.path) == ["package.json", "web/package-lock.json"])
        #expect(manifest.inputFiles.map(\.path) == ["package.json", "web/package-lock.json"])

        let missing = try loadError(Self.base + "[[setup]]\nname = \"deps\"\nrun = \"true\"\nfiles = [\"package.json\", \"yarn.lock\"]\n")
        #expect(missing.position == SourcePosition(line: 6, column: 26), "\(missing)")
        #expect(missing.problem == "setup step \"deps\" reads \"yarn.lock\": it does not exist", "\(missing)")
        let directory = try loadError(Self.base + "[[setup]]\nname = \"deps\"\nrun = \"true\"\nfiles = [\"web\"]\n")
        #expect(directory.problem == "setup step \"deps\" reads \"web\": it is a directory", "\(directory)")
        for bad in ["/etc/shadow", "../x", "a//b", ".git/config", "./package.json", ""] {
            let error = try loadError(Self.base + "[[setup]]\nname = \"deps\"\nrun = \"true\"\nfiles = [\"\(bad)\"]\n")
            #expect(error.file == manifestPath && error.position.line == 6, "\(bad): \(error)")
        }
        let twice = try loadError(Self.base + "[[setup]]\nname = \"deps\"\nrun = \"true\"\nfiles = [\"package.json\", \"package.json\"]\n")
        #expect(twice.problem.contains("twice"), "\(twice)")
    }

    @Test func aParsedManifestReadsNoFiles() throws {
        let manifest = try Manifest.parse(Self.base + "[packages]\npip = [\"-r requirements.txt\"]\n", file: "m", home: "/h")
        #expect(manifest.packages.pip.isEmpty)
        #expect(manifest.packages.requirementsFiles.map(\.path) == ["requirements.txt"])
        #expect(manifest.inputFiles.isEmpty)
    }
}
