import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12, item 4: a build step — which `devenv clone` runs without asking — reaches the
/// internet but not the services on the developer's loopback (here the test registry on
/// 127.0.0.1). Its network helper, slirp4netns, ends with the build, also when devenv is killed.
@Suite(.serialized, .tags(.rootless)) struct BuildNetworkTests {
    let store: TemporaryDirectory

    init() throws {
        store = try TemporaryDirectory("build-network")
    }

    /// A locked project on the test registry's Debian with one setup step.
    func lockedProject(step: String, run: String) throws -> BuildProject {
        let project = try BuildProject("""
            [base]
            image = "\(try BuildProject.base())"

            [[setup]]
            name = "\(step)"
            run = "\(run)"
            """, store: store.path)
        let locked = try project.devenv("lock")
        try #require(locked.status == 0, "\(locked.output)")
        return project
    }

    /// A step that tries each address and writes what happened to /opt/probe.
    static func probe(port: String) -> String {
        let targets = [
            "127.0.0.1/\(port)", // the host's loopback, if the step shared the host's network
            "10.0.2.2/\(port)", // slirp4netns's alias for the host, which maps to its loopback unless disabled
            "::1/\(port)",
            "deb.debian.org/80", // the internet, by name: the resolver works too
        ]
        return targets.map { target in
            "if timeout 10 bash -c 'exec 3<>/dev/tcp/\(target)' 2>/dev/null; then echo \(target) reached; else echo \(target) refused; fi >> /opt/probe"
        }.joined(separator: "; ")
    }

    @Test func aBuildStepReachesTheInternetButNotTheHostLoopback() throws {
        let port = try #require(try TestEnvironment.registry().split(separator: ":").last.map(String.init))
        // The control: on the host the registry is there.
        let host = try Shell.run("bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"])
        try #require(host.status == 0, "the test registry is not listening on 127.0.0.1:\(port)")

        let project = try lockedProject(step: "probe", run: Self.probe(port: port))
        let built = try project.devenv("build")
        try #require(built.status == 0, "\(built.output)")
        let probe = try project.sh("cat /opt/probe")
        #expect(probe.stdout == """
            127.0.0.1/\(port) refused
            10.0.2.2/\(port) refused
            ::1/\(port) refused
            deb.debian.org/80 reached

            """, "\(probe.output)")
    }

    @Test func theNetworkHelperEndsWhenDevenvIsKilled() throws {
        let project = try lockedProject(step: "long", run: "sleep 60")
        let build = Process()
        build.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        build.arguments = ["build", "-C", project.path, "--store", store.path]
        let errors = Pipe()
        build.standardError = errors
        try build.run()
        var seen = ""
        while !seen.contains("long: running") {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        try #require(seen.contains("long: running"), "\(seen)")
        // "running" is printed as the step's sandbox is being made: give it a moment.
        var helpers: [Int32] = []
        let started = Date().addingTimeInterval(10)
        while helpers.isEmpty, Date() < started {
            helpers = Self.descendants(of: build.processIdentifier, named: "slirp4netns")
            usleep(50_000)
        }
        #expect(helpers.count == 1, "the running step has its network helper: \(helpers)")

        kill(build.processIdentifier, SIGKILL)
        build.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while helpers.contains(where: { kill($0, 0) == 0 }), Date() < deadline { usleep(50_000) }
        #expect(!helpers.contains { kill($0, 0) == 0 }, "slirp4netns outlived the killed build")
    }

    /// Processes named `name` below `ancestor` (devenv runs devenv-core, which runs the helper).
    static func descendants(of ancestor: Int32, named name: String) -> [Int32] {
        var parents: [Int32: Int32] = [:], names: [Int32: Substring] = [:]
        for pid in ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap(Int32.init) {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 1, let parent = Int32(fields[1]) else { continue }
            parents[pid] = parent
            names[pid] = stat[stat.index(after: open)..<close]
        }
        return names.filter { $0.value == name }.keys.filter { pid in
            var current = pid
            while let parent = parents[current], parent > 1 {
                if parent == ancestor { return true }
                current = parent
            }
            return false
        }
    }
}
