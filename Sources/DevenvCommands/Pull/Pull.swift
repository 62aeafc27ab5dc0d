import ArgumentParser
import Foundation
import ImageStore
import OCI

struct Pull: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pull an image into the store and unpack its layers.",
        discussion: """
            REF is read as Docker reads it: `debian` is docker.io/library/debian:latest.
            Credentials come from ~/.docker/config.json ($DOCKER_CONFIG); plain HTTP is used only
            for loopback registries and hosts in DEVENV_INSECURE_REGISTRIES.

            Examples:
              devenv pull debian:bookworm
              devenv pull 127.0.0.1:5000/team/base@sha256:…
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Image reference, e.g. debian:bookworm or host:port/name:tag@sha256:….")
    var reference: String

    @Flag(help: "Only download into the store; unpack layers later, when the image is first used.")
    var noUnpack = false

    func run() async throws {
        let ref = try Reference(parsing: reference)
        let store = try global.store()
        let progress = PullProgress(quiet: global.quiet, verbose: global.verbose)
        let image = try await ImagePull(store: store, onEvent: progress.handle).run(ref, unpack: !noUnpack)
        if global.quiet {
            Terminal.out(image.reference.pinned(to: image.resolvedDigest).description)
        } else {
            Terminal.out("Pulled \(image.reference) (\(image.resolvedDigest))")
        }
    }
}
