import CArchive
import Glibc

/// The attributes of one archive member, read from libarchive once per entry into plain values.
struct EntryHeader {
    /// The S_IFMT bits.
    var type: mode_t
    /// Permission bits including setuid, setgid and sticky.
    var permissions: mode_t
    var uid: uid_t
    var gid: gid_t
    var size: Int64
    /// Access and modification time, laid out as `utimensat` expects its two-element array.
    var times: (timespec, timespec)

    enum Problem: Error {
        case owner(Int64, Int64)
        case size(Int64)
    }

    init(_ entry: OpaquePointer) throws(Problem) {
        let mode = archive_entry_mode(entry)
        type = mode & FileType.mask
        permissions = mode & 0o7777
        let uid = archive_entry_uid(entry)
        let gid = archive_entry_gid(entry)
        // (uid_t)-1 means "leave unchanged" to chown, so it cannot be a real owner either.
        guard (0..<Int64(UInt32.max)).contains(uid), (0..<Int64(UInt32.max)).contains(gid) else {
            throw .owner(uid, gid)
        }
        self.uid = uid_t(uid)
        self.gid = gid_t(gid)
        size = archive_entry_size(entry)
        guard size >= 0 else { throw .size(size) }
        let mtime = timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
        let atime = archive_entry_atime_is_set(entry) != 0
            ? timespec(tv_sec: archive_entry_atime(entry), tv_nsec: archive_entry_atime_nsec(entry))
            : mtime
        times = (atime, mtime)
    }

    /// Passes `times` as the `const struct timespec[2]` that utimensat and futimens take.
    func withTimes<R>(_ body: (UnsafePointer<timespec>) -> R) -> R {
        withUnsafePointer(to: times) { pair in
            pair.withMemoryRebound(to: timespec.self, capacity: 2, body)
        }
    }
}

/// S_IFMT values as `mode_t`; libarchive's AE_IF* macros contain casts Swift cannot import.
enum FileType {
    static let mask: mode_t = 0o170000
    static let regular: mode_t = 0o100000
    static let directory: mode_t = 0o040000
    static let symlink: mode_t = 0o120000
    static let character: mode_t = 0o020000
    static let block: mode_t = 0o060000
    static let fifo: mode_t = 0o010000
}
