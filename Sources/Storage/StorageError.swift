#if canImport(Glibc)
import Glibc
#endif

/// A failed file-system operation, worded as "what we tried: why", e.g.
/// `rename /a to /b: ENOSPC (No space left on device)`.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public let errno: Int32

    public static func posix(_ operation: String, _ code: Int32) -> StorageError {
        var text = "\(operation): \(errnoName(code)) (\(String(cString: strerror(code))))"
        if code == ENOSPC || code == EDQUOT {
            text += "; free some space, or put the store on another disk with --store or DEVENV_HOME"
        }
        return StorageError(description: text, errno: code)
    }
}

/// Symbolic errno names, because users search for `ENOSPC`, not for "28".
public func errnoName(_ code: Int32) -> String {
    switch code {
    case EPERM: "EPERM"
    case ENOENT: "ENOENT"
    case EINTR: "EINTR"
    case EIO: "EIO"
    case EBADF: "EBADF"
    case EAGAIN: "EAGAIN"
    case ENOMEM: "ENOMEM"
    case EACCES: "EACCES"
    case EBUSY: "EBUSY"
    case EEXIST: "EEXIST"
    case EXDEV: "EXDEV"
    case ENOTDIR: "ENOTDIR"
    case EISDIR: "EISDIR"
    case EINVAL: "EINVAL"
    case ENOSPC: "ENOSPC"
    case EROFS: "EROFS"
    case ELOOP: "ELOOP"
    case ENAMETOOLONG: "ENAMETOOLONG"
    case ENOTEMPTY: "ENOTEMPTY"
    case ENOTSUP: "ENOTSUP"
    case EDQUOT: "EDQUOT"
    case ENOSYS: "ENOSYS"
    default: "errno \(code)"
    }
}
