import Foundation
import Testing

extension CloneTests {
    /// `git daemon` serving the bare repositories in a folder over git:// on 127.0.0.1, on a
    /// port of its own; stopped when the value goes away.
    final class GitDaemon {
        let process = Process()
        let port: Int

        var url: String { "git://127.0.0.1:\(port)" }

        init(serving root: String) throws {
            port = try Self.freePort()
            // git-daemon itself, not the `git daemon` wrapper: killing the wrapper would leave
            // the daemon running.
            let execPath = try Shell.run("git", ["--exec-path"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            process.executableURL = URL(fileURLWithPath: execPath + "/git-daemon")
            process.arguments = ["--reuseaddr", "--export-all", "--informative-errors", "--base-path=\(root)",
                                 "--listen=127.0.0.1", "--port=\(port)", root]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Ready once it answers: ls-remote of nothing fails fast while nobody listens.
            for _ in 0..<100 {
                let probe = try Shell.run("git", ["ls-remote", "\(url)/none.git"])
                if probe.stderr.contains("access denied or repository not exported") || probe.stderr.contains("no such repository") { return }
                Thread.sleep(forTimeInterval: 0.1)
            }
            Issue.record("git daemon did not answer on \(url)")
        }

        deinit {
            // SIGKILL: the test runner's threads block SIGTERM, and a child inherits that mask.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }

        /// A port nothing listens on at the moment: bound to port 0, then released.
        static func freePort() throws -> Int {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            try #require(fd >= 0)
            defer { close(fd) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
            }
            try #require(bound)
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }
}
