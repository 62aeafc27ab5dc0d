import CArchive
import Crypto
import Glibc

extension LayerArchiver {
    /// The tar passes through two libarchive writers: the first formats it and hands its bytes, hashed
    /// for the diff_id, to the second, which only gzips them ("raw" format) and hands its output,
    /// hashed for the digest, to the file. So each file is read once, both digests come out of the
    /// same pass, and memory stays at a few blocks however large the layer.
    final class Stream {
        private let tar: OpaquePointer
        private let gzip: OpaquePointer
        private let uncompressed: TarSink
        private let compressed: FileSink
        private var finished = false

        /// libarchive's blocking unit on both writers; large enough that callbacks and write(2)
        /// calls are few.
        private static let blockSize: Int32 = 1 << 16

        /// Writes to `output`, which the caller keeps open until after `finish`; `path` is for messages.
        init(output: Int32, path: String) throws(LayerError) {
            guard let gzip = archive_write_new() else {
                throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive writer", errno: ENOMEM)
            }
            guard let tar = archive_write_new() else {
                archive_write_free(gzip)
                throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive writer", errno: ENOMEM)
            }
            self.gzip = gzip
            self.tar = tar
            compressed = FileSink(descriptor: output, path: path)
            uncompressed = TarSink(gzip: gzip, next: compressed)

            // The gzip header's mtime would otherwise be the current time, and the same tree would
            // get a new digest every time. libarchive writes no file name into it.
            guard archive_write_set_format_raw(gzip) == ARCHIVE_OK,
                  archive_write_add_filter_gzip(gzip) == ARCHIVE_OK,
                  archive_write_set_filter_option(gzip, "gzip", "timestamp", nil) == ARCHIVE_OK,
                  archive_write_set_bytes_per_block(gzip, Self.blockSize) == ARCHIVE_OK,
                  // Without this the last block is padded with zeros, which gzip -d calls trailing garbage.
                  archive_write_set_bytes_in_last_block(gzip, 1) == ARCHIVE_OK
            else {
                throw failure(gzip, "cannot set up gzip compression")
            }
            let compressedContext = Unmanaged.passUnretained(compressed).toOpaque()
            guard archive_write_open2(gzip, compressedContext, nil, { _, context, buffer, length in
                Unmanaged<FileSink>.fromOpaque(context!).takeUnretainedValue().write(UnsafeRawBufferPointer(start: buffer, count: length))
            }, nil, nil) == ARCHIVE_OK else {
                throw failure(gzip, "cannot start gzip compression")
            }
            // The raw format carries exactly one member: the tar.
            let member = archive_entry_new()
            defer { archive_entry_free(member) }
            archive_entry_set_mode(member, FileType.regular | 0o644)
            guard archive_write_header(gzip, member) == ARCHIVE_OK else {
                throw failure(gzip, "cannot start gzip compression")
            }

            // pax rather than restricted pax: restricted pax drops sub-second mtimes unless a member
            // needs an extended header for another reason. Both add a header only where ustar falls
            // short, and none of atime, ctime, device or inode numbers, which are never set here.
            // SCHILY.xattr alone is what Go's archive/tar (containerd, Docker) reads; libarchive would
            // repeat every xattr in its own LIBARCHIVE.xattr form as well.
            guard archive_write_set_format_pax(tar) == ARCHIVE_OK,
                  archive_write_set_format_option(tar, "pax", "xattrheader", "SCHILY") == ARCHIVE_OK,
                  archive_write_set_bytes_per_block(tar, Self.blockSize) == ARCHIVE_OK,
                  // The tar ends with its two zero blocks, as Go's archive/tar writes it, not padded to
                  // a tape record.
                  archive_write_set_bytes_in_last_block(tar, 1) == ARCHIVE_OK
            else {
                throw failure(tar, "cannot set up the tar writer")
            }
            let uncompressedContext = Unmanaged.passUnretained(uncompressed).toOpaque()
            guard archive_write_open2(tar, uncompressedContext, nil, { _, context, buffer, length in
                Unmanaged<TarSink>.fromOpaque(context!).takeUnretainedValue().write(UnsafeRawBufferPointer(start: buffer, count: length))
            }, nil, nil) == ARCHIVE_OK else {
                throw failure(tar, "cannot start the tar writer")
            }
        }

