import ArgumentParser
import Sandbox

/// The options `run` and `enter` share: which image, and how the sandbox looks.
struct SandboxOptions: ParsableArguments {
    @Flag(name: .customLong("root"), help: "Be root inside, over a writable layer that is thrown away at exit.")
    var asRoot = false

    @Option(help: ArgumentHelp("Run this image (pulled when the store does not have it yet) instead of the project's environment.", valueName: "ref"))
    var image: String?

    @Option(help: ArgumentHelp("host: the host's network (default); none: a private network with only loopback.", valueName: "mode"))
    var network: String = SandboxSpec.Network.host.rawValue

    func validate() throws {
        guard SandboxSpec.Network(rawValue: network) != nil else {
            throw ValidationError("--network must be one of: \(SandboxSpec.Network.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    var networkMode: SandboxSpec.Network { SandboxSpec.Network(rawValue: network) ?? .host }
}
