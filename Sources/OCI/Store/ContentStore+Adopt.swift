#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Storage

extension ContentStore {
    /// The directory for files that will become blobs: on the store's file system, so `adopt`
    /// is a rename.
    public var stagingDirectory: String { ingestDirectory }

    /// Moves a file written elsewhere in the store (a layer devenv built) into `blobs/` as
    /// `digest`, after hashing it again: what is named by a digest must have it.
    public func adopt(file: String, as digest: Digest) throws {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.posix("open \(file)", errno) }
        var hasher = SHA256()
        do {
            try Self.hashFile(fd: fd, path: file, into: &hasher)
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        guard hasher.finalizedDigest == digest else {
            unlink(file)
            throw OCIError(.digestMismatch, "\(file) does not have the digest \(digest) it was written with")
        }
        guard rename(file, blobPath(digest)) == 0 else { throw StorageError.posix("rename \(file) to \(blobPath(digest))", errno) }
    }
}

extension ContentStore {
    /// Moves `file` into `blobs/` under the digest of its contents; returns the digest and size.
    public func adopt(file: String) throws -> (digest: Digest, size: Int64) {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.posix("open \(file)", errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StorageError.posix("stat \(file)", errno) }
        var hasher = SHA256()
        try Self.hashFile(fd: fd, path: file, into: &hasher)
        let digest = hasher.finalizedDigest
        guard rename(file, blobPath(digest)) == 0 else { throw StorageError.posix("rename \(file) to \(blobPath(digest))", errno) }
        return (digest, Int64(info.st_size))
    }
}
