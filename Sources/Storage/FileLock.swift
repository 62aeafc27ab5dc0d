#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// An advisory, process-wide exclusive lock on a file (flock). Store writers take one before
/// touching shared state so that two devenv processes never interleave writes; the kernel drops
/// it when the process dies, so a SIGKILLed devenv never leaves a stale lock behind.
public final class FileLock: @unchecked Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Waits until the lock is ours. `onWait` is called once if another process holds it, so the
    /// caller can tell the user why nothing is happening.
    public static func acquire(_ path: String, onWait: (() -> Void)? = nil) async throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.posix("open lock file \(path)", errno) }
        var told = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let err = errno
            guard err == EWOULDBLOCK || err == EINTR else {
                close(fd)
                throw StorageError.posix("lock \(path)", err)
            }
            if !told { onWait?(); told = true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return FileLock(fd: fd, path: path)
    }

    /// The lock if nobody holds it now, else nil: for cleaning up after holders that are gone.
    public static func tryAcquire(_ path: String) -> FileLock? {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return FileLock(fd: fd, path: path)
    }

    /// The synchronous form, for code that is not async; blocks the calling thread.
    public static func acquireBlocking(_ path: String) throws -> FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.posix("open lock file \(path)", errno) }
        while flock(fd, LOCK_EX) != 0 {
            let err = errno
            guard err == EINTR else {
                close(fd)
                throw StorageError.posix("lock \(path)", err)
            }
        }
        return FileLock(fd: fd, path: path)
    }

    deinit { close(fd) }
}
