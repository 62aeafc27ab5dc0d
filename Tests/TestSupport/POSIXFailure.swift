import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A system call that failed, with its errno.
public struct POSIXFailure: Error, CustomStringConvertible {
    public var what: String
    public var code: Int32

    public init(_ what: String, _ code: Int32) {
        self.what = what
        self.code = code
    }

    public var description: String { "\(what): \(String(cString: strerror(code)))" }
}
