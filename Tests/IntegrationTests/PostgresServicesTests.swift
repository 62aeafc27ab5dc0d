import Foundation
import TestSupport
import Testing

/// Issue 15's scenario: two projects, each with its own PostgreSQL as a service of its running
/// environment — 15 from Debian bookworm (the registry's image) and 17 from trixie (bootstrapped
/// from the mirror) — up at once, both on 5432 inside, each published on its own host port;
/// reached from the host and from each project's shell; data kept across down and up; nothing
/// left after down. PostgreSQL refuses to run as root: here it runs as the image's postgres user,
/// as root and rootless.
@Suite(.serialized, .tags(.rootless)) struct PostgresServicesTests {
    static func manifest(_ name: String, base: String, major: Int, port: UInt16) -> String {
        let bin = "/usr/lib/postgresql/\(major)/bin"
        return """
            name = "\(name)"

            [base]
            \(base)

            [packages]
            apt = ["postgresql-\(major)"]

            [env]
            PGHOST = "127.0.0.1"
            PGUSER = "postgres"

            [network]
            mode = "private"
            ports = ["\(port):5432"]

            [services.db]
            user = "postgres"
            command = '''
            [ -f /var/lib/postgresql/data/PG_VERSION ] || \(bin)/initdb --pgdata=/var/lib/postgresql/data --username=postgres --auth=trust --no-instructions
            exec \(bin)/postgres -D /var/lib/postgresql/data -c listen_addresses='*' -k /tmp
            '''
            ready = "\(bin)/pg_isready -h 127.0.0.1 -q"
            restart = "on-failure"

            [volumes]
            "/var/lib/postgresql/data" = "pgdata"
            """
    }

    /// Whether a PostgreSQL server answers on the host's 127.0.0.1:`port`: its reply to an
    /// SSLRequest is one byte, "N" (no TLS) or "S".
    static func postgresAnswers(_ port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = PublishedPortTests.loopback(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
        guard send(descriptor, request, request.count, 0) == request.count else { return false }
        var reply: UInt8 = 0
        return recv(descriptor, &reply, 1, 0) == 1 && (reply == UInt8(ascii: "N") || reply == UInt8(ascii: "S"))
    }

    func psql(_ project: BuildProject, _ sql: String) throws -> Shell.Result {
        try project.devenv("run", ["-q", "--", "psql", "-v", "ON_ERROR_STOP=1", "-tAc", sql])
    }

    @Test func twoPostgreSQLMajorsRunSideBySideOnTheSamePortInside() throws {
        let temp = try TemporaryDirectory("postgres-services")
        let store = temp.path + "/store"
        let port15 = try PublishedPortTests.freePort()
        var port17 = try PublishedPortTests.freePort()
        while port17 == port15 { port17 = try PublishedPortTests.freePort() }
        let pg15 = try BuildProject(Self.manifest("pg15", base: "image = \"\(try BuildProject.base())\"", major: 15, port: port15), store: store)
        let pg17 = try BuildProject(Self.manifest("pg17", base: "bootstrap = \"debian:trixie\"", major: 17, port: port17), store: store)
        for project in [pg15, pg17] {
            let trusted = try project.devenv("trust", ["-q"])
            try #require(trusted.status == 0, "\(trusted.output)")
        }
        guard RootlessBuildTests.hasSubordinateIDs() || getuid() == 0 else {
            // Refused before anything is built: a private network needs subordinate ids.
            let refused = try pg15.devenv("up", ["-d"])
            #expect(refused.status == 1 && refused.stderr.contains("a private network needs id 0"), "\(refused.output)")
            #expect(!refused.stderr.contains("Building"), "\(refused.stderr)")
            return
        }
        defer {
            try? pg15.devenv("down")
            try? pg17.devenv("down")
        }
        for project in [pg15, pg17] {
            let up = try project.devenv("up", ["-d"])
            try #require(up.status == 0, "\(up.output)")
        }
        let environments = try RunningEnvironmentTests.running(pg15)
        #expect(Set(environments.compactMap { $0["name"] as? String }) == ["pg15", "pg17"])

        // From the host, each on its own port; from each shell, its own server on 5432.
        #expect(Self.postgresAnswers(port15))
        #expect(Self.postgresAnswers(port17))
        let version15 = try psql(pg15, "SHOW server_version")
        let version17 = try psql(pg17, "SHOW server_version")
        #expect(version15.status == 0 && version15.stdout.hasPrefix("15."), "\(version15.output)")
        #expect(version17.status == 0 && version17.stdout.hasPrefix("17."), "\(version17.output)")

        // Data in the volume outlives down and up.
        let created = try psql(pg15, "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('across down and up')")
        try #require(created.status == 0, "\(created.output)")
        let pids = RunningEnvironmentTests.pids(try #require(environments.first { $0["name"] as? String == "pg15" }))
        let down = try pg15.devenv("down")
        #expect(down.status == 0, "\(down.output)")
        #expect(RunningEnvironmentTests.awaitGone(pids).isEmpty, "left running after down")
        #expect(!Self.postgresAnswers(port15))
        #expect(Self.postgresAnswers(port17), "the other project's database is untouched")
        let again = try pg15.devenv("up", ["-d"])
        try #require(again.status == 0, "\(again.output)")
        let kept = try psql(pg15, "SELECT v FROM kept")
        #expect(kept.stdout == "across down and up\n", "\(kept.output)")

        for project in [pg15, pg17] { #expect(try project.devenv("down", ["--volumes"]).status == 0) }
        #expect(try RunningEnvironmentTests.running(pg15).isEmpty)
        #expect(!Self.postgresAnswers(port15) && !Self.postgresAnswers(port17))
    }

    /// The postgres template as `devenv init` writes it, checked as init says: `up -d`, then its
    /// check in a shell that joins the running environment. PostgreSQL refuses root, so as root
    /// this is the service's `user` at work.
    @Test func thePostgresTemplatesCheckPassesInItsRunningEnvironment() throws {
        let temp = try TemporaryDirectory("postgres-template")
        let project = temp.path + "/project", store = temp.path + "/store"
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        try #require(try Shell.run("git", ["init", "-q", project]).status == 0)
        let devenv = try TestEnvironment.binary()
        /// devenv COMMAND --store STORE ARGUMENTS… in the project.
        func run(_ arguments: [String]) throws -> Shell.Result {
            try Shell.run("/usr/bin/env", ["-C", project, devenv, arguments[0], "--store", store] + arguments.dropFirst())
        }
        let initialized = try run(["init", "-q", "--template", "postgres", "--base", try BuildProject.base()])
        try #require(initialized.status == 0, "\(initialized.output)")
        guard RootlessBuildTests.hasSubordinateIDs() || getuid() == 0 else {
            let refused = try run(["up", "-d"])
            #expect(refused.status == 1 && refused.stderr.contains("fix: add subordinate ids"), "\(refused.output)")
            return
        }
        let up = try run(["up", "-d"])
        try #require(up.status == 0, "\(up.output)")
        defer { _ = try? run(["down", "--volumes"]) }
        let check = try run(["run", "-q", "--", "sh", "pg-hello.sh"])
        #expect(check.status == 0 && check.stdout.hasPrefix("hello from PostgreSQL 15."), "\(check.output)")
        #expect(check.stdout.hasSuffix("SELECT 1 returned 1\n"), "\(check.output)")
    }
}
