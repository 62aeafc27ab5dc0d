import CArchive
import Glibc

/// A libarchive tar reader over one layer blob. Compression (gzip, zstd, none, ...) is detected
/// from the data, not the file name, because blobs in a content store have no extension; the
/// `LayerStream` underneath decompresses and hashes what this parses.
final class ArchiveReader {
    private let archive: OpaquePointer
    private let stream: LayerStream
    let path: String

    init(path: String) throws(LayerError) {
        stream = try LayerStream(path: path)
        guard let archive = archive_read_new() else {
            throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive reader", errno: ENOMEM)
        }
        self.archive = archive
        self.path = path
        archive_read_support_format_tar(archive)
        archive_read_support_format_empty(archive)
        let context = Unmanaged.passUnretained(stream).toOpaque()
        let opened = archive_read_open(archive, context, nil, { _, context, buffer in
            guard let bytes = Unmanaged<LayerStream>.fromOpaque(context!).takeUnretainedValue().next() else { return -1 }
            buffer!.pointee = bytes.baseAddress
            return bytes.count
        }, nil)
        if opened != ARCHIVE_OK {
            throw failure("cannot open")
        }
    }

    deinit {
        archive_read_free(archive)
    }

    /// The blob's digest and its diff_id, once every member was read.
    func finish() throws(LayerError) -> (blob: String, diffID: String) {
        try stream.finish()
    }

    /// The next member's header, valid until the following call.
    func next() throws(LayerError) -> OpaquePointer? {
        var entry: OpaquePointer?
        switch archive_read_next_header(archive, &entry) {
        case ARCHIVE_EOF:
            return nil
        case ARCHIVE_OK, ARCHIVE_WARN:
            return entry
        default:
            throw failure("cannot read the next header")
        }
    }

    /// The next run of the current member's data and where in the file it goes; runs skip holes of
    /// sparse members. Nil at the end of the member.
    func nextBlock() throws(LayerError) -> (bytes: UnsafeRawBufferPointer, offset: Int64)? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        switch archive_read_data_block(archive, &buffer, &size, &offset) {
        case ARCHIVE_EOF:
            return nil
        case ARCHIVE_OK, ARCHIVE_WARN:
            return (UnsafeRawBufferPointer(start: buffer, count: size), offset)
        default:
            throw failure("cannot read member data")
        }
    }

    func failure(_ what: String) -> LayerError {
        if let failure = stream.failure { return failure }
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        let code = archive_errno(archive)
        // Format problems come with libarchive's pseudo-errno values (EILSEQ, -1); only real I/O
        // failures make this the system's fault rather than the archive's.
        let isSystem = code == EIO || code == ENOMEM || code == ENOENT || code == EACCES || code == EISDIR
        return LayerError(code: isSystem ? .system : .corruptArchive, entry: nil, reason: "archive \(LayerError.quoted(path)): \(what): \(detail)")
    }
}
