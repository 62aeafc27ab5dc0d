import CLinux
import CArchive
import Glibc

extension Extraction {
    enum XattrTarget {
        case descriptor(Int32)
        /// For symlinks and nodes, which cannot be opened for fsetxattr.
        case name(parent: Int32, name: UnsafePointer<CChar>)
    }

    func setOwner(_ descriptor: Int32, _ header: EntryHeader) throws(LayerError) {
        guard options.preserveOwnership else { return }
        guard fchown(descriptor, header.uid, header.gid) == 0 else {
            throw systemFailure("cannot set owner \(header.uid):\(header.gid)")
        }
    }

    func setOwner(in parent: Int32, _ name: UnsafePointer<CChar>, _ header: EntryHeader) throws(LayerError) {
        guard options.preserveOwnership else { return }
        guard fchownat(parent, name, header.uid, header.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw systemFailure("cannot set owner \(header.uid):\(header.gid)")
        }
    }

    /// Overlay metadata in a layer would let it forge whiteouts, opaque directories or redirects
    /// that the layer's own entries never asked for.
    func rejectOverlayXattrs(_ entry: OpaquePointer) throws(LayerError) {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            if strncmp(name, "trusted.overlay.", 16) == 0 || strncmp(name, "user.overlay.", 13) == 0 {
                throw fail(.forbiddenXattr, "xattr \(LayerError.quoted(String(cString: name))) is overlayfs metadata, which a layer may not carry")
            }
        }
    }

    /// Applies the member's xattrs. `security.capability` is kept on regular files (ping and friends
    /// need it); other `security.*` values (SELinux labels, IMA) belong to the build host and are
    /// skipped. What the filesystem or our privileges refuse is skipped and counted, so an
    /// unprivileged unpack still works.
    func applyXattrs(to target: XattrTarget, isRegularFile: Bool) throws(LayerError) {
        guard let entry, archive_entry_xattr_reset(entry) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        var procPath: [CChar] = []
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK {
            guard let name else { continue }
            if strncmp(name, "security.", 9) == 0, !(isRegularFile && strcmp(name, "security.capability") == 0) {
                summary.skippedXattrs += 1
                continue
            }
            let result: Int32
            switch target {
            case .descriptor(let descriptor):
                result = fsetxattr(descriptor, name, value, size, 0)
            case .name(let parent, let child):
                // No fd-relative lsetxattr exists; /proc/self/fd/N resolves to exactly the parent we
                // hold and the final component is not followed, so this stays confined.
                if procPath.isEmpty {
                    procPath = Array("/proc/self/fd/\(parent)/".utf8CString.dropLast())
                    procPath.append(contentsOf: UnsafeBufferPointer(start: child, count: strlen(child) + 1))
                }
                result = lsetxattr(procPath, name, value, size, 0)
            }
            if result != 0 {
                let error = errno
                guard error == EPERM || error == ENOTSUP else {
                    throw fail(.system, "cannot set xattr \(LayerError.quoted(String(cString: name)))", errno: error)
                }
                summary.skippedXattrs += 1
            }
        }
    }
}
