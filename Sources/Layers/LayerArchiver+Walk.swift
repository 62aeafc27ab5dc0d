import CArchive
import Glibc

extension LayerArchiver {
    /// One run of `archive`: a depth-first walk that writes each directory before its members and the
    /// members in bytewise order of their names in the directory (a whiteout sorts under the name it
    /// hides, not under its `.wh.` name). Everything is opened relative to a parent descriptor without
    /// following symlinks, so the walk stays inside the directory whatever its contents. Confined to
    /// the calling thread.
    final class Walk {
        let archiver: LayerArchiver
        let stream: Stream
        /// The directory as the caller named it, for messages.
        let directory: String
        /// The current member's path relative to the directory, without a terminating NUL.
        var path: [CChar] = []
        /// The first path of each multiply linked inode written so far, NUL-terminated.
        var linkedPaths: [FileID: [CChar]] = [:]
        private(set) var entries = 0
        /// Reused for every member; libarchive copies what it needs in `archive_write_header`.
        let entry: OpaquePointer
        let buffer: UnsafeMutableRawBufferPointer

        struct FileID: Hashable {
            var device: UInt64
            var inode: UInt64
        }

        init(archiver: LayerArchiver, stream: Stream, directory: String) throws(LayerError) {
            guard let entry = archive_entry_new() else {
                throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive entry", errno: ENOMEM)
            }
            self.archiver = archiver
            self.stream = stream
            self.directory = directory
            self.entry = entry
            buffer = .allocate(byteCount: 1 << 20, alignment: 16)
        }

        deinit {
            archive_entry_free(entry)
            buffer.deallocate()
        }

        /// The root itself gets no member, but it can be opaque like any other directory.
        func run(root: Int32) throws(LayerError) {
            var info = stat()
            guard fstat(root, &info) == 0 else {
                throw systemFailure("cannot stat")
            }
            if try readXattrs(.descriptor(root)).opaque {
                try writeOpaqueMarker(info)
            }
            try archiveMembers(of: root)
        }

        private func archiveMembers(of directory: Int32) throws(LayerError) {
            let parentLength = path.count
            for name in try memberNames(directory) {
                if parentLength > 0 { path.append(0x2f) }
                path.append(contentsOf: name.dropLast())
                try archiveMember(name, in: directory)
                path.removeSubrange(parentLength...)
            }
        }

        /// `name` is NUL-terminated.
        private func archiveMember(_ name: [CChar], in parent: Int32) throws(LayerError) {
            var info = stat()
            guard fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw systemFailure("cannot stat")
            }
            let type = info.st_mode & FileType.mask
            if type == FileType.character && info.st_rdev == 0 {
                // Checked before hardlinks: since Linux 5.8 overlayfs makes the whiteouts it creates
                // links of one shared inode, and each must stay a whiteout.
                try writeWhiteout(info)
                return
            }
            if name.starts(with: Walk.whiteoutPrefix) {
                throw failure(.invalidEntry, "cannot be stored in a layer: names starting with \".wh.\" are whiteouts in a layer tar")
            }
            if type != FileType.directory && info.st_nlink > 1 {
                let id = FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
                if let first = linkedPaths[id] {
                    try writeHardlink(info, to: first)
                    return
                }
                linkedPaths[id] = path + [0]
            }
            switch type {
            case FileType.directory:
                try archiveDirectory(name, in: parent)
            case FileType.regular:
                try archiveFile(name, in: parent, expected: info)
            case FileType.symlink:
                try writeSymlink(name, in: parent, info)
            case FileType.character, FileType.block, FileType.fifo:
                try writeNode(name, in: parent, info)
            default:
                // A socket (gpg-agent leaves some under /root/.gnupg) cannot be stored in a tar; tar
                // and Docker skip them too.
                return
            }
        }