        deinit {
            if !finished {
                // Abandoned after an error: free without flushing anything more into the file.
                archive_write_fail(tar)
                archive_write_fail(gzip)
            }
            archive_write_free(tar)
            archive_write_free(gzip)
        }

        /// `member` names the entry for messages.
        func writeHeader(_ entry: OpaquePointer, member: @autoclosure () -> String) throws(LayerError) {
            // ARCHIVE_WARN: a name that is not valid in the locale's charset (always so for non-ASCII
            // names in the C locale Swift programs run in) is written as its raw bytes, flagged with
            // hdrcharset=BINARY, which is exactly the name the filesystem has.
            let result = archive_write_header(tar, entry)
            guard result == ARCHIVE_OK || result == ARCHIVE_WARN else {
                var error = failure(tar, "cannot write the tar header")
                error.entry = error.entry ?? member()
                throw error
            }
        }

        func writeData(_ bytes: UnsafeRawBufferPointer, member: @autoclosure () -> String) throws(LayerError) {
            var written = 0
            while written < bytes.count {
                let count = archive_write_data(tar, bytes.baseAddress! + written, bytes.count - written)
                guard count > 0 else {
                    var error = failure(tar, "cannot write file data to the tar")
                    error.entry = error.entry ?? member()
                    throw error
                }
                written += count
            }
        }

        /// Writes the tar's end, flushes the compressor and makes the file durable.
        func finish() throws(LayerError) -> (digest: String, size: Int64, diffID: String) {
            guard archive_write_close(tar) == ARCHIVE_OK else {
                throw failure(tar, "cannot finish the tar")
            }
            guard archive_write_close(gzip) == ARCHIVE_OK else {
                throw failure(gzip, "cannot finish gzip compression")
            }
            finished = true
            // The store renames the blob into place once its digest checks out; it must not turn out
            // empty or truncated after a crash.
            guard fsync(compressed.descriptor) == 0 else {
                let error = errno
                throw LayerError(code: .system, entry: nil, reason: "cannot sync \(LayerError.quoted(compressed.path))", errno: error)
            }
            return (compressed.hash.finalize().hex, compressed.size, uncompressed.hash.finalize().hex)
        }

        /// A failure a sink saw says more than libarchive's report of it ("write callback failed").
        private func failure(_ archive: OpaquePointer, _ what: String) -> LayerError {
            if let error = compressed.failure ?? uncompressed.failure {
                return error
            }
            let detail = archive_error_string(archive).map { String(cString: $0) } ?? "unknown libarchive error"
            let code = archive_errno(archive)
            return LayerError(code: .system, entry: nil, reason: "\(what): \(detail)", errno: code > 0 ? code : nil)
        }
    }

    /// Receives the uncompressed tar.
    final class TarSink {
        let gzip: OpaquePointer
        let next: FileSink
        var hash = SHA256()
        var failure: LayerError?

        init(gzip: OpaquePointer, next: FileSink) {
            self.gzip = gzip
            self.next = next
        }

        func write(_ bytes: UnsafeRawBufferPointer) -> Int {
            hash.update(bufferPointer: bytes)
            guard archive_write_data(gzip, bytes.baseAddress, bytes.count) == bytes.count else {
                if next.failure == nil {
                    let detail = archive_error_string(gzip).map { String(cString: $0) } ?? "unknown libarchive error"
                    failure = LayerError(code: .system, entry: nil, reason: "cannot compress the tar: \(detail)")
                }
                return -1
            }
            return bytes.count
        }
    }

    /// Receives the gzip stream and writes it to the output file.
    final class FileSink {
        let descriptor: Int32
        let path: String
        var hash = SHA256()
        var size: Int64 = 0
        var failure: LayerError?

        init(descriptor: Int32, path: String) {
            self.descriptor = descriptor
            self.path = path
        }

        func write(_ bytes: UnsafeRawBufferPointer) -> Int {
            var written = 0
            while written < bytes.count {
                let count = Glibc.write(descriptor, bytes.baseAddress! + written, bytes.count - written)
                if count < 0 {
                    if errno == EINTR { continue }
                    let error = errno
                    failure = LayerError(code: .system, entry: nil, reason: "cannot write \(LayerError.quoted(path))", errno: error)
                    return -1
                }
                written += count
            }
            hash.update(bufferPointer: bytes)
            size += Int64(bytes.count)
            return bytes.count
        }
    }
}
