import CLinux
import Glibc

/// The already-unpacked layers below the one being unpacked, topmost first. They are consulted for
/// one thing: a directory this layer implies but does not list should look the same as it did
/// below (mode, owner, times), or the merged view would show it changing for no reason.
///
/// Lower layers were made from untrusted archives too, so lookups walk them without following
/// symlinks, just like writes into the new layer.
final class LowerLayers {
    private var roots: [Int32] = []

    init(paths: [String]) throws(LayerError) {
        for path in paths {
            let descriptor = open(path, openPath | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else {
                let error = errno
                throw LayerError(code: .invalidTarget, entry: nil, reason: "cannot open lower layer \(LayerError.quoted(path))", errno: error)
            }
            roots.append(descriptor)
        }
    }

    deinit {
        for root in roots {
            close(root)
        }
    }

    /// The attributes of the directory made of the first `components` components of `path`, from the
    /// topmost lower layer that has a directory there.
    func directory(_ path: EntryPath, components: Int) -> stat? {
        for root in roots {
            var current = root
            var found = true
            for index in 0..<components {
                let next = openat(current, path[index], openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if current != root { close(current) }
                guard next >= 0 else {
                    found = false
                    break
                }
                current = next
            }
            guard found else { continue }
            var info = stat()
            let ok = fstat(current, &info) == 0
            if current != root { close(current) }
            if ok { return info }
        }
        return nil
    }
}

let openPath: Int32 = clinux_O_PATH
