import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory under /tmp, removed with everything in it when the test is done, even
/// read-only directories (unpacked layers) and mounts a failed test left inside.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "devenv-test") throws {
        var template = Array("/tmp/\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXFailure("mkdtemp", errno) }
        path = String(cString: made)
        // Readable by everyone so tests that drop to another user can reach inside.
        chmod(path, 0o755)
    }

    deinit {
        _ = try? runTool("sh", ["-c", "umount -R \"$1\"/* 2>/dev/null; chmod -R u+w \"$1\" 2>/dev/null; rm -rf \"$1\"", "sh", path])
    }

    /// Makes `name` (and its parents) inside; returns its path.
    @discardableResult
    public func directory(_ name: String, mode: mode_t = 0o755) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        chmod(full, mode)
        return full
    }

    /// Writes `text` to `name` inside (parents made); returns its path.
    @discardableResult
    public func file(_ name: String, _ text: String) throws -> String {
        let full = path + "/" + name
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
        return full
    }
}

public struct POSIXFailure: Error, CustomStringConvertible {
    public var what: String
    public var code: Int32

    public init(_ what: String, _ code: Int32) {
        self.what = what
        self.code = code
    }

    public var description: String { "\(what): \(String(cString: strerror(code)))" }
}

public struct ToolFailure: Error, CustomStringConvertible {
    public var description: String
}

/// Runs a tool from PATH with arguments as argv and returns its standard output; throws when it
/// exits non-zero, with its standard error.
@discardableResult
public func runTool(_ tool: String, _ arguments: [String]) throws -> String {
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
