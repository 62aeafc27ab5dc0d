import Foundation

/// A project template from templates/: the manifest `devenv init` writes, the hello-world files
/// that prove the environment works, and the command that runs them. The templates themselves
/// are compiled in (Templates.swift, made by scripts/gen-templates), so an installed devenv
/// needs no source tree.
public struct Template: Sendable {
    public struct File: Sendable {
        /// Relative to the project root.
        public let path: String
        public let mode: Int
        public let contents: String
    }

    public let name: String
    /// One line, for `devenv init --list`.
    public let description: String
    /// A shell command line that succeeds inside the built environment.
    public let check: String
    /// Lines the project's .gitignore should have (what the hello-world or its tools create).
    public let ignore: [String]
    /// The text of `.devenv/devenv.toml`.
    public let manifest: String
    public let files: [File]

    public static let defaultName = "minimal"

    /// Whether its manifest has `[services]`: its check needs `devenv up -d` first.
    public var hasServices: Bool { manifest.contains("\n[services.") }

    public static func named(_ name: String) -> Template? {
        all.first { $0.name == name }
    }

    /// The manifest with `[base] image` set to `image`: for teams whose images come from their
    /// own registry mirror. Comments and everything else stay as the template has them.
    /// The template's manifest with its `[base] image = …` line replaced by `base` (a whole
    /// line: `image = "…"` or `bootstrap = "…"`), when given.
    public func manifest(base: String?) -> String {
        guard let base else { return manifest }
        var section = ""
        var replaced = false
        let lines = manifest.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("[") { section = trimmed }
            guard !replaced, section == "[base]", trimmed.hasPrefix("image"),
                  trimmed.dropFirst(5).trimmingCharacters(in: .whitespaces).hasPrefix("=") else { return String(line) }
            replaced = true
            return base
        }
        return lines.joined(separator: "\n")
    }
}
