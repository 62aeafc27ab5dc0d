import Manifest

/// One layer a build makes: what runs (as root in the sandbox, over the layers below) and the
/// key that names the layer it leaves behind.
public struct BuildStep: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case apt
        case pip
        case setup(name: String)
    }

    public var kind: Kind
    /// The layer's directory name in `layers/`.
    public var key: String
    /// For progress lines: "apt", "pip", "setup tools".
    public var title: String
    /// What the layer holds, for progress lines: "12 packages".
    public var summary: String
    public var command: [String]
    /// Added to the image's environment while the step runs.
    public var environment: [String]
    /// Repository files the step sees read-only under `Manifest.inputsDirectory`, with the
    /// contents its key was computed from.
    public var files: [Manifest.InputFile] = []
    /// The key of the layer below (the base's top layer for the first step): part of this key.
    public var parent: String = ""
    /// The lock entries the step installs ("curl=7.88.1-10", "requests==2.31.0"): part of the
    /// key, listed so a cache miss can say which one differs.
    public var entries: [String] = []

    public init(kind: Kind, key: String, title: String, summary: String, command: [String], environment: [String],
                files: [Manifest.InputFile] = [], parent: String = "", entries: [String] = []) {
        self.kind = kind
        self.key = key
        self.title = title
        self.summary = summary
        self.command = command
        self.environment = environment
        self.files = files
        self.parent = parent
        self.entries = entries
    }
}
