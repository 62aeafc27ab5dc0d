import Sandbox

/// What `run` and `enter` were asked for: where, which image, and how the sandbox looks.
public struct LaunchRequest: Sendable {
    public var given: GivenLocation
    public var quiet = false
    public var verbose = false
    /// Root inside, over a writable layer thrown away at exit.
    public var asRoot = false
    /// Run this image as it is instead of the project's environment.
    public var image: String?
    /// `--network` as given (nil: the manifest decides); validated by the command.
    public var network: SandboxSpec.Network?
    /// Leave what the host's git runs and .devenv/ writable inside.
    public var unprotected = false
    /// Refuse a missing or stale lock instead of resolving it.
    public var locked = false

    public init(given: GivenLocation) {
        self.given = given
    }
}
