import Foundation
import Glibc
import Layers
import TestSupport
import Testing

/// The unpacker checks a layer against the digests its image names, over the very bytes it
/// unpacks: the blob's digest, and the diff_id of the whole uncompressed stream. Expected values
/// come from sha256sum over the files and `gzip -dc`/`zstd -dc` output, not from our own hashing.
@Suite struct LayerVerificationTests {
    static let entries: [TarWriter.Entry] = [.directory("etc/"), .file("etc/hostname", "honest\n"), .file("bin/tool", "#!tool", mode: 0o755)]

    static func sha256(_ command: String, _ path: String) throws -> String {
        "sha256:" + String(try runTool("sh", ["-c", command + " | sha256sum", "sh", path]).prefix(64))
    }

    static func digests(of archive: String, compression: ScratchDirectory.Compression) throws -> LayerDigests {
        let decompress = switch compression {
        case .none: "cat \"$1\""
        case .gzip: "gzip -dc \"$1\""
        case .zstd: "zstd -dc \"$1\""
        }
        return LayerDigests(blob: try sha256("cat \"$1\"", archive), diffID: try sha256(decompress, archive))
    }

    @Test(arguments: ScratchDirectory.Compression.allCases)
    func aLayerMatchingItsDigestsUnpacks(compression: ScratchDirectory.Compression) throws {
        let scratch = try ScratchDirectory()
        let archive = try scratch.archive(Self.entries, compression: compression)
        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(archivePath: archive, into: layer, expected: try Self.digests(of: archive, compression: compression))
        #expect(FileInspection.text(layer + "/etc/hostname") == "honest\n")
    }

    /// An image that names another layer's diff_id for its own content, to be unpacked into that
    /// layer's directory.
    @Test(arguments: ScratchDirectory.Compression.allCases)
    func aLayerClaimingAnotherDiffIDIsRefused(compression: ScratchDirectory.Compression) throws {
        let scratch = try ScratchDirectory()
        let honest = try scratch.archive(Self.entries, name: "honest.tar", compression: compression)
        let claimed = try Self.digests(of: honest, compression: compression).diffID
        let lying = try scratch.archive([.directory("etc/"), .file("etc/hostname", "pwned\n")], name: "lying.tar", compression: compression)
        var expected = try Self.digests(of: lying, compression: compression)
        let actual = expected.diffID
        expected.diffID = claimed
        let layer = try scratch.make("layer")
        do {
            try LayerUnpacker().unpack(archivePath: lying, into: layer, expected: expected)
            Issue.record("a layer whose content does not match its diff_id was unpacked")
        } catch let error as LayerError {
            #expect(error.code == .digestMismatch)
            #expect(error.description.contains("claimed \(claimed)") && error.description.contains("actual \(actual)"), "\(error)")
        }
    }

    @Test func aBlobNotMatchingItsDigestIsRefused() throws {
        let scratch = try ScratchDirectory()
        let archive = try scratch.archive(Self.entries, compression: .gzip)
        var expected = try Self.digests(of: archive, compression: .gzip)
        let actual = try #require(expected.blob)
        expected.blob = "sha256:" + String(repeating: "0", count: 64)
        let layer = try scratch.make("layer")
        #expect {
            try LayerUnpacker().unpack(archivePath: archive, into: layer, expected: expected)
        } throws: { error in
            (error as? LayerError)?.code == .digestMismatch && "\(error)".contains(actual)
        }
    }

    /// The diff_id is over the whole stream, not only what the tar reader needs: bytes after the
    /// end-of-archive blocks change it, as they would change Docker's.
    @Test func theDiffIDCoversBytesAfterTheEndOfTheTar() throws {
        let scratch = try ScratchDirectory()
        let archive = try scratch.archive(bytes: TarWriter(Self.entries).archive + Array(repeating: 0x41, count: 3000), compression: .gzip)
        let expected = try Self.digests(of: archive, compression: .gzip)
        let tarOnly = try Self.digests(of: try scratch.archive(Self.entries, name: "plain.tar", compression: .gzip), compression: .gzip)
        #expect(expected.diffID != tarOnly.diffID)
        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(archivePath: archive, into: layer, expected: expected)
        let other = try scratch.make("other")
        #expect(throws: LayerError.self) {
            try LayerUnpacker().unpack(archivePath: archive, into: other, expected: LayerDigests(blob: nil, diffID: tarOnly.diffID))
        }
    }

    @Test func aZeroByteBlobIsTheEmptyStream() throws {
        let scratch = try ScratchDirectory()
        let archive = try scratch.archive(bytes: [], name: "empty")
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        try LayerUnpacker().unpack(archivePath: archive, into: try scratch.make("layer"), expected: LayerDigests(blob: empty, diffID: empty))
    }

    /// A built layer is recorded with the diff_id the archiver computed over what it wrote; the
    /// unpacker must agree with it, or a built image would not unpack anywhere else.
    @Test func aBuiltLayerUnpacksAgainstTheDigestsTheArchiverRecorded() throws {
        let scratch = try ScratchDirectory()
        let source = try scratch.make("source")
        try LayerUnpacker().unpack(archivePath: try scratch.archive(Self.entries), into: source)
        let output = scratch.path + "/built.tar.gz"
        let built = try LayerArchiver().archive(directory: source, to: output)
        let layer = try scratch.make("layer")
        try LayerUnpacker().unpack(archivePath: output, into: layer,
                                   expected: LayerDigests(blob: "sha256:" + built.digest, diffID: "sha256:" + built.diffID))
        #expect(FileInspection.text(layer + "/bin/tool") == "#!tool")
    }
}
