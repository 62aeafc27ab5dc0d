import ArgumentParser
import Environments
import Foundation
import ImageStore
import Sandbox

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the project's environment as an image archive.",
        discussion: """
            Builds what is missing first, then writes the same image `devenv push` publishes into \
            one file: --format oci (the default) is an OCI image layout in a tar, for \
            `skopeo copy oci-archive:FILE …` and `podman load -i FILE`; --format docker adds the \
            manifest.json `docker load` reads (as `docker save` writes since Docker 25), so the \
            file also loads into Docker, as devenv/NAME:latest unless --tag says otherwise. The \
            file appears only when complete.

            Examples:
              devenv export -o webapp.tar
              devenv export --format docker -o webapp.tar && docker load -i webapp.tar
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("oci or docker.", valueName: "format"))
    var format: String = "oci"

    @Option(name: .shortAndLong, help: ArgumentHelp("The archive to write.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("The name loaders give the image (default devenv/NAME:latest).", valueName: "name:tag"))
    var tag: String?

    @Flag(help: "Exit 1 with the differences when the lock is missing or does not match the manifest, instead of updating it.")
    var locked = false

    func validate() throws {
        guard EnvironmentExport.Format(rawValue: format) != nil else {
            throw ValidationError("--format must be one of: \(EnvironmentExport.Format.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let tag, !EnvironmentExport.isImageName(tag) {
            throw ValidationError("--tag \(tag.debugDescription) is not an image name docker load takes: NAME:TAG, lower case, such as devenv/webapp:dev")
        }
    }

    func run() async throws {
        let path = StoreLocation.absolute(output)
        try global.enterDirectory()
        let project = try Project.discover()
        let manifest = try project.manifest(home: HostUser.current().home)
        let store = try global.store()
        try ProjectTrust(project: project, manifest: manifest, store: store).requireApproval(global.given)
        let environment = try await PublishedEnvironment.prepare(
            project: project, manifest: manifest, store: store,
            progress: BuildOutput.progress(quiet: global.quiet, verbose: global.verbose), locked: locked)
        let name = tag ?? EnvironmentExport.imageName(project.environmentName(manifest))
        try EnvironmentExport.write(environment, to: path, format: EnvironmentExport.Format(rawValue: format) ?? .oci, name: name)
        if !global.quiet {
            let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64) ?? nil
            Terminal.out("Wrote \(output) (\(format), \(name), \(environment.digest)\(size.map { ", " + Units.bytes($0) } ?? ""))")
        }
    }
}
