import CArchive
import Crypto
import Glibc

/// A layer blob read as the uncompressed byte stream its diff_id names, hashing both the blob's
/// bytes and the decompressed ones as they pass. libarchive decompresses (its "raw" format: one
/// member, the whole stream, every filter it knows); `ArchiveReader` parses the tar from what this
/// hands out, so the bytes hashed are exactly the bytes unpacked, with no second read of the file
/// for anyone to change in between.
final class LayerStream {
    private let archive: OpaquePointer
    private let file: BlobFile
    let path: String
    private var uncompressedHash = SHA256()
    private var ended = false
    /// Why the stream stopped early; the tar reader only sees that its read callback failed.
    private(set) var failure: LayerError?

    init(path: String) throws(LayerError) {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let error = errno
            throw LayerError(code: .system, entry: nil, reason: "archive \(LayerError.quoted(path)): cannot open", errno: error)
        }
        file = BlobFile(descriptor: descriptor, path: path)
        guard let archive = archive_read_new() else {
            throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive reader", errno: ENOMEM)
        }
        self.archive = archive
        archive_read_support_filter_all(archive)
        archive_read_support_format_raw(archive)
        // A zero-byte blob is a valid empty layer, and raw would not take it.
        archive_read_support_format_empty(archive)
        let context = Unmanaged.passUnretained(file).toOpaque()
        let opened = archive_read_open(archive, context, nil, { _, context, buffer in
            Unmanaged<BlobFile>.fromOpaque(context!).takeUnretainedValue().read(into: buffer!)
        }, nil)
        guard opened == ARCHIVE_OK else { throw decompressionFailure("cannot open") }
        var member: OpaquePointer?
        switch archive_read_next_header(archive, &member) {
        case ARCHIVE_OK, ARCHIVE_WARN: break
        case ARCHIVE_EOF: ended = true
        default: throw decompressionFailure("cannot open")
        }
    }

    deinit {
        archive_read_free(archive)
    }

    /// The next run of uncompressed bytes, valid until the following call; empty at the end.
    /// On failure returns nil and keeps the reason in `failure`.
    func next() -> UnsafeRawBufferPointer? {
        var buffer: UnsafeRawPointer?
        var size = 0
        var offset: la_int64_t = 0
        // An empty run is not the end: the tar reader would take it for one.
        while !ended && size == 0 {
            switch archive_read_data_block(archive, &buffer, &size, &offset) {
            case ARCHIVE_EOF:
                ended = true
            case ARCHIVE_OK, ARCHIVE_WARN:
                break
            default:
                failure = decompressionFailure("cannot decompress")
                return nil
            }
        }
        if ended { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: size)
        uncompressedHash.update(bufferPointer: bytes)
        return bytes
    }

    /// Reads what the tar reader left (the tar's end-of-archive padding, anything after it, bytes
    /// after the compressed stream) and returns both digests as `sha256:<hex>`: what the blob's
    /// digest and the layer's diff_id name.
    func finish() throws(LayerError) -> (blob: String, diffID: String) {
        while true {
            guard let bytes = next() else { throw failure! }
            if bytes.isEmpty { break }
        }
        try file.readToEnd()
        return ("sha256:" + file.hash.finalize().hex, "sha256:" + uncompressedHash.finalize().hex)
    }

    private func decompressionFailure(_ what: String) -> LayerError {
        if let failure = file.failure { return failure }
        let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
        return LayerError(code: .corruptArchive, entry: nil, reason: "archive \(LayerError.quoted(path)): \(what): \(detail)")
    }
}

/// The blob file, hashed as libarchive reads it.
private final class BlobFile {
    let descriptor: Int32
    let path: String
    var hash = SHA256()
    var failure: LayerError?
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)

    init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit {
        buffer.deallocate()
        close(descriptor)
    }

    /// libarchive's read callback: the next block of the file, 0 at its end, -1 on failure.
    func read(into out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                let error = errno
                failure = LayerError(code: .system, entry: nil, reason: "archive \(LayerError.quoted(path)): cannot read", errno: error)
                return -1
            }
            hash.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            out.pointee = UnsafeRawPointer(buffer.baseAddress)
            return count
        }
    }

    /// Hashes the bytes past the end of the compressed stream, which libarchive does not read.
    func readToEnd() throws(LayerError) {
        var block: UnsafeRawPointer?
        while true {
            let count = read(into: &block)
            if count < 0 { throw failure! }
            if count == 0 { return }
        }
    }
}
