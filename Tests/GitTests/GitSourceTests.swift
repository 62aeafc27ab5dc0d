import Foundation
@testable import Git
import TestSupport
import Testing

/// What a pushed image names as its source (issue 14): origin's URL without credentials, HEAD's commit.
@Suite struct GitSourceTests {
    @Test func originWithoutCredentialsAndTheCommitHEADPointsAt() throws {
        let scratch = try TemporaryDirectory("git-source")
        try runTool("git", ["init", "-q", scratch.path])
        #expect(GitRepository.source(of: scratch.path) == GitRepository.Source(url: nil, commit: nil), "a repository without commits or origin")
        try runTool("git", ["-C", scratch.path, "-c", "user.name=t", "-c", "user.email=t@e", "commit", "-q", "--allow-empty", "-m", "one"])
        try runTool("git", ["-C", scratch.path, "remote", "add", "origin", "https://ada:ghp_secret@git.example.com/team/app.git"])
        let commit = try runTool("git", ["-C", scratch.path, "rev-parse", "HEAD"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let source = try #require(GitRepository.source(of: scratch.path))
        #expect(source.commit == commit)
        #expect(source.url == "https://git.example.com/team/app.git")
        #expect(GitRepository.source(of: scratch.path + "/missing") == nil)
    }

    @Test func tokensLeaveURLsAndSSHUserNamesStay() {
        #expect(GitRepository.withoutCredentials("git@github.com:team/app.git") == "git@github.com:team/app.git")
        #expect(GitRepository.withoutCredentials("https://github.com/team/app") == "https://github.com/team/app")
        #expect(GitRepository.withoutCredentials("ssh://git@host:2222/app.git") == "ssh://git@host:2222/app.git")
        #expect(GitRepository.withoutCredentials("https://ghp_token@github.com/team/app") == "https://github.com/team/app")
        #expect(GitRepository.withoutCredentials("ssh://git:pw@host/app.git") == "ssh://git@host/app.git")
    }
}
