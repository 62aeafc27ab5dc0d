import CLinux
import Foundation

/// An image's root filesystem as overlayfs would show it, read straight from the unpacked layer
/// directories without mounting anything: devenv reads a few files (/etc/passwd, which shell
/// exists) before the sandbox starts. Layers follow the `userxattr` conventions: a whiteout is a
/// character device 0/0, an opaque directory carries `user.overlay.opaque=y`.
public struct LayerStack: Sendable {
    /// Layer directories, topmost first.
    let layers: [String]

    public init(bottomFirst layers: [String]) {
        self.layers = layers.reversed()
    }

    /// The contents of the regular file at `path` (an absolute path inside), following symlinks
    /// the way the image would, never outside it.
    public func contents(of path: String) -> Data? {
        guard let host = resolve(path), kind(host) == S_IFREG else { return nil }
        return FileManager.default.contents(atPath: host)
    }

    /// Whether `path` inside is an executable regular file (after symlinks).
    public func isExecutable(_ path: String) -> Bool {
        guard let host = resolve(path) else { return false }
        var info = stat()
        return lstat(host, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG && (info.st_mode & 0o111) != 0
    }

    /// The host path of what the merged view shows at `path`, symlinks resolved inside the image.
    func resolve(_ path: String) -> String? {
        var resolved: [String] = []
        var pending = Self.components(path)
        var links = 0
        while !pending.isEmpty {
            let name = pending.removeFirst()
            if name == ".." {
                _ = resolved.popLast()
                continue
            }
            guard let host = entry(resolved + [name]) else { return nil }
            if kind(host) == S_IFLNK {
                links += 1
                guard links <= 40, let target = try? FileManager.default.destinationOfSymbolicLink(atPath: host) else { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending = Self.components(target) + pending
                continue
            }
            resolved.append(name)
        }
        return entry(resolved)
    }

    /// The host path of the topmost entry at `components` (no symlinks followed), or nil when it
    /// does not exist or a whiteout, an opaque directory or a non-directory above hides it.
    func entry(_ components: [String]) -> String? {
        if components.isEmpty { return layers.first }
        for layer in layers {
            var path = layer
            var hidesBelow = false
            for (index, name) in components.enumerated() {
                path += "/" + name
                var info = stat()
                guard lstat(path, &info) == 0 else { break }
                let type = info.st_mode & S_IFMT
                if index == components.count - 1 {
                    return type == S_IFCHR && info.st_rdev == 0 ? nil : path
                }
                if type != S_IFDIR { return nil }
                if Self.isOpaque(path) { hidesBelow = true }
            }
            if hidesBelow { return nil }
        }
        return nil
    }

    private func kind(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    static func isOpaque(_ path: String) -> Bool {
        var value: UInt8 = 0
        return lgetxattr(path, "user.overlay.opaque", &value, 1) == 1 && value == UInt8(ascii: "y")
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init).filter { $0 != "." }
    }
}
