import OCI
import Testing

@Suite struct ReferenceTests {
    @Test(arguments: [
        ("debian", "docker.io/library/debian:latest", "registry-1.docker.io"),
        ("debian:bookworm", "docker.io/library/debian:bookworm", "registry-1.docker.io"),
        ("library/debian", "docker.io/library/debian:latest", "registry-1.docker.io"),
        ("docker.io/library/debian:12", "docker.io/library/debian:12", "registry-1.docker.io"),
        ("index.docker.io/foo/bar", "docker.io/foo/bar:latest", "registry-1.docker.io"),
        ("user/app:v1.2", "docker.io/user/app:v1.2", "registry-1.docker.io"),
        ("localhost/app", "localhost/app:latest", "localhost"),
        ("127.0.0.1:5000/ns/name:tag", "127.0.0.1:5000/ns/name:tag", "127.0.0.1:5000"),
        ("ghcr.io/a/b/c:x_y-z", "ghcr.io/a/b/c:x_y-z", "ghcr.io"),
        ("localhost:5000/a__b/c-d.e", "localhost:5000/a__b/c-d.e:latest", "localhost:5000"),
        ("[::1]:5000/app:1", "[::1]:5000/app:1", "[::1]:5000"),
    ])
    func parsesLikeDocker(input: String, expected: String, host: String) throws {
        let ref = try Reference(parsing: input)
        #expect(ref.description == expected)
        #expect(ref.registryHost == host)
    }

    @Test func digestsPinAndKeepTheTag() throws {
        let hex = String(repeating: "ab", count: 32)
        let pinned = try Reference(parsing: "debian@sha256:\(hex)")
        #expect(pinned.tag == nil)
        #expect(pinned.manifestReference == "sha256:\(hex)")
        #expect(pinned.description == "docker.io/library/debian@sha256:\(hex)")

        let both = try Reference(parsing: "127.0.0.1:5000/x:1@sha256:\(hex)")
        #expect(both.tag == "1")
        #expect(both.manifestReference == "sha256:\(hex)")
    }

    @Test(arguments: [
        ("", "empty"),
        ("Debian", "lowercase"),
        ("debian:", "tag"),
        ("debian:-x", "tag"),
        ("debian@sha256:abc", "sha256"),
        ("debian@md5:" + String(repeating: "a", count: 32), "sha256"),
        ("a//b", "path component"),
        ("a/b_", "path component"),
        ("host:99999/x", "registry host"),
        ("deb ian", "white space"),
        ("debian:" + String(repeating: "t", count: 129), "tag"),
    ])
    func rejectsWithAReason(input: String, mentions: String) {
        let error = #expect(throws: OCIError.self) { try Reference(parsing: input) }
        #expect(error?.code == .invalidReference)
        #expect(error?.message.contains(mentions) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\"\(input)\"") == true)
    }
}
