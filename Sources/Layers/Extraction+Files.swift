import Glibc

extension Extraction {
    func createFile(_ header: EntryHeader) throws(LayerError) {
        let parent = try parentDirectory()
        let name = path.last
        // O_EXCL|O_NOFOLLOW: whatever is already there, a symlink above all, is replaced rather
        // than written through.
        var descriptor = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if descriptor < 0 && errno == EEXIST {
            try makeRoom(in: parent, name, keepingDirectory: false)
            descriptor = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        guard descriptor >= 0 else {
            throw systemFailure("cannot create file")
        }
        defer { close(descriptor) }

        try writeData(to: descriptor, size: header.size)
        // Order matters: writing and chown both drop security.capability and chown drops setuid and
        // setgid, so ownership comes before xattrs and mode. Xattrs precede the mode because a user.*
        // xattr needs write permission the final mode may deny.
        try setOwner(descriptor, header)
        try applyXattrs(to: .descriptor(descriptor), isRegularFile: true)
        guard fchmod(descriptor, header.permissions) == 0 else {
            throw systemFailure("cannot set mode 0o\(String(header.permissions, radix: 8))")
        }
        guard header.withTimes({ futimens(descriptor, $0) }) == 0 else {
            throw systemFailure("cannot set times")
        }
    }

    /// Writes each data run at its offset, so holes of sparse members stay holes, then extends the
    /// file to its full size in case it ends in a hole.
    private func writeData(to descriptor: Int32, size: Int64) throws(LayerError) {
        var end: Int64 = 0
        while true {
            let block: (bytes: UnsafeRawBufferPointer, offset: Int64)?
            do {
                block = try reader.nextBlock()
            } catch {
                var named = error
                named.entry = entryName.map { String(cString: $0) }
                throw named
            }
            guard let block else { break }
            var written = 0
            while written < block.bytes.count {
                let count = pwrite(descriptor, block.bytes.baseAddress! + written, block.bytes.count - written, off_t(block.offset) + off_t(written))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw systemFailure("cannot write file data")
                }
                written += count
            }
            end = block.offset + Int64(block.bytes.count)
            summary.bytes += Int64(block.bytes.count)
        }
        if end < size, ftruncate(descriptor, off_t(size)) != 0 {
            throw systemFailure("cannot extend file to \(size) bytes")
        }
    }
}
