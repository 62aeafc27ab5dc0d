import Foundation
import TestSupport
import Testing

/// A registry that takes the connection and never answers (a hung server, a port where something
/// else listens): the pull gives up after the read timeout and one retry, saying what happened,
/// instead of five minutes of silence.
@Suite struct StalledRegistryTests {
    /// Accepts every connection on a free loopback port and never writes; prints the port, then a
    /// line per connection. Stops when its stdin closes.
    static let server = """
        import socket, sys, threading
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
        print(s.getsockname()[1], flush=True)
        held = []
        def serve():
            while True:
                c, _ = s.accept(); held.append(c); print("connection", flush=True)
        threading.Thread(target=serve, daemon=True).start()
        sys.stdin.read()
        """

    @Test func aPullFromAStalledRegistryEndsWithAClearError() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", Self.server]
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        defer { try? input.fileHandleForWriting.close() }
        let reader = out.fileHandleForReading
        var first = Data()
        while !first.contains(UInt8(ascii: "\n")) {
            let chunk = reader.availableData
            try #require(!chunk.isEmpty, "the stalled server did not start")
            first.append(chunk)
        }
        let port = try #require(Int(String(decoding: first, as: UTF8.self).split(separator: "\n")[0]))
        let store = try TemporaryDirectory("stalled-store")

        let pull = try Shell.devenv(["pull", "127.0.0.1:\(port)/team/base:v1"], store: store.path + "/store")
        #expect(pull.status == 3, "a registry that fails is the machine's problem, as an unreachable one: \(pull.output)")
        #expect(pull.stderr.contains("registry 127.0.0.1:\(port) accepted the connection but sent nothing for 20 s"), "\(pull.stderr)")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: store.path + "/store/oci/blobs/sha256")) ?? []
        #expect(blobs.isEmpty, "a failed pull stored \(blobs)")
        try input.fileHandleForWriting.close()
        let connections = String(decoding: first + reader.readDataToEndOfFile(), as: UTF8.self).components(separatedBy: "connection").count - 1
        #expect(connections == 2, "expected the request and one retry, the server saw \(connections)")
    }
}
