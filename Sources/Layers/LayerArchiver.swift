import Glibc

/// What `LayerArchiver.archive` wrote: everything an OCI manifest and image config need about the blob.
public struct LayerArchive: Sendable, Equatable {
    /// sha256 hex of the gzip file (the OCI blob digest), its size in bytes, and sha256 hex of the uncompressed tar (the diff_id).
    public var digest: String
    public var size: Int64
    public var diffID: String
    /// Number of tar entries written.
    public var entries: Int

    public init(digest: String, size: Int64, diffID: String, entries: Int) {
        self.digest = digest
        self.size = size
        self.diffID = diffID
        self.entries = entries
    }
}

/// Turns a layer directory in overlayfs `userxattr` form (an upper directory, or what
/// `LayerUnpacker` writes) back into an OCI layer: 0/0 character devices become `.wh.NAME`
/// whiteouts, `user.overlay.opaque=y` becomes `.wh..wh..opq`, and overlayfs' own xattrs stay out.
///
/// The same tree always gives the same bytes: members are sorted, and nothing about the run (time,
/// inode numbers, atimes, user names) goes into the tar or the gzip header. Identical layers built
/// twice therefore get identical digests.
public struct LayerArchiver: Sendable {
    public var hostToArchiveUID: @Sendable (UInt32) -> UInt32
    public var hostToArchiveGID: @Sendable (UInt32) -> UInt32

    /// `hostToArchiveUID`/`GID` translate an owner on the host to the owner recorded in the tar (rootless stores keep image root as a subordinate host id; the tar must say 0). Default identity.
    public init(hostToArchiveUID: @escaping @Sendable (UInt32) -> UInt32 = { $0 }, hostToArchiveGID: @escaping @Sendable (UInt32) -> UInt32 = { $0 }) {
        self.hostToArchiveUID = hostToArchiveUID
        self.hostToArchiveGID = hostToArchiveGID
    }

    /// Writes `directory`'s contents as a gzip-compressed OCI layer tar to `output` (created with O_EXCL), returning its digests.
    ///
    /// Symlinks are never followed, the directory itself included. Sockets are left out, as tar and
    /// Docker do; a regular file named `.wh.*` is an error, since the tar would turn it into a whiteout.
    /// - Throws: `LayerError`. `output` is removed again when archiving fails.
    public func archive(directory: String, to output: String) throws -> LayerArchive {
        let root = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else {
            let error = errno
            throw LayerError(code: .invalidSource, entry: nil, reason: "cannot open the directory to archive \(LayerError.quoted(directory))", errno: error)
        }
        defer { close(root) }
        let file = open(output, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard file >= 0 else {
            let error = errno
            throw LayerError(code: .system, entry: nil, reason: "cannot create \(LayerError.quoted(output))", errno: error)
        }
        defer { close(file) }
        do {
            let stream = try Stream(output: file, path: output)
            let walk = try Walk(archiver: self, stream: stream, directory: directory)
            try walk.run(root: root)
            let sums = try stream.finish()
            return LayerArchive(digest: sums.digest, size: sums.size, diffID: sums.diffID, entries: walk.entries)
        } catch {
            unlink(output)
            throw error
        }
    }
}
