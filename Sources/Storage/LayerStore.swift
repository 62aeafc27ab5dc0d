#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The store's `layers/` directory: one directory per layer key, used as an overlay lowerdir.
/// A directory there exists only when complete: it is produced under `tmp/` and renamed into
/// place, under a per-key lock so that two processes never produce the same layer twice. It
/// counts only with its verification stamp (LayerStore+Verification.swift).
public final class LayerStore: Sendable {
    public let path: String
    let tmpDirectory: String

    public init(path: String, tmpDirectory: String) {
        self.path = path
        self.tmpDirectory = tmpDirectory
    }

    public func directory(for key: String) -> String { "\(path)/\(key)" }

    /// Whether layer `key` is there and was made from verified content.
    public func contains(_ key: String) -> Bool {
        guard let inode = directoryInode(key) else { return false }
        return stampedInode(key) == inode
    }

    func directoryInode(_ key: String) -> UInt64? {
        var st = stat()
        guard lstat(directory(for: key), &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
        return UInt64(st.st_ino)
    }

    /// What a `produce` closure of `ensure` did with its scratch directory.
    public enum Production: Sendable {
        /// Filled it: `ensure` renames it into place.
        case filled
        /// Filled it and renamed it to `directory(for: key)` itself, as a producer in another user
        /// namespace must: moving a directory to another parent needs write access to it, and the
        /// layer's root may be owned by an id only that namespace has rights over.
        case published
    }

    /// Makes sure layer `key` exists, calling `produce` with an empty scratch directory when it
    /// does not. Returns whether this call produced it. If `produce` throws or the process dies,
    /// the scratch directory is left under `tmp/` as garbage and `layers/` is untouched.
    ///
    /// `produce` must fill the directory only with content checked against what `key` names (a
    /// pulled layer's diff_id), or made here (a build step's output): the directory is stamped
    /// verified once in place. An unstamped directory already at `key` is passed to `discard`
    /// first and made again.
    @discardableResult
    public func ensure(_ key: String, onWait: (() -> Void)? = nil, discard: (String) throws -> Void,
                       produce: (String) throws -> Production) async throws -> Bool {
        if contains(key) { return false }
        let lock = try await FileLock.acquire("\(tmpDirectory)/layer-\(key).lock", onWait: onWait)
        defer { _ = lock }
        if contains(key) { return false }
        if directoryInode(key) != nil { try discard(directory(for: key)) }
        let scratch = "\(tmpDirectory)/layer-\(key).\(UUID().uuidString)"
        guard mkdir(scratch, 0o755) == 0 else { throw StorageError.posix("create \(scratch)", errno) }
        let production: Production
        do {
            production = try produce(scratch)
        } catch {
            try? Self.removeTree(scratch)
            throw error
        }
        if production == .filled {
            guard rename(scratch, directory(for: key)) == 0 else {
                throw StorageError.posix("rename \(scratch) to \(directory(for: key))", errno)
            }
        }
        try stamp(key)
        return true
    }

    /// Removes a directory tree without following symlinks; layer content comes from images and
    /// may contain links pointing anywhere.
    public static func removeTree(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            // Directories from images can be mode 0500; we own the store, so make them writable.
            chmod(path, 0o700)
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                try removeTree(path + "/" + name)
            }
            guard rmdir(path) == 0 else { throw StorageError.posix("remove \(path)", errno) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw StorageError.posix("remove \(path)", errno) }
        }
    }

    /// Disk usage of a layer directory in bytes (allocated blocks, hard links counted once).
    public func diskUsage(_ key: String) -> Int64 { Self.diskUsage(path: directory(for: key)) }

    /// Disk usage of any tree in bytes, symlinks not followed, hard links counted once.
    public static func diskUsage(path: String) -> Int64 {
        var seen = Set<UInt64>()
        var total: Int64 = 0
        func walk(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return }
            if st.st_nlink > 1, !seen.insert(UInt64(st.st_ino)).inserted { return }
            total += Int64(st.st_blocks) * 512
            if (st.st_mode & S_IFMT) == S_IFDIR, let names = try? FileManager.default.contentsOfDirectory(atPath: path) {
                for name in names { walk(path + "/" + name) }
            }
        }
        walk(path)
        return total
    }
}
