import Foundation
import TestSupport
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

    /// Issue 14: a teammate's build takes the bootstrap base from `[share] image` with the
    /// steps, instead of running mmdebstrap; the steps are keyed by the base's own key, so the
    /// pulled base gives the keys the registry has.
    @Test func aTeammatePullsTheBootstrapBaseInsteadOfRunningMmdebstrap() throws {
        let repository = "\(try TestEnvironment.registry())/shared/boot-\(UUID().uuidString.prefix(8).lowercased())"
        let manifest = """
            name = "boot"

            [base]
            bootstrap = "debian:bookworm"

            [packages]
            apt = ["jq"]

            [[setup]]
            name = "marker"
            run = "echo built > /opt/marker"

            [share]
            image = "\(repository)"
            """
        let project = try BuildProject(manifest, store: try BuildScope.current())
        let pushed = try Shell.devenv(["push", "-q", "-C", project.path], store: project.store)
        try #require(pushed.status == 0, "\(pushed.output)")

        let temp = try TemporaryDirectory("bootstrap-teammate")
        let mate = try BuildProject(manifest, store: temp.path + "/store")
        try FileManager.default.copyItem(atPath: project.lockPath, toPath: mate.lockPath)
        let built = try mate.devenv("build")
        try #require(built.status == 0, "\(built.output)")
        #expect(layerReport(built.stderr) == ["base": "pulled", "apt": "pulled", "setup marker": "pulled"], "\(built.stderr)")
        #expect(!built.stderr.contains("running…"), "mmdebstrap or a step ran: \(built.stderr)")
        #expect(try mate.layerKeys() == (try project.layerKeys()), "the pulled base keys the steps as the one built there")
        let inside = try mate.sh("jq --version; cat /opt/marker; . /etc/os-release; echo $VERSION_CODENAME")
        #expect(inside.stdout == "jq-1.6\nbuilt\nbookworm\n", "\(inside.output)")
        #expect(try mate.status()["ready"] as? Bool == true)
    }
}
