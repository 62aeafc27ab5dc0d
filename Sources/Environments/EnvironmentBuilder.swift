import Build
import Foundation
import ImageStore
import Manifest
import OCI
import Sandbox
import Storage

/// Makes every layer a project's lock names exist (`devenv build`, and `run`/`enter` before they
/// start): the base image pulled by its locked digest, then each step of the `BuildPlan` that is
/// not in `layers/` yet. With everything in place it only reads the store, so an up-to-date
/// environment starts without build work.
public struct EnvironmentBuilder {
    public let store: StoreLocation
    public let layout: LayerLayout
    public let output: BuildProgress
    public var noCache = false
    /// Refuse a missing or stale lock instead of resolving it (`--locked`, for CI).
    public var locked = false

    public init(store: StoreLocation, layout: LayerLayout, output: BuildProgress) {
        self.store = store
        self.layout = layout
        self.output = output
    }

    public struct Environment {
        public var layers: [String]
        /// The image's `Env` with the plan's variables applied.
        public var environment: [String]
        /// Directories that go first on PATH (the venv).
        public var pathPrefix: [String]
        /// Steps that ran.
        public var built: Int
        /// Nothing was resolved, pulled or built, and nothing was said.
        public var upToDate = false
    }

    /// The project's environment: the lock made current, the base in the store, every step's
    /// layer built, and the environment's image tagged.
    public func ensure(project: Project, manifest: Manifest) async throws -> Environment {
        let environmentDirectory = project.environmentDirectory(manifest, store: store)
        try AtomicFile.makeDirectories(environmentDirectory)
        let projectLock = try await FileLock.acquire(environmentDirectory + "/.build.lock") {
            output.heading("Waiting for another devenv working on this project…")
        }
        defer { _ = projectLock }

        let (lock, lockWasFresh) = try await currentLock(project: project, manifest: manifest)
        let baseStart = ContinuousClock.now
        let (image, baseWasLocal) = try await Self.baseImage(lock.base, store: store, layout: layout, output: output)
        let baseState: BuildEvent.LayerState = baseWasLocal ? .cached : .pulled(ContinuousClock.now - baseStart)
        var executor = StepExecutor(store: store, layout: layout, output: output, imageEnvironment: image.config.config?.Env ?? [])
        executor.projectDirectory = project.directory
        let plan = Self.plan(manifest, lock: lock, base: image, layout: layout)
        let environment = Environment(layers: plan.layers, environment: StepExecutor.merge(executor.imageEnvironment, plan.environment),
                                      pathPrefix: plan.pathPrefix, built: 0, upToDate: lockWasFresh && baseWasLocal)
        let imageName = EnvironmentImage.name(environmentDirectory: environmentDirectory, layout: layout)
        if !noCache, try Self.isBuilt(plan, imageName: imageName, store: store) { return environment }

        output.heading("Building \(project.environmentName(manifest)) (\(plan.layers.count) layers)")
        // A bootstrap base that was just built has said so itself.
        if baseWasLocal || lock.base.bootstrap == nil { output.layer("base", Self.describe(lock.base), baseState) }
        let inputs = BuildInputs(environmentDirectory: environmentDirectory)
        let (blobs, built) = try await buildSteps(plan, over: image, executor: executor, manifest: manifest, previousInputs: inputs.read())
        let content = try store.contentStore()
        try await EnvironmentImage.tag(imageName, base: image, built: blobs, environment: environment.environment,
                                       project: project.directory, content: content)
        try inputs.write(manifest.inputFiles, tmpDirectory: store.tmp)
        return Environment(layers: environment.layers, environment: environment.environment, pathPrefix: environment.pathPrefix,
                           built: built)
    }

    /// The project's lock, and whether it was current already. A missing lock is resolved and
    /// written first, a stale one resolved again where the manifest changed (as cargo and uv do),
    /// in one line; with `locked` either is an error that names the differences.
    private func currentLock(project: Project, manifest: Manifest) async throws -> (Lock, fresh: Bool) {
        let resolver = LockResolver(store: store, layout: layout, output: output)
        guard let existing = try project.lock() else {
            if locked { throw DevenvError.user("\(project.lockPath) does not exist (--locked)\n  fix: run `devenv lock` and commit the file") }
            output.heading("No \(Lock.fileName) yet: resolving \(project.manifestPath)")
            let lock = try await resolver.resolve(manifest, previous: nil, update: false)
            try project.writeLock(lock)
            output.heading("Wrote \(project.lockPath)")
            return (lock, false)
        }
        let differences = existing.differences(from: manifest)
        if differences.isEmpty { return (existing, true) }
        if locked {
            throw DevenvError.user("""
                \(project.lockPath) is out of date with \(project.manifestPath) (--locked):
                \(differences.map { "  - " + $0 }.joined(separator: "\n"))
                  fix: run `devenv lock` to resolve what changed, and commit the new lock
                """)
        }
        let lock = try await resolver.resolve(manifest, previous: existing, update: false)
        try project.writeLock(lock)
        output.heading("Updated \(project.lockPath): \(differences.joined(separator: "; "))")
        return (lock, false)
    }

