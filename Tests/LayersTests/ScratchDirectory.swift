import Foundation
import Glibc
import TestSupport
import Testing

/// A temporary directory (TestSupport) with the layer tests' archives in it.
final class ScratchDirectory {
    private let directory: TemporaryDirectory
    var path: String { directory.path }

    init() throws {
        directory = try TemporaryDirectory("layers-test")
    }

    func make(_ name: String, mode: mode_t = 0o755) throws -> String {
        let full = path + "/" + name
        guard mkdir(full, mode) == 0 else {
            throw POSIXFailure("mkdir \(full)", errno)
        }
        chmod(full, mode)
        return full
    }

    enum Compression: CaseIterable, Sendable {
        case none, gzip, zstd
    }

    /// Writes the archive, compressed with the real gzip or zstd tools, and returns its path.
    func archive(_ entries: [TarWriter.Entry], name: String = "layer.tar", compression: Compression = .none) throws -> String {
        try archive(bytes: TarWriter(entries).archive, name: name, compression: compression)
    }

    func archive(bytes: [UInt8], name: String = "layer.tar", compression: Compression = .none) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        switch compression {
        case .none:
            return file
        case .gzip:
            try runTool("gzip", ["-n", "-f", file])
            return file + ".gz"
        case .zstd:
            try runTool("zstd", ["-q", "-f", "--rm", file])
            return file + ".zst"
        }
    }
}
