import Manifest

/// The layers of a project's environment, bottom first: the base image's layers, then one built
/// layer per step (apt, pip, each `[[setup]]`), each named by a `CacheKey` over its parent's
/// name, its command and the lock entries it installs. The plan is pure: `devenv build` makes
/// the layers that are missing, `run` and `enter` only check that all exist.
public struct BuildPlan: Sendable {
    public var baseLayers: [String]
    public var steps: [BuildStep]
    /// What the environment's processes see on top of the image's `Env`: the venv first on PATH,
    /// then the manifest's `[env]`.
    public var environment: [String]
    /// Directories that go before everything else on PATH inside.
    public var pathPrefix: [String]

    /// Every layer directory name, bottom first.
    public var layers: [String] { baseLayers + steps.map(\.key) }

    /// `singleID`: the build runs with a single-id mapping (changes apt's options, and so keys).
    /// `baseKey`: what keys the first step when the base's top directory has another name (a
    /// base pulled from a registry is kept apart from one made here, yet is the same base).
    public init(manifest: Manifest, lock: Lock, baseLayers: [String], baseKey: String? = nil, singleID: Bool) {
        self.baseLayers = baseLayers
        var steps: [BuildStep] = []
        var parent = baseKey ?? baseLayers.last ?? ""
        func add(_ kind: BuildStep.Kind, title: String, summary: String, command: [String], environment: [String], inputs: [String],
                 files: [Manifest.InputFile] = [], entries: [String] = []) {
            let key = CacheKey(parent: parent, step: title, inputs: command + environment + inputs + files.map { "file \($0.path) \($0.digest)" }).description
            steps.append(BuildStep(kind: kind, key: key, title: title, summary: summary, command: command, environment: environment, files: files,
                                   parent: parent, entries: entries))
            parent = key
        }
        let digests = Dictionary(manifest.inputFiles.map { ($0.path, $0.digest) }, uniquingKeysWith: { first, _ in first })
        if let apt = lock.apt, !apt.packages.isEmpty {
            let script = StepScripts.installApt(apt.packages, singleID: singleID)
            add(.apt, title: "apt", summary: Self.count(apt.packages.count, "package"), command: script.command,
                environment: script.environment, inputs: [], entries: apt.packages.map { "\($0.name)=\($0.version)" })
        }
        let hasVenv = !(lock.pip?.distributions.isEmpty ?? true)
        if let pip = lock.pip, hasVenv {
            let script = StepScripts.installPip(pip.distributions)
            add(.pip, title: "pip", summary: Self.count(pip.distributions.count, "distribution"), command: script.command,
                environment: script.environment, inputs: [pip.python], entries: pip.distributions.map { "\($0.name)==\($0.version)" })
        }
        pathPrefix = hasVenv ? [StepScripts.venv + "/bin"] : []
        environment = (hasVenv ? ["VIRTUAL_ENV=\(StepScripts.venv)"] : []) + manifest.env.map { "\($0.name)=\($0.value)" }
        for step in manifest.setup {
            // Setup steps see the environment as it will be: the venv and [env] apply.
            // A file `load` did not read (a manifest only parsed) keys as empty: build reads it
            // again and refuses a mismatch.
            let files = step.files.map { Manifest.InputFile(path: $0.path, digest: digests[$0.path] ?? "") }
            add(.setup(name: step.name), title: "setup \(step.name)", summary: "", command: StepScripts.setup(step.run),
                environment: ["HOME=/root"] + environment + (files.isEmpty ? [] : ["DEVENV_FILES=\(Manifest.inputsDirectory)"]),
                inputs: pathPrefix, files: files)
        }
        self.steps = steps
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
}
