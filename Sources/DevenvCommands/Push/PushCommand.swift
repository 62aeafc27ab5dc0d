import ArgumentParser
import Environments
import Foundation
import ImageStore
import OCI
import Sandbox

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Publish the project's environment to a registry as an OCI image.",
        discussion: """
            Builds what is missing first, then pushes the environment as a standard OCI image: \
            the base image's layers and one layer per step, the environment's variables in its \
            config, and annotations naming the manifest and lock digests, each layer's cache key, \
            and the repository and commit. Two tags: REF's tag (default latest), which moves, and \
            lock-<12 hex digits of the lock's sha256>, which names exactly this lock. Blobs the \
            registry has are not sent again (a second push of an unchanged environment sends \
            nothing); layers of a base image on the same registry are mounted from its repository. \
            Credentials as for pull (~/.docker/config.json), with push access.

            Examples:
              devenv push                                    to [share] image in the manifest
              devenv push registry.example.com/team/webapp:dev
              devenv push -q                                 prints only REF@sha256:…
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Repository and optional tag to publish to (default: [share] image in .devenv/devenv.toml).")
    var reference: String?

    @Flag(help: "Exit 1 with the differences when the lock is missing or does not match the manifest, instead of updating it.")
    var locked = false

    func run() async throws {
        try global.enterDirectory()
        let project = try Project.discover()
        let manifest = try project.manifest(home: HostUser.current().home)
        let store = try global.store()
        try ProjectTrust(project: project, manifest: manifest, store: store).requireApproval(global.given)
        let target = try EnvironmentPush.target(reference, manifest: manifest, project: project)
        let start = ContinuousClock.now
        let environment = try await PublishedEnvironment.prepare(
            project: project, manifest: manifest, store: store,
            progress: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose), locked: locked)
        if !global.quiet { Terminal.note("Pushing \(project.environmentName(manifest)) to \(target.domain)/\(target.repository)") }
        let quiet = global.quiet
        let tags = try await EnvironmentPush.push(environment, to: target, project: project) { event in
            if !quiet, let line = Self.line(event) { Terminal.note(line) }
        }
        let pinned = "\(target.domain)/\(target.repository)@\(environment.digest)"
        if global.quiet {
            Terminal.out(pinned)
        } else {
            Terminal.out("Pushed \(tags.map { "\(target.domain)/\(target.repository):\($0)" }.joined(separator: " and ")) "
                         + "(\(environment.digest)) in \(Units.seconds(ContinuousClock.now - start))")
        }
    }

    /// `  layer 3f2a…  12 MB  uploaded in 1.2s`, one line per blob and per tag.
    static func line(_ event: PushEvent) -> String? {
        func blob(_ descriptor: Descriptor) -> String {
            let kind = MediaType.layerTypes.contains(descriptor.mediaType) ? "layer" : "config"
            return "  \(kind) \(descriptor.digest.short)  \(Units.bytes(descriptor.size))"
        }
        switch event {
        case .blobPresent(let descriptor): return blob(descriptor) + "  already in the registry"
        case .blobMounted(let descriptor, let repository): return blob(descriptor) + "  mounted from \(repository)"
        case .blobUploaded(let descriptor, let elapsed): return blob(descriptor) + "  uploaded in \(Units.seconds(elapsed))"
        case .retrying(let digest, let attempt, let reason): return "  \(digest.short): retrying (attempt \(attempt + 1) of 5): \(reason)"
        case .tagged(let tag, let changed): return "  tag \(tag)" + (changed ? "" : "  unchanged")
        }
    }
}
