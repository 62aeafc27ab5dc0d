import Foundation
import TestSupport
import Testing
@testable import Manifest

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: a manifest or lock that is not a regular file inside its project gets a clear error
/// naming the file, never a hang or "NSCocoaErrorDomain error 256".
@Suite struct ProjectFileTests {
    let scratch: TemporaryDirectory
    let project: String
    var devenv: String { project + "/.devenv" }

    init() throws {
        scratch = try TemporaryDirectory("ProjectFileTests")
        project = scratch.path
        try FileManager.default.createDirectory(atPath: project + "/.devenv", withIntermediateDirectories: true)
    }


    /// Runs `body` on a thread of its own and fails the test if it has not returned in 10 s, so
    /// a regression is a failure rather than a hung test run.
    func withinTenSeconds<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        nonisolated(unsafe) var result: T?
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            result = body()
            done.signal()
        }
        try #require(done.wait(timeout: .now() + 10) == .success, "still reading after 10 s")
        return try #require(result)
    }

    static func loadError(_ path: String) -> ManifestError? {
        do {
            _ = try Manifest.load(path: path, home: "/h")
            return nil
        } catch {
            return error as? ManifestError
        }
    }

    @Test func aFifoManifestIsRefusedWithoutHanging() throws {
        let path = devenv + "/devenv.toml"
        try #require(mkfifo(path, 0o644) == 0)
        let error = try #require(try withinTenSeconds { Self.loadError(path) })
        #expect(error.description == "\(path):1:1: the manifest file is a named pipe (fifo), not a regular file\n  fix: replace it with a regular file")
        let lockPath = devenv + "/devenv.lock"
        try #require(mkfifo(lockPath, 0o644) == 0)
        let lockError = try withinTenSeconds { () -> ManifestError? in
            do throws(ManifestError) { _ = try Lock.load(path: lockPath); return nil } catch { return error }
        }
        #expect(lockError?.problem == "the lock file is a named pipe (fifo), not a regular file")
    }

    @Test func aDirectoryManifestSaysSo() throws {
        let path = devenv + "/devenv.toml"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = try #require(Self.loadError(path))
        #expect(error.description == "\(path):1:1: the manifest file is a directory\n  fix: remove the directory, then create it with `devenv init` (see `devenv init --list`)")
    }

    @Test func aSymlinkInsideTheProjectIsFollowedOneOutsideIsRefused() throws {
        let path = devenv + "/devenv.toml"
        try "[base]\nimage = \"debian\"\n".write(toFile: project + "/common.toml", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "../common.toml")
        #expect(try Manifest.load(path: path, home: "/h").base == .image("debian"))

        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("outside-\(UUID().uuidString).toml").path
        try "[base]\nimage = \"debian\"\n".write(toFile: outside, atomically: true, encoding: .utf8)
        defer { unlink(outside) }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: outside)
        let error = try #require(Self.loadError(path))
        #expect(error.problem.hasPrefix("the manifest file resolves to \"\(outside)\" (through a symlink), outside the project"))
        #expect(error.fix == "replace the symlink with a copy of the file, or point it at a file inside the project")

        // A device, a classic for "read until it ends".
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/zero")
        #expect(Self.loadError(path)?.problem.hasPrefix("the manifest file resolves to \"/dev/zero\"") == true)
    }

    @Test func aHugeManifestIsRefusedBeforeItIsParsed() throws {
        let path = devenv + "/devenv.toml"
        try Data(count: 10 << 20).write(to: URL(fileURLWithPath: path))
        let error = try #require(Self.loadError(path))
        #expect(error.problem == "the manifest file is 10485760 bytes; devenv reads at most 1048576 bytes")
    }
}
