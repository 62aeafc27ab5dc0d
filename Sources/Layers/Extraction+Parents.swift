import Glibc

extension Extraction {
    /// The directory that holds the current entry, reached from the layer root one component at a time
    /// with O_NOFOLLOW, so a symlink planted by an earlier entry stops the walk instead of leading
    /// out of the layer. Parents the archive never listed are created.
    func parentDirectory() throws(LayerError) -> Int32 {
        let parents = path.count - 1
        var depth = directories.sharedDepth(with: path, limit: parents)
        directories.truncate(to: depth)
        while depth < parents {
            var descriptor = openat(directories.top, path[depth], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if descriptor < 0 {
                let error = errno
                guard error == ENOENT else {
                    throw walkFailure(error, path, in: directories.top, components: depth + 1)
                }
                descriptor = try createImplicitDirectory(in: directories.top, components: depth + 1)
            }
            directories.push(descriptor, name: path[depth])
            depth += 1
        }
        return directories.top
    }

    /// Like `parentDirectory`, for the final pass over paths that existed once: nil when a component
    /// has since been removed or replaced by something that is not a directory.
    func existingParentDirectory() throws(LayerError) -> Int32? {
        let parents = path.count - 1
        var depth = directories.sharedDepth(with: path, limit: parents)
        directories.truncate(to: depth)
        while depth < parents {
            let descriptor = openat(directories.top, path[depth], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                let error = errno
                if error == ENOENT || error == ENOTDIR || error == ELOOP { return nil }
                throw LayerError(code: .system, entry: path.display(prefix: depth + 1), reason: "cannot open directory", errno: error)
            }
            directories.push(descriptor, name: path[depth])
            depth += 1
        }
        return directories.top
    }

    /// Explains why component `components - 1` of `walked` could not be opened as a directory.
    func walkFailure(_ error: Int32, _ walked: EntryPath, in directory: Int32, components: Int, context: String = "") -> LayerError {
        let shown = LayerError.quoted(walked.display(prefix: components))
        var info = stat()
        if error == ELOOP || error == ENOTDIR, fstatat(directory, walked[components - 1], &info, AT_SYMLINK_NOFOLLOW) == 0 {
            if info.st_mode & FileType.mask == FileType.symlink {
                return fail(.symlinkInPath, "\(context)\(shown) is a symlink, and nothing is ever placed through a symlink")
            }
            return fail(.notADirectory, "\(context)\(shown) is not a directory")
        }
        return fail(.system, "\(context)cannot open directory \(shown)", errno: error)
    }

    /// Creates a directory the archive implies but does not list, looking as it does in the
    /// topmost lower layer that has it, or 0755 root:root when none does.
    private func createImplicitDirectory(in parent: Int32, components: Int) throws(LayerError) -> Int32 {
        let name = path[components - 1]
        guard mkdirat(parent, name, 0o700) == 0 else {
            throw systemFailure("cannot create parent directory \(LayerError.quoted(path.display(prefix: components)))")
        }
        let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw systemFailure("cannot open parent directory \(LayerError.quoted(path.display(prefix: components)))")
        }
        var keep = false
        defer { if !keep { close(descriptor) } }

        let lower = lowerLayers.directory(path, components: components)
        if options.preserveOwnership, fchown(descriptor, lower?.st_uid ?? 0, lower?.st_gid ?? 0) != 0 {
            throw systemFailure("cannot set owner of parent directory \(LayerError.quoted(path.display(prefix: components)))")
        }
        let deferredMode = try setDirectoryMode(descriptor, (lower?.st_mode ?? 0o755) & 0o7777)
        let times = lower.map { ($0.st_atim, $0.st_mtim) }
        if deferredMode != nil || times != nil {
            pendingDirectories[path.key(prefix: components)] = PendingDirectory(mode: deferredMode, times: times)
        }
        keep = true
        return descriptor
    }
}
