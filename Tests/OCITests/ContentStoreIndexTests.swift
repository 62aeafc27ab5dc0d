import Foundation
@testable import OCI
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The store's `index.json` as `tag` keeps it.
final class ContentStoreIndexTests {
    let scratch: TemporaryDirectory
    let root: String
    let store: ContentStore

    init() throws {
        scratch = try TemporaryDirectory("content-store")
        root = scratch.path
        store = try ContentStore(path: root + "/oci", tmpDirectory: root + "/tmp")
    }

    func manifest(_ text: String) -> Descriptor {
        Descriptor(mediaType: MediaType.ociManifest, digest: Digest(hashing: Data(text.utf8)), size: Int64(text.utf8.count))
    }

    /// The index file's inode and change time: what a launch record of an `--image` run checks.
    func indexStamp() throws -> [Int] {
        var info = stat()
        try #require(stat(root + "/oci/index.json", &info) == 0)
        return [Int(info.st_ino), info.st_ctim.tv_sec, info.st_ctim.tv_nsec]
    }

    @Test func taggingWhatIsAlreadyTaggedLeavesTheIndexFileAlone() async throws {
        try await store.tag("fixtures/debian:bookworm", manifest("a"))
        let first = try indexStamp()
        try await store.tag("fixtures/debian:bookworm", manifest("a"))
        #expect(try indexStamp() == first, "a no-op tag rewrote index.json")
        #expect(try store.resolve("fixtures/debian:bookworm")?.digest == manifest("a").digest)

        try await store.tag("fixtures/debian:bookworm", manifest("b"))
        #expect(try indexStamp() != first)
        #expect(try store.resolve("fixtures/debian:bookworm")?.digest == manifest("b").digest)
    }
}
