import Foundation
@testable import Sandbox
import TestSupport
import Testing

/// `devenv up`'s sandbox: held with no command of its own, joined by one command after another
/// (services, `run`, `enter`), and ended with everything in it by `release`. A busybox layer;
/// CI runs these as root and again as unprivileged users with and without subordinate ids.
/// Serialized: a released sandbox's descriptor numbers are free for the next hold in this process.
@Suite(.serialized, .tags(.rootless)) final class HeldSandboxTests {
    let scratch: TemporaryDirectory
    let layers: String

    /// Busybox's applets the commands use, as links in /bin.
    static let applets = ["sh", "cat", "echo", "sleep", "grep", "readlink"]

    init() throws {
        scratch = try TemporaryDirectory("held-sandbox")
        layers = try scratch.directory("layers")
        try scratch.directory("layers/base/bin")
        try scratch.directory("layers/" + SandboxSpec.scratchName)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: layers + "/base/bin/busybox")
        for applet in Self.applets {
            try FileManager.default.createSymbolicLink(atPath: layers + "/base/bin/" + applet, withDestinationPath: "busybox")
        }
    }

    /// The environment's spec, as `enter` would run `script`: a private /tmp, no network.
    func spec(_ script: String = "true") -> SandboxSpec {
        var spec = SandboxSpec(command: ["/bin/sh", "-c", script], environment: ["PATH=/bin"], workingDirectory: "/",
                               hostname: "held", layersDirectory: layers, layers: ["base"], identity: IDMapping.forInvoker(asRoot: false))
        spec.tmpfs = [SandboxSpec.Tmpfs(target: "/tmp", options: "mode=1777")]
        spec.network = .none
        return spec
    }

    /// `script` joined into `held` and waited for: its exit status and what it wrote (stdout and
    /// stderr, through a file, so no pipe end can stay open in another test's child).
    func join(_ script: String, into held: HeldSandbox) throws -> (status: Int32, output: String) {
        let path = scratch.path + "/output-\(UUID().uuidString)"
        let output = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        try #require(output >= 0)
        defer { close(output) }
        let input = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(input) }
        var spec = spec(script)
        spec.standardInput = input
        spec.standardOutput = output
        spec.standardError = output
        let status = try Sandbox.joinAndWait(spec, target: held.namespaces)
        return (status, String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self))
    }

    @Test func joinedCommandsShareThePidNamespaceAndTmp() throws {
        let held = try Sandbox.hold(spec())
        defer { held.release() }
        #expect(!held.hasEnded())
        let first = try join("echo from-the-first > /tmp/marker; cat /proc/1/comm", into: held)
        #expect(first.status == 0 && first.output == "devenv-init\n", "\(first.output)")
        let second = try join("cat /tmp/marker /proc/1/comm", into: held)
        #expect(second.status == 0 && second.output == "from-the-first\ndevenv-init\n", "\(second.output)")
        // The held sandbox's pid 1 is the one the joined commands see.
        #expect(held.process.pid != getpid() && held.process.isAlive)
    }

    @Test func aJoinedCommandsExitStatusComesBack() throws {
        let held = try Sandbox.hold(spec())
        defer { held.release() }
        #expect(try join("exit 7", into: held).status == 7)
        #expect(try join("kill -TERM $$", into: held).status == 128 + SIGTERM)
        // The sandbox outlives its commands.
        #expect(!held.hasEnded())
        #expect(try join("exit 0", into: held).status == 0)
    }

    /// `[network] mode = "host"`, the default: the sandbox has no network namespace of its own,
    /// and a joined command stays in the host's, which a rootless user could not enter again.
    @Test func aSandboxOnTheHostsNetworkIsJoinedInTheHostsNetwork() throws {
        var spec = spec()
        spec.network = .host
        let held = try Sandbox.hold(spec)
        defer { held.release() }
        let hostNetwork = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        let joined = try join("readlink /proc/self/ns/net", into: held)
        #expect(joined.status == 0 && joined.output == hostNetwork + "\n", "\(joined.output)")
        // And the sandbox's own network namespace otherwise.
        let isolated = try Sandbox.hold(self.spec())
        defer { isolated.release() }
        let own = try join("readlink /proc/self/ns/net", into: isolated)
        #expect(own.status == 0 && own.output.hasPrefix("net:[") && own.output != hostNetwork + "\n", "\(own.output)")
    }

    @Test func releaseEndsEverythingInTheSandboxAndNothingJoinsAfter() throws {
        let held = try Sandbox.hold(spec())
        let devNull = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(devNull) }
        var sleeper = spec("exec sleep 100")
        sleeper.standardInput = devNull
        sleeper.standardOutput = devNull
        sleeper.standardError = devNull
        let pid = try Sandbox.join(sleeper, target: held.namespaces)
        // Started, and seen by the next joined command (busybox names it after the applet).
        let seen = try join("for i in 1 2 3 4 5 6 7 8 9 10; do cat /proc/[0-9]*/comm | grep -qx sleep && exit 0; sleep 0.1; done; exit 1",
                            into: held)
        #expect(seen.status == 0, "the sleep is not in the sandbox's pid namespace: \(seen.output)")

        // A joined command is this process's child, and pid 1's exit waits until every process of
        // its pid namespace is reaped: release returns only once the sleep is, so it runs on a
        // thread of its own while this one reaps.
        let releasing = Releasing(held)
        Thread { releasing.release() }.start()
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(10)
        var reaped = waitpid(pid, &status, WNOHANG)
        while reaped == 0, Date() < deadline {
            usleep(20_000)
            reaped = waitpid(pid, &status, WNOHANG)
        }
        if reaped == 0 {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &status, 0)
            Issue.record("the joined sleep still ran 10 s after release")
        } else {
            #expect(reaped == pid, "waitpid: \(String(cString: strerror(errno)))")
        }
        #expect(status & 0x7f == SIGKILL, "the sleep ended with wait status \(status), not by SIGKILL")
        #expect(releasing.done.wait(timeout: .now() + 10) == .success, "release did not return")
        #expect(held.hasEnded())
        #expect(throws: SandboxError.self) { try self.join("true", into: held) }
    }
}

/// A held sandbox released on another thread.
final class Releasing: @unchecked Sendable {
    let held: HeldSandbox
    let done = DispatchSemaphore(value: 0)

    init(_ held: HeldSandbox) {
        self.held = held
    }

    func release() {
        held.release()
        done.signal()
    }
}
