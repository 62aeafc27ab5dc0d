#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A layer directory's name claims its content (a chain id commits to every diff_id below it),
/// but a directory cannot be hashed back into the tar it came from. So trust is recorded when the
/// directory is made: `ensure` stamps a directory once its producer checked the stream against
/// the diff_id (or built it here), and only stamped directories count as present.
///
/// The stamp is `layers/.verified/<key>` (outside every layer tree, where no sandbox sees it,
/// and skipped by gc like every dot entry), holding the inode number of the directory it vouches
/// for: a directory renamed in by anything else is not the one stamped. Directories made by
/// devenv before verification existed have no stamp, so their next use discards them and
/// unpacks (or builds) them again from verified content, once.
extension LayerStore {
    var stampDirectory: String { path + "/.verified" }

    func stampPath(_ key: String) -> String { "\(stampDirectory)/\(key)" }

    func stampedInode(_ key: String) -> UInt64? {
        guard let text = try? String(contentsOfFile: stampPath(key), encoding: .utf8) else { return nil }
        return UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Drops the stamp of a layer that was deleted (gc), so stamps do not pile up.
    public func forgetStamp(_ key: String) {
        unlink(stampPath(key))
    }

    /// Records that the directory now at `key` was made from verified content.
    func stamp(_ key: String) throws {
        guard let inode = directoryInode(key) else {
            throw StorageError.posix("stat \(directory(for: key))", ENOENT)
        }
        if mkdir(stampDirectory, 0o700) != 0, errno != EEXIST {
            throw StorageError.posix("create directory \(stampDirectory)", errno)
        }
        try AtomicFile.write(Data("\(inode)\n".utf8), to: stampPath(key), tmpDirectory: tmpDirectory)
    }
}
