import Foundation
import Testing

/// `[base] bootstrap = "debian:SUITE"`: a base built with mmdebstrap from the Debian mirror, for
/// machines that reach a mirror but no registry; then packages on top as with any base.
@Suite(.buildScope, .serialized) struct BootstrapBuildTests {
    @Test func aBootstrapBaseIsBuiltOnceAndCarriesThePackages() throws {
        let manifest = """
            name = "boot"

            [base]
            bootstrap = "debian:bookworm"

            [packages]
            apt = ["jq"]
            """
        let project = try BuildProject(manifest, store: try BuildScope.current())
        let built = try project.devenv("build")
        try #require(built.status == 0, "\(built.output)")
        #expect(built.stderr.contains("bootstrap debian:bookworm"), "\(built.stderr)")
        let lock = try project.lockJSON()
        let base = try #require(lock["base"] as? [String: Any])
        #expect(base["bootstrap"] as? String == "debian:bookworm")
        #expect(base["mirror"] as? String == "http://deb.debian.org/debian")
        #expect(base["digest"] == nil)

        let inside = try project.sh("jq --version; . /etc/os-release; echo $VERSION_CODENAME")
        #expect(inside.status == 0, "\(inside.output)")
        #expect(inside.stdout.hasPrefix("jq-1.6\n") && inside.stdout.hasSuffix("bookworm\n"), "\(inside.output)")

        // The base is an image in the store like a pulled one, and it is not built again.
        let images = try Shell.devenv(["images"], store: project.store)
        #expect(images.stdout.contains("bootstrap/debian:bookworm-"), "\(images.output)")
        let again = try project.devenv("build")
        #expect(again.status == 0 && !again.stderr.contains("running"), "\(again.output)")
        #expect(try project.status()["ready"] as? Bool == true)
    }
}
