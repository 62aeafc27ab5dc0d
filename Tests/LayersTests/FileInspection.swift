import CLinux
import Foundation
import Glibc

/// Reading back what the unpacker wrote, with plain system calls that never follow a final symlink.
enum FileInspection {
    static func lstatus(_ path: String) -> stat? {
        var info = stat()
        return lstat(path, &info) == 0 ? info : nil
    }

    static func type(_ info: stat) -> mode_t { info.st_mode & 0o170000 }
    static func permissions(_ info: stat) -> mode_t { info.st_mode & 0o7777 }

    static func contents(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map(Array.init)
    }

    static func text(_ path: String) -> String? {
        contents(path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let count = readlink(path, &buffer, 4096)
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func major(_ device: dev_t) -> UInt64 {
        let value = UInt64(device)
        return ((value >> 8) & 0xfff) | ((value >> 32) & ~UInt64(0xfff))
    }

    static func minor(_ device: dev_t) -> UInt64 {
        let value = UInt64(device)
        return (value & 0xff) | ((value >> 12) & ~UInt64(0xff))
    }

    /// The names of a directory, sorted, without "." and "..".
    static func list(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Every path below `root`, relative and sorted; symlinks are listed, not followed.
    static func tree(_ root: String) -> [String] {
        var out: [String] = []
        func walk(_ relative: String) {
            for name in list(root + "/" + relative) {
                let child = relative.isEmpty ? name : relative + "/" + name
                out.append(child)
                if let info = lstatus(root + "/" + child), type(info) == S_IFDIR {
                    walk(child)
                }
            }
        }
        walk("")
        return out.sorted()
    }

    static func xattr(_ path: String, _ name: String) -> [UInt8]? {
        let size = lgetxattr(path, name, nil, 0)
        guard size >= 0 else { return nil }
        var value = [UInt8](repeating: 0, count: size)
        let read = value.withUnsafeMutableBytes { lgetxattr(path, name, $0.baseAddress, size) }
        return read == size ? value : nil
    }

    static func xattrNames(_ path: String) -> [String] {
        let size = llistxattr(path, nil, 0)
        guard size > 0 else { return [] }
        var buffer = [CChar](repeating: 0, count: size)
        _ = llistxattr(path, &buffer, size)
        return buffer.split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }.sorted()
    }
}

/// Everything observable about a tree except access times: types, modes, owners, sizes, contents,
/// link targets, device numbers, xattrs, mtimes and ctimes (so even a chmod to the same mode shows).
struct TreeSnapshot: Equatable, CustomStringConvertible {
    struct Node: Equatable {
        var mode: mode_t
        var uid: uid_t
        var gid: gid_t
        var size: Int
        var device: dev_t
        var mtime: [Int]
        var ctime: [Int]
        var contents: [UInt8]?
        var target: String?
        var xattrs: [String: [UInt8]]
    }

    var nodes: [String: Node] = [:]

    /// `excluding` names paths relative to `root` whose whole subtree is left out.
    init(_ root: String, excluding: Set<String> = []) {
        nodes["."] = TreeSnapshot.node(root)
        func walk(_ relative: String) {
            for name in FileInspection.list(relative.isEmpty ? root : root + "/" + relative) {
                let child = relative.isEmpty ? name : relative + "/" + name
                if excluding.contains(child) { continue }
                let full = root + "/" + child
                nodes[child] = TreeSnapshot.node(full)
                if let info = FileInspection.lstatus(full), FileInspection.type(info) == S_IFDIR {
                    walk(child)
                }
            }
        }
        walk("")
    }

    private static func node(_ path: String) -> Node? {
        guard let info = FileInspection.lstatus(path) else { return nil }
        let type = FileInspection.type(info)
        var xattrs: [String: [UInt8]] = [:]
        for name in FileInspection.xattrNames(path) {
            xattrs[name] = FileInspection.xattr(path, name)
        }
        return Node(
            mode: info.st_mode, uid: info.st_uid, gid: info.st_gid, size: Int(info.st_size), device: info.st_rdev,
            mtime: [info.st_mtim.tv_sec, info.st_mtim.tv_nsec], ctime: [info.st_ctim.tv_sec, info.st_ctim.tv_nsec],
            contents: type == S_IFREG ? FileInspection.contents(path) : nil,
            target: type == S_IFLNK ? FileInspection.symlinkTarget(path) : nil,
            xattrs: xattrs
        )
    }

    var description: String {
        nodes.keys.sorted().map { "\($0): \(String(describing: nodes[$0]!))" }.joined(separator: "\n")
    }

    /// The paths that differ between two snapshots, for failure messages.
    func difference(from other: TreeSnapshot) -> [String] {
        Set(nodes.keys).union(other.nodes.keys).filter { nodes[$0] != other.nodes[$0] }.sorted()
    }
}
