import ArgumentParser
import Environments
import Sandbox

/// The options `run` and `enter` share: which image, and how the sandbox looks.
struct SandboxOptions: ParsableArguments {
    @Flag(name: .customLong("root"), help: "Be root inside, over a writable layer that is thrown away at exit.")
    var asRoot = false

    @Option(help: ArgumentHelp("Run this image (pulled when the store does not have it yet) instead of the project's environment.", valueName: "ref"))
    var image: String?

    @Option(help: ArgumentHelp("host: the host's network; none: a network of its own with only loopback; private: a network of its own with outbound access, the host's loopback unreachable (default: the manifest's [network] mode, else host).", valueName: "mode"))
    var network: String?

    @Flag(help: ArgumentHelp("Leave what the host's git runs (.git/hooks, .git/config, the hooks directory and scripts it names, submodules' .git) and .devenv/ writable inside (hook installers, `git config`, editing the manifest in the shell). Code in the sandbox can then plant hooks or commands the host's git runs."))
    var unprotected = false

    @Flag(help: "Exit 1 with the differences when the lock is missing or does not match the manifest, instead of updating it (CI).")
    var locked = false

    func validate() throws {
        if let network, SandboxSpec.Network(rawValue: network) == nil {
            throw ValidationError("--network must be one of: \(SandboxSpec.Network.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func request(_ global: GlobalOptions) -> LaunchRequest {
        var request = LaunchRequest(given: global.given)
        request.quiet = global.quiet
        request.verbose = global.verbose
        request.asRoot = asRoot
        request.image = image
        // nil when not given: the manifest decides.
        request.network = network.flatMap(SandboxSpec.Network.init(rawValue:))
        request.unprotected = unprotected
        request.locked = locked
        return request
    }
}
