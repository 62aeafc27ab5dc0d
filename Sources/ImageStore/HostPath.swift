import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Host paths as the sandbox binds them: symlinks resolved, since a bind is made at the real path.
public enum HostPath {
    /// The working directory with symlinks resolved.
    public static func physicalWorkingDirectory() throws -> String {
        guard let cwd = getcwd(nil, 0) else { throw DevenvError.user("the working directory is gone: \(String(cString: strerror(errno)))") }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    public static func physical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    public static func makeDirectory(_ path: String, mode: Int) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
        } catch {
            throw DevenvError.internal("cannot create \(path): \(error.localizedDescription)")
        }
    }
}
