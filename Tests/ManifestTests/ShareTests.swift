import Testing
@testable import Manifest

/// `[share] image`: where `devenv push` publishes (issue 14).
@Suite struct ShareTests {
    func parse(_ text: String) throws -> Manifest {
        try Manifest.parse("[base]\nimage = \"debian\"\n" + text, file: ManifestTests.file, home: "/home/ada")
    }

    @Test func aRepositoryWithOrWithoutATagIsTaken() throws {
        #expect(try parse("").shareImage == nil)
        #expect(try parse("[share]\nimage = \"registry.example.com/team/webapp\"\n").shareImage == "registry.example.com/team/webapp")
        #expect(try parse("[share]\nimage = \"127.0.0.1:5000/team/webapp:dev\"\n").shareImage == "127.0.0.1:5000/team/webapp:dev")
        #expect(try parse("[share]\n").shareImage == nil)
    }

    @Test func aDigestAnInvalidReferenceAndUnknownKeysAreRefusedWhereTheyStand() throws {
        let digest = #expect(throws: ManifestError.self) {
            try parse("[share]\nimage = \"registry.example.com/team/webapp@sha256:\(String(repeating: "a", count: 64))\"\n")
        }
        #expect(digest?.position == SourcePosition(line: 4, column: 9))
        #expect(digest?.problem.contains("names a digest, which a push cannot publish to") == true)
        #expect(digest?.fix == "name the repository, optionally with a tag: \"registry.example.com/team/webapp\"")

        let invalid = #expect(throws: ManifestError.self) { try parse("[share]\nimage = \"Team/Web App\"\n") }
        #expect(invalid?.position == SourcePosition(line: 4, column: 9))
        #expect(invalid?.problem.hasPrefix("image \"Team/Web App\" is not a valid image reference") == true)

        let unknown = #expect(throws: ManifestError.self) { try parse("[share]\nimgae = \"x\"\n") }
        #expect(unknown?.problem == "unknown key \"imgae\" in [share]; did you mean \"image\"?")
        #expect(#expect(throws: ManifestError.self) { try parse("[share]\nimage = 5\n") } != nil)
    }
}
