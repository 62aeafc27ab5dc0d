#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Storage

/// The store's `oci/` directory: a valid OCI image layout (`oci-layout`, `index.json`,
/// `blobs/sha256/…`) that skopeo and umoci read too. Blobs are immutable and named by their
/// digest; `index.json` names the images the user pulled.
public final class ContentStore: Sendable {
    public let path: String
    /// Where partial downloads live (on the same file system, so commit is a rename).
    let ingestDirectory: String

    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// The index or manifest list digest a platform manifest was resolved from.
    public static let sourceIndexAnnotation = "dev.devenv.image.index"

    public init(path: String, tmpDirectory: String) throws {
        self.path = path
        self.ingestDirectory = tmpDirectory + "/ingest"
        try AtomicFile.makeDirectories(path + "/blobs/sha256")
        try AtomicFile.makeDirectories(ingestDirectory)
        let layoutFile = path + "/oci-layout"
        if !FileManager.default.fileExists(atPath: layoutFile) {
            try AtomicFile.write(Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: layoutFile, tmpDirectory: ingestDirectory)
        }
        if !FileManager.default.fileExists(atPath: indexPath) {
            try writeIndex(ImageIndex(manifests: [], mediaType: MediaType.ociIndex))
        }
    }

    var indexPath: String { path + "/index.json" }

    public func blobPath(_ digest: Digest) -> String { "\(path)/blobs/sha256/\(digest.hex)" }

    public func contains(_ digest: Digest) -> Bool { access(blobPath(digest), F_OK) == 0 }

    /// Re-hashes a stored blob: a blob changed on disk after it was written (a bad disk, a user
    /// editing files) must be noticed and fetched again rather than trusted.
    public func verify(_ digest: Digest, size: Int64? = nil) throws -> Bool {
        let path = blobPath(digest)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return false }
            throw StorageError.posix("open \(path)", errno)
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError.posix("stat \(path)", errno) }
        if let size, Int64(st.st_size) != size { return false }
        var hasher = SHA256()
        try Self.hashFile(fd: fd, path: path, into: &hasher)
        return hasher.finalizedDigest == digest
    }

    static func hashFile(fd: Int32, path: String, into hasher: inout SHA256) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.posix("read \(path)", errno)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// Reads a small blob (manifest, config) and checks it against its digest.
    public func read(_ digest: Digest) throws -> Data {
        guard let data = FileManager.default.contents(atPath: blobPath(digest)) else {
            throw OCIError(.store, "blob \(digest) is missing from the store at \(path); pull the image again")
        }
        guard Digest(hashing: data) == digest else {
            throw OCIError(.digestMismatch, "blob \(digest) in the store at \(path) is corrupt; pull the image again")
        }
        return data
    }

    /// Stores a small blob already in memory; returns its digest.
    @discardableResult
    public func put(_ data: Data) throws -> Digest {
        let digest = Digest(hashing: data)
        if !contains(digest) {
            try AtomicFile.write(data, to: blobPath(digest), tmpDirectory: ingestDirectory)
        }
        return digest
    }

    public func remove(_ digest: Digest) {
        unlink(blobPath(digest))
    }

    /// Every blob file in the store, with its size.
    public func allBlobs() throws -> [(digest: Digest, size: Int64)] {
        let dir = path + "/blobs/sha256"
        return try FileManager.default.contentsOfDirectory(atPath: dir).compactMap { name in
            guard let digest = try? Digest("sha256:" + name) else { return nil }
            var st = stat()
            guard lstat(dir + "/" + name, &st) == 0 else { return nil }
            return (digest, Int64(st.st_size))
        }
    }
}
