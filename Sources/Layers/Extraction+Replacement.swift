import Glibc

extension Extraction {
    /// Clears `name` in `parent` for the current entry, as tar does when a later member repeats a
    /// path. A directory stays when the entry is a directory too (its attributes are updated and its
    /// members kept). What is there is removed, never followed: a planted symlink is replaced, not
    /// written through.
    ///
    /// - Returns: whether a directory was kept.
    @discardableResult
    func makeRoom(in parent: Int32, _ name: UnsafePointer<CChar>, keepingDirectory: Bool) throws(LayerError) -> Bool {
        var info = stat()
        guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return false }
            throw systemFailure("cannot inspect the existing entry")
        }
        if info.st_mode & FileType.mask == FileType.directory {
            if keepingDirectory { return true }
            try removeTree(in: parent, name)
        } else if unlinkat(parent, name, 0) != 0 {
            throw systemFailure("cannot remove the existing entry")
        }
        return false
    }

    /// `rm -r` relative to a directory descriptor, without following symlinks.
    private func removeTree(in parent: Int32, _ name: UnsafePointer<CChar>) throws(LayerError) {
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw systemFailure("cannot open the existing directory to remove it")
        }
        guard let stream = fdopendir(descriptor) else {
            let failure = systemFailure("cannot list the existing directory to remove it")
            close(descriptor)
            throw failure
        }
        defer { closedir(stream) }
        while let item = readdir(stream) {
            let child = direntName(item)
            if isDotOrDotDot(child) { continue }
            if unlinkat(descriptor, child, 0) != 0 {
                guard errno == EISDIR else {
                    throw systemFailure("cannot remove the existing directory's contents")
                }
                try removeTree(in: descriptor, child)
            }
        }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 else {
            throw systemFailure("cannot remove the existing directory")
        }
    }
}
