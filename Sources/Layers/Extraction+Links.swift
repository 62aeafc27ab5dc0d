import Glibc

extension Extraction {
    func createSymlink(_ header: EntryHeader, target: UnsafePointer<CChar>?) throws(LayerError) {
        // The target is stored, never resolved: absolute and ".." targets are normal in images and
        // only mean something inside the container.
        guard let target, target[0] != 0 else {
            throw fail(.invalidEntry, "symlink without a target")
        }
        let parent = try parentDirectory()
        let name = path.last
        if symlinkat(target, parent, name) != 0 {
            guard errno == EEXIST else {
                throw systemFailure("cannot create symlink")
            }
            try makeRoom(in: parent, name, keepingDirectory: false)
            guard symlinkat(target, parent, name) == 0 else {
                throw systemFailure("cannot create symlink")
            }
        }
        try setOwner(in: parent, name, header)
        try applyXattrs(to: .name(parent: parent, name: name), isRegularFile: false)
        guard header.withTimes({ utimensat(parent, name, $0, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw systemFailure("cannot set times")
        }
    }

    /// Links to an earlier entry of this archive. The target is found with the same confined walk as
    /// any entry, so it cannot name a file outside the layer, directly or through a symlink; and
    /// since the layer started empty, whatever it finds came from this archive.
    func createHardlink(to rawTarget: UnsafePointer<CChar>) throws(LayerError) {
        let shown = LayerError.quoted(String(cString: rawTarget))
        do throws(EntryPath.Problem) {
            try linkPath.parse(rawTarget)
        } catch .absolute {
            throw fail(.pathEscapes, "hardlink target \(shown) escapes the layer (absolute)")
        } catch {
            throw fail(.pathEscapes, "hardlink target \(shown) escapes the layer (contains \"..\")")
        }
        guard !linkPath.isRoot else {
            throw fail(.invalidHardlink, "hardlink to the layer root")
        }
        guard !linkPath.equals(path) else {
            throw fail(.invalidHardlink, "hardlink to itself")
        }
        let parent = try parentDirectory()
        let name = path.last
        let (targetParent, owned) = try openLinkTargetParent(shown: shown)
        defer { if owned { close(targetParent) } }

        // Flags 0: a symlink target is linked itself, not followed.
        var error: Int32 = linkat(targetParent, linkPath.last, parent, name, 0) == 0 ? 0 : errno
        if error == EEXIST {
            try makeRoom(in: parent, name, keepingDirectory: false)
            error = linkat(targetParent, linkPath.last, parent, name, 0) == 0 ? 0 : errno
        }
        switch error {
        case 0:
            return
        case ENOENT:
            throw fail(.invalidHardlink, "hardlink target \(shown) is not an earlier entry of this layer")
        case EPERM:
            throw fail(.invalidHardlink, "cannot hardlink to \(shown) (a directory?)", errno: error)
        default:
            throw fail(.system, "cannot hardlink to \(shown)", errno: error)
        }
    }

    /// Walks to the hardlink target's directory like `parentDirectory`, but creates nothing: the
    /// target has to exist already.
    private func openLinkTargetParent(shown: String) throws(LayerError) -> (descriptor: Int32, owned: Bool) {
        var current = directories.root
        var owned = false
        for index in 0..<(linkPath.count - 1) {
            let next = openat(current, linkPath[index], openPath | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 {
                let error = errno
                let failure = error == ENOENT
                    ? fail(.invalidHardlink, "hardlink target \(shown) is not an earlier entry of this layer")
                    : walkFailure(error, linkPath, in: current, components: index + 1, context: "hardlink target \(shown): ")
                if owned { close(current) }
                throw failure
            }
            if owned { close(current) }
            current = next
            owned = true
        }
        return (current, owned)
    }
}
