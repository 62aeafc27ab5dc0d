import Foundation
import Git
import TestSupport
import Testing

/// Clones of a bare repository made with the git CLI, by path and by file:// URL, and the
/// failures that must leave nothing behind.
@Suite struct GitCloneTests {
    let scratch: TemporaryDirectory
    let base: String
    let bare: String

    init() throws {
        scratch = try TemporaryDirectory("clone")
        base = scratch.path
        let work = base + "/work"
        bare = base + "/origin.git"
        try FileManager.default.createDirectory(atPath: work + "/.devenv", withIntermediateDirectories: true)
        try "[base]\nimage = \"debian:bookworm\"\n".write(toFile: work + "/.devenv/devenv.toml", atomically: true, encoding: .utf8)
        // Enough objects for libgit2 to report transfer progress more than once.
        for i in 0..<50 {
            try String(repeating: "line \(i)\n", count: 200).write(toFile: work + "/file\(i).txt", atomically: true, encoding: .utf8)
        }
        try git(["init", "-q", "-b", "main", work])
        try git(["-C", work, "add", "."])
        try git(["-C", work, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "-m", "init"])
        try git(["clone", "-q", "--bare", work, bare])
    }

    func git(_ args: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = args
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "git \(args.joined(separator: " "))")
    }

    func gitOutput(_ args: [String]) throws -> String {
        let process = Process()
        let out = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = args
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything in `base` but the fixtures: what a clone left behind.
    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: base).filter { $0 != "work" && $0 != "origin.git" }.sorted()
    }

    @Test func clonesAPathAndChecksOutTheDefaultBranch() throws {
        var phases: [CloneProgress.Phase] = []
        var last = CloneProgress(phase: .receiving)
        try GitRepository.clone(url: bare, into: base + "/copy") { progress in
            if phases.last != progress.phase { phases.append(progress.phase) }
            last = progress
            return true
        }
        #expect(FileManager.default.fileExists(atPath: base + "/copy/.devenv/devenv.toml"))
        #expect(try String(contentsOfFile: base + "/copy/file7.txt", encoding: .utf8).hasPrefix("line 7\n"))
        #expect(try gitOutput(["-C", base + "/copy", "status", "--porcelain"]) == "")
        #expect(try gitOutput(["-C", base + "/copy", "rev-parse", "--abbrev-ref", "HEAD"]) == "main")
        #expect(phases.last == .checkingOut)
        #expect(last.checkedOutFiles == last.totalFiles && last.totalFiles > 0)
        #expect(try leftovers() == ["copy"])
    }

    @Test func clonesAFileURLWithTransferProgress() throws {
        var received: [Int] = []
        var totalObjects = 0
        try GitRepository.clone(url: "file://" + bare, into: base + "/nested/deeper/copy") { progress in
            if progress.phase == .receiving {
                received.append(progress.receivedObjects)
                totalObjects = progress.totalObjects
            }
            return true
        }
        #expect(FileManager.default.fileExists(atPath: base + "/nested/deeper/copy/file49.txt"))
        #expect(totalObjects > 50)
        #expect(received.last == totalObjects)
        #expect(try gitOutput(["-C", base + "/nested/deeper/copy", "config", "remote.origin.url"]) == "file://" + bare)
    }

    @Test func aRelativePathBecomesAnAbsoluteOrigin() throws {
        // Relative to the working directory, by way of /, without changing it for other tests.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + bare.dropFirst()
        try GitRepository.clone(url: relative, into: base + "/copy")
        #expect(try gitOutput(["-C", base + "/copy", "config", "remote.origin.url"]) == bare)
    }

    @Test func aBadURLFailsWithLibgit2sReasonAndLeavesNothing() throws {
        let error = try #require(throws: GitError.self) {
            try GitRepository.clone(url: base + "/no-such-repo.git", into: base + "/new/copy")
        }
        #expect(error.code == .library)
        #expect(error.message == "cannot clone \(base)/no-such-repo.git: there is no repository at that path")
        #expect(try leftovers() == [])

        let notARepository = try #require(throws: GitError.self) {
            try GitRepository.clone(url: "file://\(base)/work/.devenv", into: base + "/copy")
        }
        #expect(notARepository.message.hasPrefix("cannot clone file://\(base)/work/.devenv: "), "\(notARepository.message)")
        #expect(notARepository.message.count > "cannot clone file://\(base)/work/.devenv: ".count + 5)
        #expect(try leftovers() == [])

        let unsupported = try #require(throws: GitError.self) {
            try GitRepository.clone(url: "nosuch://example.invalid/repo", into: base + "/copy")
        }
        #expect(unsupported.message == "cannot clone nosuch://example.invalid/repo: unknown scheme for URL 'nosuch://example.invalid/repo'")
        #expect(try leftovers() == [])
    }

    @Test func anExistingDirectoryIsRefusedUnlessEmpty() throws {
        try FileManager.default.createDirectory(atPath: base + "/taken", withIntermediateDirectories: true)
        try "mine\n".write(toFile: base + "/taken/notes", atomically: true, encoding: .utf8)
        let error = try #require(throws: GitError.self) { try GitRepository.clone(url: bare, into: base + "/taken") }
        #expect(error.code == .destinationExists)
        #expect(error.message == "destination path \(base)/taken already exists and is not an empty directory")
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/taken") == ["notes"])

        try "x".write(toFile: base + "/file", atomically: true, encoding: .utf8)
        #expect(throws: GitError.self) { try GitRepository.clone(url: bare, into: base + "/file") }

        try FileManager.default.createDirectory(atPath: base + "/empty", withIntermediateDirectories: true)
        try GitRepository.clone(url: bare, into: base + "/empty")
        #expect(FileManager.default.fileExists(atPath: base + "/empty/file0.txt"))
        #expect(try leftovers() == ["empty", "file", "taken"])
    }

    @Test func aStoppedCloneLeavesNothing() throws {
        let error = try #require(throws: GitError.self) {
            try GitRepository.clone(url: "file://" + bare, into: base + "/parent/copy") { _ in false }
        }
        #expect(error.code == .cancelled)
        #expect(try leftovers() == [])
    }
}
