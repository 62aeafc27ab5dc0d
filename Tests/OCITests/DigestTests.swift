import Foundation
@testable import OCI
import Testing

@Suite struct DigestTests {
    @Test func hashesLikeSha256sum() throws {
        // printf 'hello\n' | sha256sum
        let digest = Digest(hashing: Array("hello\n".utf8))
        #expect(digest.description == "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        #expect(try Digest(digest.description) == digest)
        #expect(digest.short == "5891b5b522d5")
    }

    @Test func rejectsUppercaseAndOtherAlgorithms() {
        #expect(throws: OCIError.self) { try Digest("sha256:" + String(repeating: "A", count: 64)) }
        #expect(throws: OCIError.self) { try Digest("sha512:" + String(repeating: "a", count: 128)) }
        #expect(throws: OCIError.self) { try Digest("sha256:" + String(repeating: "a", count: 63)) }
    }

    @Test func chainIDsFollowTheImageSpec() throws {
        // The spec's recursion: ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
        let a = Digest(hashing: Array("a".utf8)), b = Digest(hashing: Array("b".utf8))
        let json = #"{"rootfs":{"type":"layers","diff_ids":["\#(a)","\#(b)"]}}"#
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(json.utf8))
        #expect(config.chainIDs == [a, Digest(hashing: Array("\(a) \(b)".utf8))])
    }
}
