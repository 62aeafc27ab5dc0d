import Glibc

extension Extraction {
    func createDirectory(_ header: EntryHeader) throws(LayerError) {
        let parent = try parentDirectory()
        let name = path.last
        if mkdirat(parent, name, 0o700) != 0 {
            guard errno == EEXIST else {
                throw systemFailure("cannot create directory")
            }
            let kept = try makeRoom(in: parent, name, keepingDirectory: true)
            if !kept, mkdirat(parent, name, 0o700) != 0 {
                throw systemFailure("cannot create directory")
            }
        }
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw systemFailure("cannot open directory")
        }
        // The entries that follow are most likely this directory's members.
        directories.push(descriptor, name: name)
        try applyDirectoryAttributes(descriptor, header, key: path.key())
    }

    /// A "./" member carries the attributes of the layer directory itself.
    func updateRoot(_ header: EntryHeader) throws(LayerError) {
        try applyDirectoryAttributes(directories.root, header, key: [])
    }

    private func applyDirectoryAttributes(_ descriptor: Int32, _ header: EntryHeader, key: [UInt8]) throws(LayerError) {
        try setOwner(descriptor, header)
        try applyXattrs(to: .descriptor(descriptor), isRegularFile: false)
        let deferredMode = try setDirectoryMode(descriptor, header.permissions)
        // Creating members changes a directory's mtime, so times wait until all members exist.
        pendingDirectories[key] = PendingDirectory(mode: deferredMode, times: header.times)
    }

    /// Sets `mode` now unless it denies the owner something; then sets a mode that lets the owner in
    /// and returns `mode` for the final pass. Without CAP_DAC_OVERRIDE we could otherwise neither add
    /// members to such a directory nor remove them; with it, deferring costs one more chmod on the
    /// rare directory like this, and behaving the same either way keeps one code path.
    func setDirectoryMode(_ descriptor: Int32, _ mode: mode_t) throws(LayerError) -> mode_t? {
        let deferring = mode & 0o700 != 0o700
        guard fchmod(descriptor, deferring ? mode | 0o700 : mode) == 0 else {
            throw systemFailure("cannot set mode 0o\(String(mode, radix: 8))")
        }
        return deferring ? mode : nil
    }

    /// Gives directories their held-back modes and their times, now that nothing more is created in
    /// them. Deepest first: without privileges, a directory's mode can block reaching its members,
    /// and nothing done to a member changes its parent's mtime.
    func finishDirectories() throws(LayerError) {
        let keys = pendingDirectories.keys.sorted { $1.lexicographicallyPrecedes($0) }
        for key in keys {
            let pending = pendingDirectories[key]!
            if key.isEmpty {
                try finish(directories.root, pending, key: key)
                continue
            }
            path.parse(key: key)
            // A directory replaced by a later entry, or inside one that was, keeps nothing.
            guard let parent = try existingParentDirectory() else { continue }
            let descriptor = openat(parent, path.last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                let error = errno
                if error == ENOENT || error == ENOTDIR || error == ELOOP { continue }
                throw LayerError(code: .system, entry: path.display(), reason: "cannot open directory", errno: error)
            }
            defer { close(descriptor) }
            try finish(descriptor, pending, key: key)
        }
    }

    private func finish(_ descriptor: Int32, _ pending: PendingDirectory, key: [UInt8]) throws(LayerError) {
        if let mode = pending.mode, fchmod(descriptor, mode) != 0 {
            let error = errno
            throw LayerError(code: .system, entry: String(decoding: key, as: UTF8.self), reason: "cannot set mode", errno: error)
        }
        if let times = pending.times {
            let result = withUnsafePointer(to: times) { pair in
                pair.withMemoryRebound(to: timespec.self, capacity: 2) { futimens(descriptor, $0) }
            }
            if result != 0 {
                let error = errno
                throw LayerError(code: .system, entry: String(decoding: key, as: UTF8.self), reason: "cannot set times", errno: error)
            }
        }
    }
}
