#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Store writes are "write under tmp, fsync, rename into place", so that a crash leaves either
/// the old file or the new one, never a torn one.
public enum AtomicFile {
    /// `mode`: the new file's permissions (less the umask).
    public static func write(_ data: Data, to path: String, tmpDirectory: String, mode: mode_t = 0o644) throws {
        let tmp = "\(tmpDirectory)/.\(UUID().uuidString).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StorageError.posix("create \(tmp)", errno) }
        do {
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw StorageError.posix("write \(tmp)", errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw StorageError.posix("fsync \(tmp)", errno) }
            close(fd)
            guard rename(tmp, path) == 0 else { throw StorageError.posix("rename \(tmp) to \(path)", errno) }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
    }

    /// Creates each missing directory of `path`, like `mkdir -p`.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST {
                throw StorageError.posix("create directory \(built)", errno)
            }
        }
    }
}
