import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How devenv runs itself for work that must happen inside a user namespace.
public enum HelperCommand {
    /// This devenv binary, resolved now: the child runs in the same mount namespace, but
    /// /proc/self/exe would be its own by then.
    public static func executable() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else {
            throw DevenvError.internal("cannot find the devenv binary: readlink /proc/self/exe: \(String(cString: strerror(errno)))")
        }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public static var environment: [String] { ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } }
}