        private func archiveDirectory(_ name: [CChar], in parent: Int32) throws(LayerError) {
            let descriptor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw systemFailure("cannot open directory")
            }
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                throw systemFailure("cannot stat")
            }
            prepareHeader(info)
            let xattrs = try readXattrs(.descriptor(descriptor))
            addXattrs(xattrs.values)
            try writeHeader()
            if xattrs.opaque {
                try writeOpaqueMarker(info)
            }
            try archiveMembers(of: descriptor)
        }

        private func archiveFile(_ name: [CChar], in parent: Int32, expected: stat) throws(LayerError) {
            // O_NONBLOCK: should a FIFO have taken the file's place since the fstatat, opening it must
            // not wait for a writer.
            let descriptor = openat(parent, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
            guard descriptor >= 0 else {
                throw systemFailure("cannot open")
            }
            defer { close(descriptor) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                throw systemFailure("cannot stat")
            }
            // The hardlink bookkeeping above went by the inode fstatat saw.
            guard info.st_mode & FileType.mask == FileType.regular, info.st_ino == expected.st_ino, info.st_dev == expected.st_dev else {
                throw failure(.sourceChanged, "was replaced while being archived")
            }
            prepareHeader(info)
            archive_entry_set_size(entry, la_int64_t(info.st_size))
            addXattrs(try readXattrs(.descriptor(descriptor)).values)
            try writeHeader()
            try copyData(from: descriptor, size: Int64(info.st_size))
        }

        /// Copies exactly the `size` the header promised: a tar member cannot change length once its
        /// header is out, so a file that shrank meanwhile is an error and growth is left out.
        private func copyData(from descriptor: Int32, size: Int64) throws(LayerError) {
            var remaining = size
            while remaining > 0 {
                let count = read(descriptor, buffer.baseAddress, Int(min(remaining, Int64(buffer.count))))
                if count < 0 {
                    if errno == EINTR { continue }
                    throw systemFailure("cannot read")
                }
                if count == 0 {
                    throw failure(.sourceChanged, "became shorter than its \(size) bytes while being archived")
                }
                try stream.writeData(UnsafeRawBufferPointer(rebasing: buffer[..<count]), member: self.member())
                remaining -= Int64(count)
            }
        }

        private func writeSymlink(_ name: [CChar], in parent: Int32, _ info: stat) throws(LayerError) {
            var capacity = max(Int(info.st_size), 255) + 1
            var target: [CChar]
            while true {
                target = [CChar](repeating: 0, count: capacity)
                let count = readlinkat(parent, name, &target, capacity)
                guard count >= 0 else {
                    throw systemFailure("cannot read symlink")
                }
                // Filling the buffer may mean truncation; readlink does not say.
                if count < capacity {
                    target[count] = 0
                    break
                }
                capacity *= 2
            }
            prepareHeader(info)
            archive_entry_copy_symlink(entry, target)
            addXattrs(try readXattrs(.name(parent: parent, name: name)).values)
            try writeHeader()
        }

        private func writeNode(_ name: [CChar], in parent: Int32, _ info: stat) throws(LayerError) {
            prepareHeader(info)
            if info.st_mode & FileType.mask != FileType.fifo {
                archive_entry_set_rdev(entry, info.st_rdev)
            }
            addXattrs(try readXattrs(.name(parent: parent, name: name)).values)
            try writeHeader()
        }

        private func writeHardlink(_ info: stat, to first: [CChar]) throws(LayerError) {
            prepareHeader(info)
            archive_entry_copy_hardlink(entry, first)
            try writeHeader()
        }

        /// The member keeps the device's owner, mode bits and mtime; only its type and name change.
        private func writeWhiteout(_ info: stat) throws(LayerError) {
            let nameStart = (path.lastIndex(of: 0x2f) ?? -1) + 1
            path.insert(contentsOf: Walk.whiteoutPrefix, at: nameStart)
            defer { path.removeSubrange(nameStart..<(nameStart + Walk.whiteoutPrefix.count)) }
            var member = info
            member.st_mode = FileType.regular | (info.st_mode & 0o7777)
            prepareHeader(member)
            try writeHeader()
        }

        /// Written right after the directory's own member, before anything in it; it takes the
        /// directory's owner, permission bits and mtime, as Docker does.
        private func writeOpaqueMarker(_ directoryInfo: stat) throws(LayerError) {
            let parentLength = path.count
            if parentLength > 0 { path.append(0x2f) }
            path.append(contentsOf: Walk.opaqueMarker)
            defer { path.removeSubrange(parentLength...) }
            var member = directoryInfo
            member.st_mode = FileType.regular | (directoryInfo.st_mode & 0o777)
            prepareHeader(member)
            try writeHeader()
        }

        private func prepareHeader(_ info: stat) {
            archive_entry_clear(entry)
            path.append(0)
            archive_entry_copy_pathname(entry, path)
            path.removeLast()
            archive_entry_set_mode(entry, info.st_mode)
            archive_entry_set_uid(entry, la_int64_t(archiver.hostToArchiveUID(info.st_uid)))
            archive_entry_set_gid(entry, la_int64_t(archiver.hostToArchiveGID(info.st_gid)))
            archive_entry_set_mtime(entry, info.st_mtim.tv_sec, info.st_mtim.tv_nsec)
        }

        private func writeHeader() throws(LayerError) {
            try stream.writeHeader(entry, member: self.member())
            entries += 1
        }

        /// The names in `directory` except "." and "..", NUL-terminated, in bytewise order: readdir's
        /// order depends on the filesystem and on the history of the directory.
        private func memberNames(_ directory: Int32) throws(LayerError) -> [[CChar]] {
            let copy = dup(directory)
            guard copy >= 0, let stream = fdopendir(copy) else {
                if copy >= 0 { close(copy) }
                throw systemFailure("cannot list directory")
            }
            defer { closedir(stream) }
            var names: [[CChar]] = []
            while true {
                errno = 0
                guard let item = readdir(stream) else {
                    if errno != 0 {
                        throw systemFailure("cannot list directory")
                    }
                    break
                }
                let name = direntName(item)
                if isDotOrDotDot(name) { continue }
                names.append(Array(UnsafeBufferPointer(start: name, count: strlen(name) + 1)))
            }
            // CChar is signed; names sort by their bytes as unsigned values, as Go and GNU tar see them.
            names.sort { $0.lexicographicallyPrecedes($1) { UInt8(bitPattern: $0) < UInt8(bitPattern: $1) } }
            return names
        }

        static let whiteoutPrefix: [CChar] = Array(".wh.".utf8CString.dropLast())
        static let opaqueMarker: [CChar] = Array(".wh..wh..opq".utf8CString.dropLast())

        /// The current member's path, as the tar names it.
        func member() -> String {
            String(decoding: path.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }

        func failure(_ code: LayerError.Code, _ reason: String, errno: Int32? = nil) -> LayerError {
            let file = path.isEmpty ? directory : directory + "/" + member()
            return LayerError(code: code, entry: path.isEmpty ? nil : member(), reason: "\(LayerError.quoted(file)): \(reason)", errno: errno)
        }

        /// For a failed system call; reads errno before anything can change it.
        func systemFailure(_ reason: @autoclosure () -> String) -> LayerError {
            let error = errno
            return failure(.system, reason(), errno: error)
        }
    }
}
