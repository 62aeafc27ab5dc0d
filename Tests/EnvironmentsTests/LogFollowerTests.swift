import Foundation
import TestSupport
import Testing
@testable import Environments

/// `devenv up` in the foreground and `devenv logs -f`: a service's log as it grows.
@Suite struct LogFollowerTests {
    let scratch: TemporaryDirectory
    let path: String

    init() throws {
        scratch = try TemporaryDirectory("log-follower")
        path = scratch.path + "/db.log"
    }

    func append(_ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    @Test func onlyWholeLinesAreShownAndAPartialLineWaitsForItsNewline() throws {
        var follower = LogFollower(path: path, prefix: "db")
        #expect(follower.newLines() == [], "no log yet")
        try scratch.file("db.log", "listening on 5432\nacc")
        #expect(follower.newLines() == ["listening on 5432"])
        #expect(follower.newLines() == [], "nothing new")
        try append("epted conn")
        #expect(follower.newLines() == [], "still no newline")
        try append("ection\n\nclosed\n")
        #expect(follower.newLines() == ["accepted connection", "", "closed"])
        #expect(follower.newLines() == [])
    }

    /// A restarted `up` moves the log to db.log.1 and starts a new one.
    @Test func aLogThatShrankIsReadFromItsStart() throws {
        var follower = LogFollower(path: path, prefix: "db")
        try scratch.file("db.log", "first run, line one\nfirst run, line two\nhalf")
        #expect(follower.newLines() == ["first run, line one", "first run, line two"])
        #expect(rename(path, path + ".1") == 0)
        try scratch.file("db.log", "second run\n")
        #expect(follower.newLines() == ["second run"], "the old run's partial line is dropped")
        try append("more\n")
        #expect(follower.newLines() == ["more"])
    }
}
