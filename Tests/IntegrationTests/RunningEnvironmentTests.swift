import Foundation
import TestSupport
import Testing

/// Issue 15: `devenv up`, `down`, `ps`, `logs` — services started in dependency order inside one
/// long-lived sandbox, reached from the host through published ports and from `run`, which joins
/// it; restart policies; a service that never gets ready; volumes kept across down and up; and
/// nothing left behind after `down` or after the supervisor is killed. The servers are the base
/// image's perl, so no package is needed. Rootless too (a single-id user gets the error and the
/// fix for a service of another user).
@Suite(.serialized, .tags(.rootless)) struct RunningEnvironmentTests {
    /// A perl server on `port` that answers every connection with `greeting` and closes it.
    static func server(_ greeting: String, port: Int) -> String {
        #"perl -MIO::Socket::INET -e '$|=1; $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => \#(port), Listen => 5, ReuseAddr => 1) or die "listen: $!"; print "listening on \#(port)\n"; while ($c = $s->accept) { print $c "\#(greeting)\n"; close $c }'"#
    }

    /// Exits 0 once something accepts on 127.0.0.1:`port` inside.
    static func connects(_ port: Int) -> String {
        #"perl -MIO::Socket::INET -e 'IO::Socket::INET->new(PeerAddr => "127.0.0.1:\#(port)") or exit 1'"#
    }

    static func manifest(_ name: String, network: String = "none", ports: [String] = [], services: String, volumes: String = "") throws -> String {
        """
        name = "\(name)"

        [base]
        image = "\(try BuildProject.base())"

        [network]
        mode = "\(network)"
        \(ports.isEmpty ? "" : "ports = [\(ports.map { "\"\($0)\"" }.joined(separator: ", "))]")

        \(services)
        \(volumes)
        """
    }

    /// `devenv ps --json` of the project's store: the running environments.
    static func running(_ project: BuildProject) throws -> [[String: Any]] {
        let ps = try project.devenv("ps", ["--json"])
        try #require(ps.status == 0, "\(ps.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]], "\(ps.stdout)")
    }

    static func services(_ environment: [String: Any]) -> [String: [String: Any]] {
        let list = environment["services"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "?", $0) })
    }

    /// Whether `pid` is a live process (a zombie is not: on this machine nobody may reap it).
    static func alive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    /// Every pid the state names: the supervisor, the sandbox's pid 1, the services.
    static func pids(_ environment: [String: Any]) -> [Int32] {
        let sandbox = (environment["sandbox"] as? [String: Any])?["pid"] as? Int
        let services = (environment["services"] as? [[String: Any]] ?? []).compactMap { $0["pid"] as? Int }
        return ([environment["supervisor"] as? Int, sandbox].compactMap { $0 } + services).map(Int32.init)
    }

    /// The pids whose /proc/PID/cmdline is `commandLine` (arguments NUL-terminated).
    static func processes(commandLine: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter {
            FileManager.default.contents(atPath: "/proc/\($0)/cmdline").map { String(decoding: $0, as: UTF8.self) } == commandLine
        }
    }

    static func awaitGone(_ pids: [Int32]) -> [Int32] {
        let deadline = Date().addingTimeInterval(10)
        while pids.contains(where: alive), Date() < deadline { usleep(50_000) }
        return pids.filter(alive)
    }

    @Test func servicesComeUpInOrderAreReachedFromTheHostAndTheShellAndDownLeavesNothing() throws {
        let temp = try TemporaryDirectory("up-services")
        let port = try PublishedPortTests.freePort()
        let project = try BuildProject(try Self.manifest("shop", network: "private", ports: ["\(port):8000"], services: """
            [services.web]
            command = '''\(Self.server("hello from web", port: 8000))'''
            ready = '''\(Self.connects(8000))'''
            depends_on = ["db"]

            [services.db]
            command = '''echo run >> /data/runs; echo "runs: $(wc -l < /data/runs)"; id -un; \(Self.server("hello from db", port: 7000))'''
            ready = '''\(Self.connects(7000))'''
            user = "nobody"
            """, volumes: """
            [volumes]
            "/data" = "dbdata"
            """), store: temp.path + "/store")
        let trusted = try project.devenv("trust", ["-q"])
        try #require(trusted.status == 0, "\(trusted.output)")

        guard RootlessBuildTests.hasSubordinateIDs() || getuid() == 0 else {
            // Without subordinate ids: no private network, said before anything is built …
            let refused = try project.devenv("up", ["-d"])
            #expect(refused.status == 1 && refused.stderr.contains("a private network needs id 0"), "\(refused.output)")
            #expect(!refused.stderr.contains("Building"), "\(refused.stderr)")
            // … and no service of another user, said before anything starts.
            let manifest = try String(contentsOfFile: project.manifestPath, encoding: .utf8)
            try project.write(manifest.replacingOccurrences(of: "mode = \"private\"", with: "mode = \"none\"")
                .replacingOccurrences(of: "ports = [\"\(port):8000\"]", with: ""))
            let single = try project.devenv("up", ["-d"])
            #expect(single.status == 1, "\(single.output)")
            #expect(single.stderr.contains("service \"db\" runs as nobody") && single.stderr.contains("single-id mapping"), "\(single.stderr)")
            #expect(single.stderr.contains("fix: add subordinate ids"), "\(single.stderr)")
            #expect(try Self.running(project).isEmpty)
            return
        }
        let up = try project.devenv("up", ["-d"])
        try #require(up.status == 0, "\(up.output)")
        defer { try? project.devenv("down") }
        // db first: web starts only once db's ready command succeeded.
        let dbReady = try #require(up.stderr.range(of: "db: ready"), "\(up.stderr)")
        let webStarted = try #require(up.stderr.range(of: "web: started"), "\(up.stderr)")
        #expect(dbReady.upperBound <= webStarted.lowerBound, "\(up.stderr)")
        #expect(up.stderr.contains("shop is up: 2 services ready; ports 127.0.0.1:\(port) → 8000"), "\(up.stderr)")

        let environments = try Self.running(project)
        try #require(environments.count == 1, "\(environments)")
        let environment = environments[0]
        #expect(environment["name"] as? String == "shop")
        #expect(environment["ports"] as? [String] == ["\(port):8000"])
        #expect(Self.services(environment).mapValues { $0["status"] as? String } == ["db": "ready", "web": "ready"])
        let table = try project.devenv("ps")
        #expect(table.stdout.contains("db ready, web ready"), "\(table.output)")

        // From the host, through the published port; from a shell, which joins the environment.
        #expect(PublishedPortTests.greeting(port) == "hello from web")
        let joined = try project.sh(#"perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(PeerAddr => "127.0.0.1:7000")->getline'"#)
        #expect(joined.status == 0 && joined.stdout == "hello from db\n", "\(joined.output)")
        // The service runs as the image's user, and its volume is that user's.
        let logs = try project.devenv("logs", ["db"])
        #expect(logs.stdout.contains("\nruns: 1\nnobody\n"), "\(logs.output)")
        #expect(logs.stdout.contains("db: ready"), "\(logs.output)")
        let owner = try project.sh("stat -c %U /data")
        #expect(owner.stdout == "nobody\n", "\(owner.output)")
        // Joined, a command is as confined as in a sandbox of its own: no capabilities, no new
        // privileges, seccomp, in the environment's pid namespace (its pid 1 is the holder).
        let confined = try project.sh("grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; cat /proc/1/comm")
        #expect(confined.stdout == "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\ndevenv-init\n",
                "\(confined.output)")

        let pids = Self.pids(environment)
        #expect(pids.count == 4, "\(environment)")
        let down = try project.devenv("down")
        #expect(down.status == 0 && down.stderr.contains("Stopped shop"), "\(down.output)")
        #expect(Self.awaitGone(pids).isEmpty, "left running after down")
        #expect(!PublishedPortTests.listening(port), "127.0.0.1:\(port) still listens after down")
        #expect(try Self.running(project).isEmpty)
        // Not up any more: run starts a sandbox of its own, which has no db.
        let fresh = try project.sh(Self.connects(7000))
        #expect(fresh.status == 1, "\(fresh.output)")

        // The volume outlives down; --volumes deletes it.
        let again = try project.devenv("up", ["-d"])
        try #require(again.status == 0, "\(again.output)")
        // The fresh run above left a launch record; up makes the next start join instead.
        #expect(try project.sh(Self.connects(7000)).status == 0, "run after up joins it")
        let runs = try project.devenv("logs", ["db"])
        #expect(runs.stdout.contains("\nruns: 2\n"), "\(runs.output)")
        let wiped = try project.devenv("down", ["--volumes"])
        #expect(wiped.status == 0 && wiped.stderr.contains("Deleted volume dbdata"), "\(wiped.output)")
        let third = try project.devenv("up", ["-d"])
        try #require(third.status == 0, "\(third.output)")
        #expect(try project.devenv("logs", ["db"]).stdout.contains("\nruns: 1\n"))
    }

    @Test func aKilledSupervisorTakesItsServicesWithItAndTheNextUpStartsCleanly() throws {
        let temp = try TemporaryDirectory("up-killed")
        // The host's network: joined without entering it again (a rootless user could not).
        let project = try BuildProject(try Self.manifest("killed", network: "host", services: """
            [services.sleeper]
            command = "sleep 1000"
            """), store: temp.path + "/store")
        let up = try project.devenv("up", ["-d"])
        try #require(up.status == 0, "\(up.output)")
        defer { try? project.devenv("down") }
        let environment = try #require(try Self.running(project).first)
        let pids = Self.pids(environment)
        #expect(pids.count == 3, "\(environment)")
        // The second run joins through the launcher's record, without devenv-core; both see the
        // service.
        let sees = "grep -qx 'sleep' /proc/[0-9]*/comm && echo sees the sleeper"
        let traced = ["DEVENV_TRACE_START=1", try TestEnvironment.binary(), "run", "-C", project.path, "--store", project.store, "--",
                      "sh", "-c", sees]
        let first = try Shell.run("/usr/bin/env", traced)
        #expect(first.stdout == "sees the sleeper\n", "\(first.output)")
        let second = try Shell.run("/usr/bin/env", traced)
        #expect(second.stdout == "sees the sleeper\n", "\(second.output)")
        #expect(second.stderr.contains("(joining the running environment)"), "\(second.stderr)")

        kill(Int32(try #require(environment["supervisor"] as? Int)), SIGKILL)
        #expect(Self.awaitGone(pids).isEmpty, "the sandbox and its services outlived their supervisor")
        #expect(try Self.running(project).isEmpty, "a killed supervisor's state is not believed")
        // Its join record names a supervisor that is gone: the start is a full one, in a sandbox
        // of its own.
        let after = try Shell.run("/usr/bin/env", traced)
        #expect(after.status == 1 && after.stdout.isEmpty, "\(after.output)")
        #expect(after.stderr.contains("full start"), "\(after.stderr)")

        let again = try project.devenv("up", ["-d"])
        #expect(again.status == 0, "\(again.output)")
        let restarted = try #require(try Self.running(project).first)
        #expect(Self.services(restarted)["sleeper"]?["status"] as? String == "ready")
    }

    @Test func restartPoliciesRestartWithAPauseOrGiveUp() throws {
        let temp = try TemporaryDirectory("up-restart")
        let project = try BuildProject(try Self.manifest("restarts", services: """
            [services.flaky]
            command = "echo attempt; exit 3"
            restart = "on-failure"

            [services.steady]
            command = "sleep 1000"
            restart = "always"
            """), store: temp.path + "/store")
        let up = try project.devenv("up", ["-d"])
        try #require(up.status == 0, "\(up.output)")
        defer { try? project.devenv("down") }
        // 0.5 s, 1 s, 2 s between attempts: three restarts take 3.5 s.
        var restarts = 0
        let deadline = Date().addingTimeInterval(20)
        while restarts < 3, Date() < deadline {
            usleep(200_000)
            restarts = Self.services(try #require(try Self.running(project).first))["flaky"]?["restarts"] as? Int ?? 0
        }
        #expect(restarts >= 3)
        let logs = try project.devenv("logs", ["flaky"])
        #expect(logs.stdout.contains("attempt") && logs.stdout.contains("flaky: exited with status 3; restarting in 1.0 s"), "\(logs.stdout)")
        let steady = Self.services(try #require(try Self.running(project).first))["steady"]
        #expect(steady?["restarts"] as? Int == 0)

        // restart = "always" also restarts a service that exits 0 or is killed.
        let pid = Int32(try #require(steady?["pid"] as? Int))
        kill(pid, SIGKILL)
        let after = Date().addingTimeInterval(10)
        var again = 0
        while again == 0, Date() < after {
            usleep(100_000)
            again = Self.services(try #require(try Self.running(project).first))["steady"]?["restarts"] as? Int ?? 0
        }
        #expect(again == 1)
        let killedLog = try project.devenv("logs", ["steady"])
        #expect(killedLog.stdout.contains("steady: was killed by signal 9; restarting in 0.5 s"), "\(killedLog.stdout)")
    }

    @Test func aServiceThatFailsOrNeverGetsReadyFailsUpAndLeavesNothing() throws {
        let temp = try TemporaryDirectory("up-fails")
        let project = try BuildProject(try Self.manifest("fails", services: """
            [services.broken]
            command = "echo 'config error: no such table'; sleep 0.3; exit 3"
            ready = "false"
            """), store: temp.path + "/store")
        let failed = try project.devenv("up", ["-d"])
        #expect(failed.status == 1, "\(failed.output)")
        #expect(failed.stderr.contains("service broken exited with status 3 (restart = \"no\"); the environment was taken down again"), "\(failed.stderr)")
        #expect(failed.stderr.contains("    config error: no such table"), "its last log lines: \(failed.stderr)")
        #expect(try Self.running(project).isEmpty)

        try project.write(try Self.manifest("fails", services: """
            [services.never]
            command = "sleep 1234"
            ready = "test -e /nonexistent"
            """))
        let timedOut = try project.devenv("up", ["-d", "--timeout", "2"])
        #expect(timedOut.status == 1, "\(timedOut.output)")
        #expect(timedOut.stderr.contains("never not ready after 2 s (its ready command `test -e /nonexistent` has not succeeded)"), "\(timedOut.stderr)")
        #expect(try Self.running(project).isEmpty)
        #expect(Self.processes(commandLine: "sleep\u{0}1234\u{0}").filter(Self.alive).isEmpty, "the service outlived the failed up")
    }

    /// Without -d, up shows the services' output, each line after the service's name, and
    /// Ctrl-C (SIGINT) takes the environment down.
    @Test func inTheForegroundUpFollowsTheLogsAndCtrlCTakesItDown() throws {
        let temp = try TemporaryDirectory("up-foreground")
        let project = try BuildProject(try Self.manifest("foreground", services: """
            [services.talker]
            command = "echo hello from talker; sleep 1000"
            """), store: temp.path + "/store")
        let built = try project.devenv("build", ["-q"])
        try #require(built.status == 0, "\(built.output)")
        let output = temp.path + "/up.out"
        FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["up", "-C", project.path, "--store", project.store]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let deadline = Date().addingTimeInterval(60)
        var shown = ""
        while !shown.contains("talker | hello from talker"), process.isRunning, Date() < deadline {
            usleep(100_000)
            shown = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
        #expect(shown.contains("talker | hello from talker"), "\(shown)")
        let pids = Self.pids(try #require(try Self.running(project).first))
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(Self.awaitGone(pids).isEmpty, "left running after Ctrl-C")
        #expect(try Self.running(project).isEmpty)
    }

    /// A service that ignores SIGTERM is killed after the grace period, and down still leaves
    /// nothing behind.
    @Test func aServiceThatIgnoresSIGTERMIsKilledAfterTheGracePeriod() throws {
        let temp = try TemporaryDirectory("up-stubborn")
        let project = try BuildProject(try Self.manifest("stubborn", services: """
            [services.stubborn]
            command = "trap '' TERM; echo ignoring TERM; sleep 1000"
            """), store: temp.path + "/store")
        let up = try project.devenv("up", ["-d"])
        try #require(up.status == 0, "\(up.output)")
        let pids = Self.pids(try #require(try Self.running(project).first))
        let down = try project.devenv("down")
        #expect(down.status == 0 && down.stderr.contains("Stopped stubborn"), "\(down.output)")
        #expect(Self.awaitGone(pids).isEmpty, "left running after down")
        let logs = try project.devenv("logs", ["stubborn"])
        #expect(logs.stdout.contains("ignoring TERM"), "\(logs.stdout)")
        #expect(logs.stdout.contains("stubborn: still running after 10 s: killing it"), "\(logs.stdout)")
        #expect(logs.stdout.contains("stubborn: stopped"), "\(logs.stdout)")
    }
}
