import CArchive
import Foundation
import Glibc

/// A plain tar of regular files and directories (an image archive: `devenv export`), written
/// with libarchive in pax format, owned by 0:0 and dated at the epoch so the same image gives the
/// same bytes.
public final class TarFileWriter {
    private let archive: OpaquePointer
    private let path: String
    private var closed = false

    /// Creates (or truncates) the tar at `path`.
    public init(path: String) throws(LayerError) {
        guard let archive = archive_write_new() else {
            throw LayerError(code: .system, entry: nil, reason: "cannot allocate a libarchive writer", errno: ENOMEM)
        }
        self.archive = archive
        self.path = path
        guard archive_write_set_format_pax_restricted(archive) == ARCHIVE_OK,
              archive_write_set_bytes_in_last_block(archive, 1) == ARCHIVE_OK,
              archive_write_open_filename(archive, path) == ARCHIVE_OK else {
            // deinit frees the writer: every stored property is set, so it runs.
            throw LayerError(code: .system, entry: nil, reason: Self.message(archive), errno: archive_errno(archive) == 0 ? nil : archive_errno(archive))
        }
    }

    deinit {
        if !closed { archive_write_free(archive) }
    }

    public func directory(_ name: String) throws(LayerError) {
        try header(name, size: 0, mode: FileType.directory | 0o755)
    }

    public func add(_ name: String, data: Data) throws(LayerError) {
        try header(name, size: Int64(data.count))
        let written = data.withUnsafeBytes { archive_write_data(archive, $0.baseAddress, $0.count) }
        guard written == data.count else { throw failure(name) }
    }

    /// Adds the file at `source` as `name`, streamed; it must still be `size` bytes long.
    public func add(_ name: String, file source: String, size: Int64) throws(LayerError) {
        let descriptor = open(source, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LayerError(code: .system, entry: name, reason: "cannot read \(source)", errno: errno) }
        defer { close(descriptor) }
        try header(name, size: size)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var remaining = size
        while remaining > 0 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, Int(min(Int64($0.count), remaining))) }
            guard count > 0 else {
                throw LayerError(code: .sourceChanged, entry: name, reason: "\(source) is shorter than \(size) bytes", errno: count < 0 ? errno : nil)
            }
            guard buffer.withUnsafeBytes({ archive_write_data(archive, $0.baseAddress, count) }) == count else { throw failure(name) }
            remaining -= Int64(count)
        }
    }

    /// Writes the end of the archive; the file is complete only after this.
    public func finish() throws(LayerError) {
        closed = true
        let result = archive_write_close(archive)
        let reason = result == ARCHIVE_OK ? nil : Self.message(archive)
        archive_write_free(archive)
        if let reason { throw LayerError(code: .system, entry: nil, reason: "cannot finish \(path): \(reason)") }
    }

    private func header(_ name: String, size: Int64, mode: mode_t = FileType.regular | 0o644) throws(LayerError) {
        let entry = archive_entry_new()
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, size)
        archive_entry_set_mode(entry, mode)
        archive_entry_set_mtime(entry, 0, 0)
        guard archive_write_header(archive, entry) == ARCHIVE_OK else { throw failure(name) }
    }

    /// libarchive's explanation of its last failure, else the system's.
    private static func message(_ archive: OpaquePointer) -> String {
        if let text = archive_error_string(archive) { return String(cString: text) }
        return String(cString: strerror(errno))
    }

    private func failure(_ name: String) -> LayerError {
        LayerError(code: .system, entry: name, reason: "cannot write it into \(path): " + Self.message(archive))
    }
}
