import Glibc

extension Extraction {
    /// FIFOs and, when allowed, character and block devices.
    func createNode(_ header: EntryHeader, device: dev_t) throws(LayerError) {
        let parent = try parentDirectory()
        let name = path.last
        let mode = header.type | (header.permissions & 0o777)
        if mknodat(parent, name, mode, device) != 0 {
            guard errno == EEXIST else {
                throw systemFailure("cannot create node")
            }
            try makeRoom(in: parent, name, keepingDirectory: false)
            guard mknodat(parent, name, mode, device) == 0 else {
                throw systemFailure("cannot create node")
            }
        }
        try setOwner(in: parent, name, header)
        try applyXattrs(to: .name(parent: parent, name: name), isRegularFile: false)
        // mknod applied the umask and chown may have cleared setuid/setgid.
        guard fchmodat(parent, name, header.permissions, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw systemFailure("cannot set mode 0o\(String(header.permissions, radix: 8))")
        }
        guard header.withTimes({ utimensat(parent, name, $0, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw systemFailure("cannot set times")
        }
    }
}
