import Foundation
import TestSupport
import Testing

/// Issue 15, `[network] mode = "private"` with `ports`: each environment has a network of its
/// own, so two projects both listen on port 8000 inside, and each is reached from the host on
/// its own published port of 127.0.0.1. Rootless too; without subordinate ids a private network
/// is refused with the fix.
@Suite(.serialized, .tags(.rootless)) struct PublishedPortTests {
    /// A server inside that answers every connection with one line and closes it; the base
    /// image's perl, so no package is needed.
    static func server(_ greeting: String) -> [String] {
        ["perl", "-MIO::Socket::INET", "-e",
         #"$s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => 8000, Listen => 5, ReuseAddr => 1) or die "listen: $!"; "#
            + #"while ($c = $s->accept) { print $c "\#(greeting)\n"; close $c }"#]
    }

    /// The project, approved (`devenv trust`): its ports are requests.
    func project(_ name: String, ports: [String], store: String) throws -> BuildProject {
        let project = try unapproved(name, ports: ports, store: store)
        let trusted = try project.devenv("trust", ["-q"])
        try #require(trusted.status == 0, "\(trusted.output)")
        return project
    }

    func unapproved(_ name: String, ports: [String], store: String) throws -> BuildProject {
        try BuildProject("""
            name = "\(name)"

            [base]
            image = "\(try BuildProject.base())"

            [network]
            mode = "private"
            ports = [\(ports.map { "\"\($0)\"" }.joined(separator: ", "))]
            """, store: store)
    }

    /// 127.0.0.1:`port` as the socket calls take it.
    static func loopback(_ port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// A port of 127.0.0.1 nothing listens on right now.
    static func freePort() throws -> UInt16 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = Self.loopback(0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        try #require(bound, "bind: \(String(cString: strerror(errno)))")
        return UInt16(bigEndian: address.sin_port)
    }

    /// The first line a connection to 127.0.0.1:`port` answers with, or nil when none answers.
    static func greeting(_ port: UInt16) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = Self.loopback(port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        // slirp4netns accepts on the host before the sandbox's server does: no server inside
        // shows as a connection closed without a word.
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    /// `devenv run` of the project's server, in the background.
    func start(_ project: BuildProject, _ command: [String]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["run", "-q", "-C", project.path, "--store", project.store, "--"] + command
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Waits up to 60 s (the first run pulls the base) for `port` to answer.
    static func awaitGreeting(_ port: UInt16, while process: Process) -> String? {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            if let line = greeting(port) { return line }
            usleep(100_000)
        }
        return nil
    }

    @Test func twoProjectsListenOnTheSamePortInsideAndAreReachedOnTheirOwnHostPorts() throws {
        let temp = try TemporaryDirectory("published-ports")
        let store = temp.path + "/store"
        let portA = try Self.freePort()
        var portB = try Self.freePort()
        while portB == portA { portB = try Self.freePort() }
        let a = try project("web-a", ports: ["\(portA):8000"], store: store)
        let b = try project("web-b", ports: ["\(portB):8000"], store: store)
        guard RootlessBuildTests.hasSubordinateIDs() || getuid() == 0 else {
            let refused = try a.devenv("run", ["-q", "--", "true"])
            #expect(refused.status == 1 && refused.stderr.contains("a private network needs id 0"), "\(refused.output)")
            return
        }
        let pulled = try a.devenv("run", ["-q", "--", "true"])
        try #require(pulled.status == 0, "\(pulled.output)")

        let serverA = try start(a, Self.server("hello from a"))
        defer { kill(serverA.processIdentifier, SIGKILL); serverA.waitUntilExit() }
        let serverB = try start(b, Self.server("hello from b"))
        defer { kill(serverB.processIdentifier, SIGKILL); serverB.waitUntilExit() }
        #expect(Self.awaitGreeting(portA, while: serverA) == "hello from a")
        #expect(Self.awaitGreeting(portB, while: serverB) == "hello from b")
        #expect(Self.greeting(portA) == "hello from a", "both at once")

        // The published port goes with the environment: devenv killed, nothing listens there.
        kill(serverA.processIdentifier, SIGKILL)
        serverA.waitUntilExit()
        let deadline = Date().addingTimeInterval(10)
        while Self.listening(portA), Date() < deadline { usleep(100_000) }
        #expect(!Self.listening(portA), "127.0.0.1:\(portA) still listens after its environment was killed")
        #expect(Self.greeting(portB) == "hello from b")
    }

    /// A cloned repository's ports could sit where the user's own clients expect a service of
    /// theirs: each is a request `devenv trust` must approve before anything runs.
    @Test func publishedPortsNeedTheUsersApproval() throws {
        let temp = try TemporaryDirectory("published-port-trust")
        let project = try unapproved("asks", ports: ["\(try Self.freePort()):8000"], store: temp.path + "/store")
        let marker = project.path + "/ran"
        let refused = try project.devenv("run", ["-q", "--", "touch", marker])
        #expect(refused.status == 1, "\(refused.output)")
        #expect(refused.stderr.contains("devenv.toml:8: [network] ports \""), "\(refused.output)")
        #expect(refused.stderr.contains("answered by the environment's port 8000"), "\(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: marker), "an unapproved manifest ran")
    }

    @Test func aHostPortInUseIsRefusedWithTheFixAndNothingRuns() throws {
        let temp = try TemporaryDirectory("published-port-in-use")
        let port = try Self.freePort()
        // Something of the host's already listens there.
        let holder = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(holder) }
        var address = Self.loopback(port)
        let listening = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(holder, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 && listen(holder, 1) == 0 }
        }
        try #require(listening)
        let project = try project("busy", ports: ["\(port):8000"], store: temp.path + "/store")
        let marker = project.path + "/ran"
        let run = try project.devenv("run", ["-q", "--", "touch", marker])
        #expect(run.status == 1, "\(run.output)")
        if RootlessBuildTests.hasSubordinateIDs() || getuid() == 0 {
            #expect(run.stderr.contains("cannot publish port 8000 of the environment on 127.0.0.1:\(port): the host port is in use"), "\(run.output)")
            #expect(run.stderr.contains("fix: choose another host port"), "\(run.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran without its port")
    }

    /// Whether anything accepts connections on 127.0.0.1:`port`.
    static func listening(_ port: UInt16) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = Self.loopback(port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
