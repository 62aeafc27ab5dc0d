import Foundation
import Glibc
import Testing

/// A fresh directory under /tmp, removed with everything in it when the test is done.
final class ScratchDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/layers-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw POSIXFailure("mkdtemp", errno)
        }
        path = String(cString: made)
        // Readable by everyone so tests that drop to another fsuid can reach inside.
        chmod(path, 0o755)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    func make(_ name: String, mode: mode_t = 0o755) throws -> String {
        let full = path + "/" + name
        guard mkdir(full, mode) == 0 else {
            throw POSIXFailure("mkdir \(full)", errno)
        }
        chmod(full, mode)
        return full
    }

    enum Compression: CaseIterable, Sendable {
        case none, gzip, zstd
    }

    /// Writes the archive, compressed with the real gzip or zstd tools, and returns its path.
    func archive(_ entries: [TarWriter.Entry], name: String = "layer.tar", compression: Compression = .none) throws -> String {
        try archive(bytes: TarWriter(entries).archive, name: name, compression: compression)
    }

    func archive(bytes: [UInt8], name: String = "layer.tar", compression: Compression = .none) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        switch compression {
        case .none:
            return file
        case .gzip:
            try runTool("gzip", ["-n", "-f", file])
            return file + ".gz"
        case .zstd:
            try runTool("zstd", ["-q", "-f", "--rm", file])
            return file + ".zst"
        }
    }
}

struct POSIXFailure: Error, CustomStringConvertible {
    var what: String
    var code: Int32

    init(_ what: String, _ code: Int32) {
        self.what = what
        self.code = code
    }

    var description: String { "\(what): \(String(cString: strerror(code)))" }
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs a tool from PATH and returns its standard output; fails the test when it exits non-zero.
@discardableResult
func runTool(_ tool: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ToolFailure(description: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus): \(String(decoding: err, as: UTF8.self))")
    }
    return String(decoding: out, as: UTF8.self)
}
