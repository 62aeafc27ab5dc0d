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
        // Rootless, layers hold files of subordinate ids this user cannot delete: rm's complaints
        // are expected (and read, so that thousands of them cannot fill the pipe and hang it).
        _ = try? runTool("sh", ["-c", "umount -R \"$1\"/* ; chmod -R u+w \"$1\" ; rm -rf \"$1\"", "sh", path], quiet: true)
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
