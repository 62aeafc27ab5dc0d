#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import NIOCore
import Storage

/// One blob being written into the store. The partial file is kept across runs under
/// `tmp/ingest/<hex>.partial`, so a download killed half-way resumes where it stopped; a lock
/// file keeps two processes from writing the same blob at once. The blob appears under
/// `blobs/` only after its size and digest are verified.
final class IngestSession {
    let digest: Digest
    let expectedSize: Int64
    let partialPath: String
    private let store: ContentStore
    private let lock: FileLock
    private var fd: Int32
    private var hasher = SHA256()
    private(set) var size: Int64 = 0

    init(store: ContentStore, digest: Digest, expectedSize: Int64) async throws {
        self.store = store
        self.digest = digest
        self.expectedSize = expectedSize
        partialPath = "\(store.ingestDirectory)/\(digest.hex).partial"
        lock = try await FileLock.acquire("\(store.ingestDirectory)/\(digest.hex).lock")
        fd = open(partialPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StorageError.posix("open \(partialPath)", errno) }
        try resumeExisting()
    }

    deinit { close(fd) }

    /// Hashes what an earlier, interrupted run already wrote, so the download continues from there.
    private func resumeExisting() throws {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StorageError.posix("stat \(partialPath)", errno) }
        guard st.st_size > 0, Int64(st.st_size) <= expectedSize else {
            try reset()
            return
        }
        try ContentStore.hashFile(fd: fd, path: partialPath, into: &hasher)
        size = Int64(st.st_size)
    }

    func reset() throws {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw StorageError.posix("truncate \(partialPath)", errno)
        }
        hasher = SHA256()
        size = 0
    }

    func append(_ buffer: ByteBuffer) throws {
        guard size + Int64(buffer.readableBytes) <= expectedSize else {
            throw OCIError(.digestMismatch, "blob \(digest) is larger than the \(expectedSize) bytes its manifest says")
        }
        try buffer.withUnsafeReadableBytes { raw in
            hasher.update(bufferPointer: raw)
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw OCIError(.store, StorageError.posix("write \(partialPath)", errno).description)
                }
                offset += n
            }
        }
        size += Int64(buffer.readableBytes)
    }

    /// Verifies and moves the blob into place. A mismatch discards the partial file so the next
    /// attempt starts clean rather than resuming from bad bytes.
    func commit() throws {
        guard size == expectedSize else {
            throw OCIError(.transient, "blob \(digest) ended after \(size) of \(expectedSize) bytes")
        }
        let actual = hasher.finalizedDigest
        guard actual == digest else {
            try reset()
            throw OCIError(.digestMismatch, "blob downloaded for \(digest) has digest \(actual): the registry sent different content")
        }
        guard fsync(fd) == 0 else { throw StorageError.posix("fsync \(partialPath)", errno) }
        guard rename(partialPath, store.blobPath(digest)) == 0 else {
            throw StorageError.posix("rename \(partialPath) into the store", errno)
        }
    }
}
