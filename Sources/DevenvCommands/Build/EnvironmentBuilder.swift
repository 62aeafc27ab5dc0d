import Build
import Foundation
import Manifest
import OCI
import Sandbox
import Storage

/// Makes every layer a project's lock names exist (`devenv build`, and `run`/`enter` before they
/// start): the base image pulled by its locked digest, then each step of the `BuildPlan` that is
/// not in `layers/` yet. With everything in place it only reads the store, so an up-to-date
/// environment starts without build work.
struct EnvironmentBuilder {
    let store: StoreLocation
    let layout: LayerLayout
    let output: BuildOutput
    var noCache = false
    /// Refuse a missing or stale lock instead of resolving it (`--locked`, for CI).
    var locked = false

    struct Environment {
        var layers: [String]
        /// The image's `Env` with the plan's variables applied.
        var environment: [String]
        /// Directories that go first on PATH (the venv).
        var pathPrefix: [String]
        /// Steps that ran.
        var built: Int
        /// Nothing was resolved, pulled or built, and nothing was said.
        var upToDate = false
    }

    /// The project's environment. A missing lock is resolved and written first, a stale one
    /// resolved again where the manifest changed (as cargo and uv do), in one line; with `locked`
    /// either is an error that names the differences.
    func ensure(project: Project, manifest: Manifest) async throws -> Environment {
        let environmentDirectory = project.environmentDirectory(manifest, store: store)
        try AtomicFile.makeDirectories(environmentDirectory)
        let projectLock = try await FileLock.acquire(environmentDirectory + "/.build.lock") {
            output.heading("Waiting for another devenv working on this project…")
        }
        defer { _ = projectLock }

        let lock: Lock
        var lockWasFresh = false
        if let existing = try project.lock() {
            let differences = existing.differences(from: manifest)
            if differences.isEmpty {
                lock = existing
                lockWasFresh = true
            } else if locked {
                throw DevenvError.user("""
                    \(project.lockPath) is out of date with \(project.manifestPath) (--locked):
                    \(differences.map { "  - " + $0 }.joined(separator: "\n"))
                      fix: run `devenv lock` to resolve what changed, and commit the new lock
                    """)
            } else {
                lock = try await LockResolver(store: store, layout: layout, output: output).resolve(manifest, previous: existing, update: false)
                try LockCommand.write(lock, project: project)
                output.heading("Updated \(project.lockPath): \(differences.joined(separator: "; "))")
            }
        } else if locked {
            throw DevenvError.user("\(project.lockPath) does not exist (--locked)\n  fix: run `devenv lock` and commit the file")
        } else {
            output.heading("No \(Lock.fileName) yet: resolving \(project.manifestPath)")
            lock = try await LockResolver(store: store, layout: layout, output: output).resolve(manifest, previous: nil, update: false)
            try LockCommand.write(lock, project: project)
            output.heading("Wrote \(project.lockPath)")
        }

        let baseStart = ContinuousClock.now
        let (image, baseWasLocal) = try await Self.baseImage(lock.base, store: store, layout: layout, output: output)
        let baseState = baseWasLocal ? "cached" : "pulled in \(Terminal.seconds(ContinuousClock.now - baseStart))"
        var executor = StepExecutor(store: store, layout: layout, output: output, imageEnvironment: image.config.config?.Env ?? [])
        executor.projectDirectory = project.directory
        let plan = BuildPlan(manifest: manifest, lock: lock, baseLayers: image.layers, singleID: executor.singleID)
        let layerStore = store.layerStore()
        let content = try store.contentStore()
        let imageName = EnvironmentImage.name(environmentDirectory: environmentDirectory, layout: layout)
        let upToDate = !noCache && plan.steps.allSatisfy { layerStore.contains($0.key) }
        if upToDate, try content.resolve(imageName) != nil {
            return Environment(layers: plan.layers, environment: StepExecutor.merge(executor.imageEnvironment, plan.environment),
                               pathPrefix: plan.pathPrefix, built: 0, upToDate: lockWasFresh && baseWasLocal)
        }

        output.heading("Building \(project.environmentName(manifest)) (\(plan.layers.count) layers)")
        // A bootstrap base that was just built has said so itself.
        if baseWasLocal || lock.base.bootstrap == nil { output.layer("base", Self.describe(lock.base), baseState) }
        var lowers = image.layers
        var blobs: [LayerBlob.Stored] = []
        var built = 0
        let inputs = BuildInputs(environmentDirectory: environmentDirectory)
        let previousInputs = inputs.read()
        let stepFiles = Set(manifest.setup.flatMap { $0.files.map(\.path) })
        let requirementsFiles = manifest.inputFiles.filter { !stepFiles.contains($0.path) }
        for step in plan.steps {
            let start = ContinuousClock.now
            var stored: LayerBlob.Stored?
            if !noCache, layerStore.contains(step.key) {
                output.layer(step.title, step.summary, "cached")
            } else {
                let changed = BuildInputs.changed(step.kind == .pip ? requirementsFiles : step.files, previous: previousInputs)
                output.starting(step.title, ([step.summary] + changed.map { "\($0) changed" }).filter { !$0.isEmpty }.joined(separator: "; "))
                stored = try await executor.build(step, lowers: lowers, replace: noCache)
                if stored != nil { built += 1 }
                output.layer(step.title, step.summary, stored != nil ? "built in \(Terminal.seconds(ContinuousClock.now - start))" : "built by another devenv")
            }
            // A layer built earlier (maybe for another project) has its blob listed by that
            // environment's image; archiving again gives the same bytes when it does not.
            blobs.append(try stored ?? EnvironmentImage.blob(forKey: step.key, content: content)
                ?? LayerBlob.store(directory: layerStore.directory(for: step.key), key: step.key, content: content,
                                   identity: executor.identity, layout: layout))
            lowers.append(step.key)
        }
        try await EnvironmentImage.tag(imageName, base: image, built: blobs, environment: plan.environment,
                                       project: project.directory, content: content)
        try inputs.write(manifest.inputFiles, tmpDirectory: store.tmp)
        return Environment(layers: plan.layers, environment: StepExecutor.merge(executor.imageEnvironment, plan.environment),
                           pathPrefix: plan.pathPrefix, built: built)
    }

