#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Reads the manifest or the lock, files a cloned repository controls. Either may be a symlink to
/// a file elsewhere in the project (a monorepo sharing one), never to one outside it: that could
/// be another project's manifest the user approved, or a device. Only a regular file is read,
/// and only up to a limit, so a fifo cannot hang devenv and `/dev/zero` cannot fill its memory.
enum ProjectFile {
    /// The project of `path`: the directory holding its `.devenv/`, else the file's own directory.
    static func root(of path: String) -> String {
        let directory = (path as NSString).deletingLastPathComponent
        return (directory as NSString).lastPathComponent == ".devenv" ? (directory as NSString).deletingLastPathComponent : directory
    }

    /// The bytes of the file at `path`; `what` names it in errors ("manifest", "lock"; "" says
    /// "it"). `project`: the project it must be inside, else `root(of: path)`.
    static func read(_ path: String, what: String, limit: Int, missingFix: String, project: String? = nil) throws(ManifestError) -> Data {
        func failure(_ problem: String, fix: String) -> ManifestError {
            ManifestError(file: path, position: SourcePosition(line: 1, column: 1), problem: problem, fix: fix)
        }
        let subject = what.isEmpty ? "it" : "the \(what) file"
        guard let resolved = realpath(path, nil) else {
            let error = errno
            if error == ENOENT { throw failure(what.isEmpty ? "it does not exist" : "there is no \(what) file", fix: missingFix) }
            throw failure("\(subject) cannot be read (\(String(cString: strerror(error))))", fix: "make it and its directory readable")
        }
        let real = String(cString: resolved)
        free(resolved)
        if let realRoot = realpath(project ?? root(of: path), nil) {
            let project = String(cString: realRoot)
            free(realRoot)
            guard real.hasPrefix(project == "/" ? "/" : project + "/") else {
                throw failure("\(subject) resolves to \(FieldGrammar.quote(real)) (through a symlink), outside the project \(project); devenv reads it only from inside the project",
                              fix: "replace the symlink with a copy of the file, or point it at a file inside the project")
            }
        }
        // O_NOFOLLOW: what was checked above is what is opened, even if a symlink appears meanwhile.
        let fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            throw failure("\(subject) cannot be read (\(String(cString: strerror(errno))))", fix: "make it readable")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw failure("\(subject) cannot be read (\(String(cString: strerror(errno))))", fix: "make it readable")
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFDIR:
            throw failure("\(subject) is a directory", fix: "remove the directory, then \(missingFix)")
        case S_IFIFO:
            throw failure("\(subject) is a named pipe (fifo), not a regular file", fix: "replace it with a regular file")
        default:
            throw failure("\(subject) is not a regular file (a device or socket)", fix: "replace it with a regular file")
        }
        guard Int(status.st_size) <= limit else {
            throw failure("\(subject) is \(status.st_size) bytes; devenv reads at most \(limit) bytes", fix: "shorten it; nothing this large belongs in it")
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while data.count <= limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw failure("\(subject) cannot be read (\(String(cString: strerror(errno))))", fix: "make it readable")
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[..<count])
        }
        throw failure("\(subject) grew past \(limit) bytes while it was read", fix: "shorten it; nothing this large belongs in it")
    }
}
