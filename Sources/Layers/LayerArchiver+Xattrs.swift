import CArchive
import CLinux
import Glibc

extension LayerArchiver.Walk {
    enum XattrSource {
        case descriptor(Int32)
        /// For symlinks and nodes, which cannot be opened to read their xattrs. `name` is NUL-terminated.
        case name(parent: Int32, name: [CChar])
    }

    struct Xattrs {
        /// Sorted by name, since listxattr's order is the filesystem's.
        var values: [(name: [CChar], value: [UInt8])] = []
        /// `user.overlay.opaque` is "y". Other values are not opaque: Linux 6.7 and later write "x"
        /// on a directory that merely contains xattr whiteouts.
        var opaque = false
    }

    /// Everything but overlayfs' own xattrs. Upper directories carry `origin`, `impure` and the like,
    /// which mean nothing in another stack, and the unpacker rejects layers that have any.
    func readXattrs(_ source: XattrSource) throws(LayerError) -> Xattrs {
        // No fd-relative llistxattr exists; /proc/self/fd/N resolves to exactly the parent we hold and
        // the final component is not followed.
        let procPath: [CChar]
        switch source {
        case .descriptor:
            procPath = []
        case .name(let parent, let name):
            procPath = Array("/proc/self/fd/\(parent)/".utf8CString.dropLast()) + name
        }
        func list(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
            switch source {
            case .descriptor(let descriptor): flistxattr(descriptor, buffer, size)
            case .name: llistxattr(procPath, buffer, size)
            }
        }
        func get(_ name: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawPointer?, _ size: Int) -> Int {
            switch source {
            case .descriptor(let descriptor): fgetxattr(descriptor, name, buffer, size)
            case .name: lgetxattr(procPath, name, buffer, size)
            }
        }

        var names: [CChar] = []
        // Each loop retries when an xattr is added or grows between asking for the size and reading.
        while true {
            let size = list(nil, 0)
            if size < 0 && errno == ENOTSUP { return Xattrs() }
            guard size >= 0 else { throw systemFailure("cannot list xattrs") }
            if size == 0 { return Xattrs() }
            names = [CChar](repeating: 0, count: size)
            let listed = list(&names, size)
            if listed >= 0 {
                names.removeSubrange(listed...)
                break
            }
            guard errno == ERANGE else { throw systemFailure("cannot list xattrs") }
        }

        var xattrs = Xattrs()
        for slice in names.split(separator: 0) {
            let name = Array(slice) + [0]
            let isOverlay = strncmp(name, "user.overlay.", 13) == 0 || strncmp(name, "trusted.overlay.", 16) == 0
            if isOverlay && strcmp(name, "user.overlay.opaque") != 0 { continue }
            var value: [UInt8] = []
            var found = true
            while true {
                let size = get(name, nil, 0)
                guard size >= 0 else {
                    // Removed since it was listed: the file no longer has it.
                    guard errno == ENODATA else { throw systemFailure("cannot read xattr \(LayerError.quoted(String(decoding: slice.map { UInt8(bitPattern: $0) }, as: UTF8.self)))") }
                    found = false
                    break
                }
                value = [UInt8](repeating: 0, count: size)
                let read = value.withUnsafeMutableBytes { get(name, $0.baseAddress, size) }
                if read >= 0 {
                    value.removeSubrange(read...)
                    break
                }
                guard errno == ERANGE else { throw systemFailure("cannot read xattr \(LayerError.quoted(String(decoding: slice.map { UInt8(bitPattern: $0) }, as: UTF8.self)))") }
            }
            guard found else { continue }
            if isOverlay {
                xattrs.opaque = value == [UInt8(ascii: "y")]
            } else {
                xattrs.values.append((name, value))
            }
        }
        xattrs.values.sort { $0.name.lexicographicallyPrecedes($1.name) { UInt8(bitPattern: $0) < UInt8(bitPattern: $1) } }
        return xattrs
    }

    /// Written as pax `SCHILY.xattr.NAME` records.
    func addXattrs(_ values: [(name: [CChar], value: [UInt8])]) {
        for (name, value) in values {
            archive_entry_xattr_add_entry(entry, name, value, value.count)
        }
    }
}