    /// The locked base, from the store when it has it (no network), else pulled by digest or
    /// bootstrapped; and whether the store had it.
    static func baseImage(_ base: Lock.Base, store: StoreLocation, layout: LayerLayout, output: BuildOutput) async throws -> (LocalImage, Bool) {
        if let local = try localBase(base, store: store, layout: layout) { return (local, true) }
        if let bootstrap = base.bootstrap {
            return (try await BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                            output: output).ensure(), false)
        }
        guard let name = base.image, let digest = base.digest.flatMap({ try? Digest($0) }) else {
            throw DevenvError.user("the lock names no base image digest\n  fix: run `devenv lock --update`")
        }
        return (try await LocalImage.ensure(try Reference(parsing: name).pinned(to: digest), store: store, quiet: output.quiet, layout: layout), false)
    }

    /// The locked base when the store has it ready, else nil; reads only the store.
    static func localBase(_ base: Lock.Base, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        if let bootstrap = base.bootstrap {
            let name = BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                     output: BuildOutput(quiet: true, verbose: false)).imageName
            return try LocalImage.local(name, store: store, layout: layout)
        }
        return try base.digest.flatMap { try? Digest($0) }.flatMap { try LocalImage.local(digest: $0, store: store, layout: layout) }
    }

    static func describe(_ base: Lock.Base) -> String {
        if let bootstrap = base.bootstrap { return "bootstrap \(bootstrap)" }
        return "\(base.image ?? "?")@\(base.digest.map { String($0.dropFirst(7).prefix(12)) } ?? "?")"
    }
}
