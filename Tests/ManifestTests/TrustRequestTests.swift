import Testing
@testable import Manifest

/// What a manifest asks the user to approve (`devenv trust`), and the digest an approval records.
@Suite struct TrustRequestTests {
    func requests(_ extra: String, base: String = "[base]\nimage = \"debian:bookworm\"\n") throws -> [TrustRequest] {
        TrustRequest.requests(of: try Manifest.parse(base + extra, file: "/p/.devenv/devenv.toml", home: "/home/ada"))
    }

    func digest(_ extra: String, base: String = "[base]\nimage = \"debian:bookworm\"\n") throws -> String {
        TrustRequest.digest(try requests(extra, base: base).map(\.canonical))
    }

    @Test func aManifestInsideTheRepositoryAsksForNothing() throws {
        #expect(try requests("""
            [packages]
            apt = ["jq"]
            [env]
            A = "b"
            [[setup]]
            name = "s"
            run = "make install"
            [shell]
            command = "/bin/bash"
            workdir = "/workspace"
            [network]
            mode = "none"
            [security]
            seccomp = "default"
            """).isEmpty)
        #expect(try requests("", base: "[base]\nbootstrap = \"debian:bookworm\"\nmirror = \"http://mirror.example/debian\"\n").isEmpty)
    }

    /// A published port is a port of the host's loopback answered by the repository's code: a
    /// cloned project could otherwise sit on 5432 and take the password of the user's psql.
    @Test func everyPublishedPortIsARequest() throws {
        let found = try requests("[network]\nmode = \"private\"\nports = [\"8000\", \"5432:15432\"]\n")
        #expect(found.map(\.canonical) == ["publish 127.0.0.1:8000 8000", "publish 127.0.0.1:5432 15432"])
        #expect(found[1].line(file: "devenv.toml") == "devenv.toml:5: [network] ports \"5432:15432\": the host's 127.0.0.1:5432 answered by the environment's port 15432")
        #expect(try digest("[network]\nmode = \"private\"\nports = [\"8000\"]\n") != (try digest("[network]\nmode = \"private\"\nports = [\"8001:8000\"]\n")))
        #expect(try requests("[network]\nmode = \"private\"\n").isEmpty)
    }

    @Test func everyMountAndAnUnconfinedFilterAreRequestsWithTheirLines() throws {
        let found = try requests("""
            [mounts]
            "~/.ssh" = "rw"
            "/srv/data" = "ro"
            [security]
            seccomp = "unconfined"
            """)
        #expect(found.map { $0.line(file: "/p/.devenv/devenv.toml") } == [
            #"/p/.devenv/devenv.toml:4: [mounts] "~/.ssh" = "rw": host path /home/ada/.ssh, read-write"#,
            #"/p/.devenv/devenv.toml:5: [mounts] "/srv/data" = "ro": host path /srv/data, read-only"#,
            #"/p/.devenv/devenv.toml:7: [security] seccomp = "unconfined": no system call filter (code inside can make every system call the kernel has)"#,
        ])
        #expect(found.map(\.canonical) == [#"mount read-write "/home/ada/.ssh""#, #"mount read-only "/srv/data""#, "seccomp unconfined"])
        // An inline table has no line of its own for seccomp: its table's line is named.
        #expect(try requests("", base: "name = \"x\"\nsecurity = { seccomp = \"unconfined\" }\n[base]\nimage = \"d\"\n").first?.position?.line == 2)
    }

    @Test func theDigestCoversWhatIsAskedForNotWhereOrHowItIsWritten() throws {
        let approved = try digest("[mounts]\n\"~/.ssh\" = \"rw\"\n\"/srv\" = \"ro\"\n")
        #expect(approved.hasPrefix("sha256:") && approved.count == 71)
        // Other lines, order, other packages and env, the same path written out: the same requests.
        #expect(try digest("[packages]\napt = [\"jq\"]\n[env]\nA = \"1\"\n[mounts]\n\"/srv\" = \"ro\"\n\"/home/ada/.ssh\" = \"rw\"\n") == approved)
        // Another mode, another path, one more request or one fewer: something else to approve.
        for other in ["[mounts]\n\"~/.ssh\" = \"ro\"\n\"/srv\" = \"ro\"\n",
                      "[mounts]\n\"~/.ssh\" = \"rw\"\n\"/srv/other\" = \"ro\"\n",
                      "[mounts]\n\"~/.ssh\" = \"rw\"\n\"/srv\" = \"ro\"\n[security]\nseccomp = \"unconfined\"\n",
                      "[mounts]\n\"~/.ssh\" = \"rw\"\n"] {
            #expect(try digest(other) != approved, "\(other)")
        }
    }

    @Test func pathsAreQuotedInFullSoTwoNeverLookAlike() {
        #expect(TrustRequest.quote("/a\"b\\c\u{1}") == #""/a\"b\\c\u0001""#)
        let long = "/" + String(repeating: "x", count: 300)
        #expect(TrustRequest.quote(long) != TrustRequest.quote(long + "y"))
    }
}