    /// Runs every step whose layer is missing (all with `noCache`), bottom first; returns every
    /// step's blob for the image and how many steps ran.
    private func buildSteps(_ plan: BuildPlan, over image: LocalImage, executor: StepExecutor, manifest: Manifest,
                            previousInputs: [String: String]) async throws -> ([LayerBlob.Stored], Int) {
        let layerStore = store.layerStore()
        let content = try store.contentStore()
        let stepFiles = Set(manifest.setup.flatMap { $0.files.map(\.path) })
        let requirementsFiles = manifest.inputFiles.filter { !stepFiles.contains($0.path) }
        var lowers = image.layers
        var blobs: [LayerBlob.Stored] = []
        var built = 0
        for step in plan.steps {
            let start = ContinuousClock.now
            var stored: LayerBlob.Stored?
            if !noCache, layerStore.contains(step.key) {
                output.layer(step.title, step.summary, .cached)
            } else {
                let changed = BuildInputs.changed(step.kind == .pip ? requirementsFiles : step.files, previous: previousInputs)
                output.starting(step.title, ([step.summary] + changed.map { "\($0) changed" }).filter { !$0.isEmpty }.joined(separator: "; "))
                stored = try await executor.build(step, lowers: lowers, replace: noCache)
                if stored != nil { built += 1 }
                output.layer(step.title, step.summary, stored != nil ? .built(ContinuousClock.now - start) : .builtByAnother)
            }
            // A layer built earlier (maybe for another project) has its blob listed by that
            // environment's image; archiving again gives the same bytes when it does not.
            blobs.append(try stored ?? EnvironmentImage.blob(forKey: step.key, content: content)
                ?? LayerBlob.store(directory: layerStore.directory(for: step.key), key: step.key, content: content,
                                   identity: executor.identity, layout: layout))
            lowers.append(step.key)
        }
        return (blobs, built)
    }

    /// The steps over `base` and the layer directories they make, for `layout`'s id mapping.
    public static func plan(_ manifest: Manifest, lock: Lock, base: LocalImage, layout: LayerLayout) -> BuildPlan {
        BuildPlan(manifest: manifest, lock: lock, baseLayers: base.layers,
                  singleID: IDMapping.forBuild(asRoot: layout.suffix == "-root").mode == .single)
    }

    /// Whether every step's layer is in the store and the environment's image tagged: what
    /// `build` finds nothing to do for and `status` calls ready.
    static func isBuilt(_ plan: BuildPlan, imageName: String, store: StoreLocation) throws -> Bool {
        let layerStore = store.layerStore()
        guard plan.steps.allSatisfy({ layerStore.contains($0.key) }) else { return false }
        return try store.contentStore().resolve(imageName) != nil
    }

    /// The locked base, from the store when it has it (no network), else pulled by digest or
    /// bootstrapped; and whether the store had it.
    static func baseImage(_ base: Lock.Base, store: StoreLocation, layout: LayerLayout, output: BuildProgress) async throws -> (LocalImage, Bool) {
        if let local = try localBase(base, store: store, layout: layout) { return (local, true) }
        if let bootstrap = base.bootstrap {
            return (try await BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                            output: output).ensure(), false)
        }
        guard let name = base.image, let digest = base.digest.flatMap({ try? Digest($0) }) else {
            throw DevenvError.user("the lock names no base image digest\n  fix: run `devenv lock --update`")
        }
        return (try await LocalImage.ensure(try Reference(parsing: name).pinned(to: digest), store: store, layout: layout, onEvent: output.pull), false)
    }

    /// The locked base when the store has it ready, else nil; reads only the store.
    static func localBase(_ base: Lock.Base, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        if let bootstrap = base.bootstrap {
            let name = BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                     output: .silent).imageName
            return try LocalImage.local(name, store: store, layout: layout)
        }
        return try base.digest.flatMap { try? Digest($0) }.flatMap { try LocalImage.local(digest: $0, store: store, layout: layout) }
    }

    public static func describe(_ base: Lock.Base) -> String {
        if let bootstrap = base.bootstrap { return "bootstrap \(bootstrap)" }
        return "\(base.image ?? "?")@\(base.digest.map { String($0.dropFirst(7).prefix(12)) } ?? "?")"
    }
}
