import Foundation
import ImageStore
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// What `devenv trust` recorded for one project: `trust/<sha256 of the project's path>` in the
/// store (docs/architecture.md, "Store layout"). The store is its owner's alone (checked before
/// any of it is read), so no other user can plant an approval; the file is 0600 all the same.
public struct TrustApproval: Codable, Equatable {
    public static let currentVersion = 1
    /// Larger than any approval devenv writes (at most 64 mounts): the rest is not an approval.
    static let maximumBytes = 1 << 20

    public var version = Self.currentVersion
    /// The project's physical path, for a person reading the file (the name is its hash).
    public var project: String
    /// `TrustRequest.digest` of what was approved.
    public var digest: String
    /// The canonical forms approved (`TrustRequest.canonical`), to tell what changed since.
    public var requests: [String]
    /// When, ISO 8601 UTC.
    public var approved: String

    /// The approval at `path`, or nil when there is none. A file that is not a regular file of the
    /// expected form (damaged, or from another version) is no approval: `devenv trust` writes it anew.
    public static func load(_ path: String) throws -> TrustApproval? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT || errno == ELOOP { return nil }
            throw DevenvError.internal("cannot read the approval \(path): \(String(cString: strerror(errno)))")
        }
        let file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= maximumBytes,
              let data = try? file.readToEnd(),
              let approval = try? JSONDecoder().decode(TrustApproval.self, from: data),
              approval.version == currentVersion else { return nil }
        return approval
    }

    /// Writes the approval to `path` atomically, 0600, making its directory (0700) if need be.
    public func write(to path: String, tmpDirectory: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            if mkdir(directory, 0o700) != 0, errno != EEXIST { throw StorageError.posix("create directory \(directory)", errno) }
            var info = stat()
            guard lstat(directory, &info) == 0 else { throw StorageError.posix("stat \(directory)", errno) }
            guard (info.st_mode & S_IFMT) == S_IFDIR, info.st_uid == geteuid() else {
                throw DevenvError.user("""
                    \(directory) is not a directory of yours (a symlink or file put there), so approvals cannot be kept in it
                      fix: remove it, then run devenv trust again
                    """)
            }
            if info.st_mode & 0o077 != 0, chmod(directory, 0o700) != 0 { throw StorageError.posix("chmod 700 \(directory)", errno) }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(self) + Data("\n".utf8), to: path, tmpDirectory: tmpDirectory, mode: 0o600)
        } catch let error as StorageError {
            throw DevenvError.internal("cannot record the approval in \(path): \(error)")
        }
    }
}
