import Glibc

/// Open descriptors for the chain of directories from the layer root down to the directory used
/// last. A tar lists a directory's members together, so consecutive entries share most of this
/// chain and each directory is opened once instead of once per entry and path component.
///
/// Only ever holds descriptors opened with O_NOFOLLOW below the root, so anything reached through
/// it is inside the layer.
final class DirectoryStack {
    private(set) var descriptors: [Int32]
    /// `names[k]` is the name of `descriptors[k + 1]` inside `descriptors[k]`, NUL-terminated.
    private var names: [[CChar]] = []

    /// Takes ownership of `root`.
    init(root: Int32) {
        descriptors = [root]
        descriptors.reserveCapacity(32)
        names.reserveCapacity(32)
    }

    deinit {
        for descriptor in descriptors {
            close(descriptor)
        }
    }

    var root: Int32 { descriptors[0] }
    var top: Int32 { descriptors[descriptors.count - 1] }
    /// How many leading components of `path`, at most `limit`, are already open.
    func sharedDepth(with path: EntryPath, limit: Int) -> Int {
        var shared = 0
        let bound = min(limit, names.count)
        while shared < bound {
            let same = names[shared].withUnsafeBufferPointer { path.component(shared, equals: $0.baseAddress!) }
            if !same { break }
            shared += 1
        }
        return shared
    }

    /// Closes everything deeper than `depth` directories below the root.
    func truncate(to depth: Int) {
        while names.count > depth {
            close(descriptors.removeLast())
            names.removeLast()
        }
    }

    /// `descriptor` must be the directory `name` inside `top`; the stack takes ownership of it.
    func push(_ descriptor: Int32, name: UnsafePointer<CChar>) {
        descriptors.append(descriptor)
        names.append(Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1)))
    }
}
