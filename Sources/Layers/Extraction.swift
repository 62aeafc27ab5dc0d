import CArchive
import Glibc

/// One run of `LayerUnpacker.unpack`, from the first header to the final directory pass. Confined to
/// the calling thread.
final class Extraction {
    let options: LayerUnpacker
    let reader: ArchiveReader
    let directories: DirectoryStack
    let lowerLayers: LowerLayers
    /// The current entry's normalized path.
    let path = EntryPath()
    /// The current hardlink's normalized target.
    let linkPath = EntryPath()
    var summary = UnpackSummary()
    /// Mode and times to give directories once nothing more is created in them, keyed by path.
    var pendingDirectories: [[UInt8]: PendingDirectory] = [:]
    /// The current member, valid until the next header is read.
    private(set) var entry: OpaquePointer?
    /// The current member's path as the archive spells it, for messages.
    var entryName: UnsafePointer<CChar>?

    init(options: LayerUnpacker, archivePath: String, directory: String, lowerLayers: [String]) throws(LayerError) {
        self.options = options
        let root = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else {
            let error = errno
            throw LayerError(code: .invalidTarget, entry: nil, reason: "cannot open target directory \(LayerError.quoted(directory))", errno: error)
        }
        directories = DirectoryStack(root: root)
        // Hardlink targets are trusted to be this archive's own entries only because nothing else is there.
        guard try Extraction.isEmpty(root) else {
            throw LayerError(code: .invalidTarget, entry: nil, reason: "target directory \(LayerError.quoted(directory)) is not empty")
        }
        self.lowerLayers = try LowerLayers(paths: lowerLayers)
        reader = try ArchiveReader(path: archivePath)
    }

    func run(expected: LayerDigests?) throws(LayerError) -> UnpackSummary {
        while let next = try reader.next() {
            entry = next
            summary.entries += 1
            try extract(next)
        }
        entry = nil
        entryName = nil
        let actual = try reader.finish()
        try expected?.check(actual)
        try finishDirectories()
        return summary
    }

    private func extract(_ entry: OpaquePointer) throws(LayerError) {
        // libarchive converts names to the locale's charset and gives up (NULL) in the C locale when
        // a pax name is non-ASCII UTF-8; the UTF-8 bytes are then the right name.
        guard let name = archive_entry_pathname(entry) ?? archive_entry_pathname_utf8(entry) else {
            throw reader.failure("member without a usable path")
        }
        entryName = name
        do throws(EntryPath.Problem) {
            try path.parse(name)
        } catch .absolute {
            throw fail(.pathEscapes, "path escapes the layer (absolute)")
        } catch {
            throw fail(.pathEscapes, "path escapes the layer (contains \"..\")")
        }
        let header: EntryHeader
        do throws(EntryHeader.Problem) {
            header = try EntryHeader(entry)
        } catch .owner(let uid, let gid) {
            throw fail(.invalidEntry, "owner \(uid):\(gid) is not a valid uid:gid")
        } catch {
            throw fail(.invalidEntry, "negative size")
        }
        try rejectOverlayXattrs(entry)
        let hardlink = archive_entry_hardlink(entry) ?? archive_entry_hardlink_utf8(entry)

        if path.isRoot {
            guard header.type == FileType.directory, hardlink == nil else {
                throw fail(.invalidEntry, "names the layer root, which can only be a directory")
            }
            try updateRoot(header)
            return
        }
        for index in 0..<(path.count - 1) where path.hasPrefix(index, ".wh.") {
            throw fail(.invalidWhiteout, "whiteout \(LayerError.quoted(path.display(prefix: index + 1))) used as a directory")
        }
        if path.hasPrefix(path.count - 1, ".wh.") {
            try applyWhiteout(header)
            return
        }
        if let hardlink {
            try createHardlink(to: hardlink)
            return
        }
        switch header.type {
        case FileType.regular:
            try createFile(header)
        case FileType.directory:
            try createDirectory(header)
        case FileType.symlink:
            try createSymlink(header, target: archive_entry_symlink(entry) ?? archive_entry_symlink_utf8(entry))
        case FileType.character, FileType.block:
            guard options.allowDevices else {
                if path.count > 1 && path.component(0, equals: "dev") {
                    summary.skippedDevices += 1
                    return
                }
                throw fail(.deviceNotAllowed, "device node outside dev/, and devices are not allowed here")
            }
            try createNode(header, device: archive_entry_rdev(entry))
        case FileType.fifo:
            try createNode(header, device: 0)
        default:
            throw fail(.invalidEntry, "unsupported file type 0o\(String(header.type, radix: 8))")
        }
    }

    func fail(_ code: LayerError.Code, _ reason: String, errno: Int32? = nil) -> LayerError {
        LayerError(code: code, entry: entryName.map { String(cString: $0) }, reason: reason, errno: errno)
    }

    /// For a failed system call; reads errno before anything can change it.
    func systemFailure(_ reason: @autoclosure () -> String) -> LayerError {
        let error = errno
        return fail(.system, reason(), errno: error)
    }

    private static func isEmpty(_ directory: Int32) throws(LayerError) -> Bool {
        let copy = dup(directory)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let error = errno
            if copy >= 0 { close(copy) }
            throw LayerError(code: .system, entry: nil, reason: "cannot list the target directory", errno: error)
        }
        defer { closedir(stream) }
        while let item = readdir(stream) {
            let name = direntName(item)
            if !isDotOrDotDot(name) { return false }
        }
        return true
    }
}

struct PendingDirectory {
    /// Set when the mode had to be held back (see `setDirectoryMode`).
    var mode: mode_t?
    var times: (timespec, timespec)?
}

func direntName(_ item: UnsafeMutablePointer<dirent>) -> UnsafePointer<CChar> {
    UnsafeRawPointer(item)
        .advanced(by: MemoryLayout<dirent>.offset(of: \dirent.d_name)!)
        .assumingMemoryBound(to: CChar.self)
}

func isDotOrDotDot(_ name: UnsafePointer<CChar>) -> Bool {
    name[0] == 0x2e && (name[1] == 0 || (name[1] == 0x2e && name[2] == 0))
}
