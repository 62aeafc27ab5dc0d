import Foundation
import Git
import TestSupport
import Testing

@Suite struct GitRepositoryTests {
    func run(_ args: [String], in dir: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["-C", dir] + args
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func findsTheWorkingTreeFromASubfolderAndAWorktree() throws {
        let scratch = try TemporaryDirectory("git")
        let base = scratch.path
        let repo = base + "/project"
        try FileManager.default.createDirectory(atPath: repo + "/src/deep", withIntermediateDirectories: true)
        try run(["init", "-q", "-b", "main"], in: repo)
        try run(["-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "init"], in: repo)
        try run(["worktree", "add", "-q", base + "/linked"], in: repo)

        #expect(GitRepository.discoverWorkingTree(from: repo + "/src/deep") == repo)
        #expect(GitRepository.discoverWorkingTree(from: repo) == repo)
        #expect(GitRepository.discoverWorkingTree(from: base + "/linked") == base + "/linked")
    }

    /// The walk agrees with git itself: a bare repository has no working tree, and a stray empty
    /// `.git` folder is not a repository.
    @Test func agreesWithGitOnBareRepositoriesAndStrayFolders() throws {
        let scratch = try TemporaryDirectory("git")
        let base = scratch.path
        try FileManager.default.createDirectory(atPath: base + "/bare.git", withIntermediateDirectories: true)
        try run(["init", "-q", "--bare"], in: base + "/bare.git")
        #expect(GitRepository.discoverWorkingTree(from: base + "/bare.git") == nil)
        try FileManager.default.createDirectory(atPath: base + "/stray/.git", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/stray/sub", withIntermediateDirectories: true)
        #expect(GitRepository.discoverWorkingTree(from: base + "/stray/sub") == nil)
        try run(["init", "-q"], in: base + "/stray/sub")
        #expect(GitRepository.discoverWorkingTree(from: base + "/stray/sub") == base + "/stray/sub")
    }

    @Test func outsideARepositoryThereIsNone() throws {
        let scratch = try TemporaryDirectory("nogit")
        let dir = scratch.path
        #expect(GitRepository.discoverWorkingTree(from: dir) == nil)
        #expect(GitRepository.libraryVersion.split(separator: ".").count == 3)
    }

    /// Debian's libgit2 is built with TLS and libssh2: devenv clone relies on both.
    @Test func httpsAndSSHAreBuiltIn() {
        #expect(GitRepository.transports == ["https", "ssh"])
    }
}
