import Crypto
import CLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Everything a user could tell apart about a file tree, path by path: type, mode, owner, size,
/// content hash, link target, device number and xattrs. Two trees are "the same filesystem" when
/// their snapshots are equal.
struct TreeSnapshot: Equatable {
    struct Entry: Equatable, CustomStringConvertible {
        var type: String
        var mode: UInt32
        var uid: UInt32
        var gid: UInt32
        var size: Int64
        var sha256: String?
        var linkTarget: String?
        var rdev: UInt64?
        var xattrs: [String: String]

        var description: String {
            "\(type) mode=\(String(mode, radix: 8)) \(uid):\(gid) size=\(size)"
                + (sha256.map { " sha=\($0.prefix(12))" } ?? "") + (linkTarget.map { " -> \($0)" } ?? "")
                + (rdev.map { " rdev=\($0)" } ?? "") + (xattrs.isEmpty ? "" : " xattrs=\(xattrs.keys.sorted())")
        }
    }

    var entries: [String: Entry] = [:]

    init(_ root: String) throws {
        try walk(root, relative: "")
    }

    private mutating func walk(_ path: String, relative: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        let format = st.st_mode & S_IFMT
        var entry = Entry(type: Self.typeName(format), mode: UInt32(st.st_mode & 0o7777), uid: st.st_uid, gid: st.st_gid,
                          size: format == S_IFREG ? Int64(st.st_size) : 0, xattrs: Self.xattrs(path))
        switch format {
        case S_IFREG: entry.sha256 = try Self.hash(path)
        case S_IFLNK: entry.linkTarget = try FileManager.default.destinationOfSymbolicLink(atPath: path)
        case S_IFCHR, S_IFBLK: entry.rdev = UInt64(st.st_rdev)
        default: break
        }
        if !relative.isEmpty { entries[relative] = entry }
        if format == S_IFDIR {
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                try walk(path + "/" + name, relative: relative.isEmpty ? name : relative + "/" + name)
            }
        }
    }

    /// Human-readable differences, at most `limit`, for a failing expectation's message.
    func differences(from other: TreeSnapshot, limit: Int = 20) -> [String] {
        var out: [String] = []
        for path in Set(entries.keys).union(other.entries.keys).sorted() where out.count < limit {
            switch (entries[path], other.entries[path]) {
            case let (a?, b?) where a != b: out.append("\(path): \(a) vs \(b)")
            case (nil, let b?): out.append("\(path): missing here, there \(b)")
            case (let a?, nil): out.append("\(path): only here, \(a)")
            default: break
            }
        }
        return out
    }

    static func typeName(_ format: mode_t) -> String {
        switch format {
        case S_IFREG: "file"
        case S_IFDIR: "dir"
        case S_IFLNK: "symlink"
        case S_IFCHR: "char"
        case S_IFBLK: "block"
        case S_IFIFO: "fifo"
        case S_IFSOCK: "socket"
        default: "unknown"
        }
    }

    static func hash(_ path: String) throws -> String {
        sha256(try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe))
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// Extended attributes, minus the ones a file system adds by itself (SELinux labels) and
    /// overlayfs' own metadata, which the merged view interprets rather than shows.
    static func xattrs(_ path: String) -> [String: String] {
        var names = [CChar](repeating: 0, count: 65536)
        let length = llistxattr(path, &names, names.count)
        guard length > 0 else { return [:] }
        var result: [String: String] = [:]
        var start = 0
        for i in 0..<length where names[i] == 0 {
            let name = String(cString: Array(names[start...i]))
            start = i + 1
            if name.hasPrefix("security.selinux") || name.hasPrefix("trusted.overlay.") || name.hasPrefix("user.overlay.") { continue }
            var value = [UInt8](repeating: 0, count: 65536)
            let n = lgetxattr(path, name, &value, value.count)
            result[name] = n >= 0 ? value[0..<n].map { String(format: "%02x", $0) }.joined() : "?"
        }
        return result
    }
}
