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
        /// Steps whose layers came from `[share] image`.
        public var pulled = 0
        /// The lock's `[base] image` (nil for a bootstrap base).
        public var baseImage: String?
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
        let share = Self.share(manifest)
        let cache = try noCache ? nil : share.map {
            let lockTag = PublishedEnvironment.lockTag(Digest(hashing: try Data(contentsOf: URL(fileURLWithPath: project.lockPath))))
            return SharedCache(reference: $0, store: store, layout: layout, output: output, lockTag: lockTag)
        }
        do {
            let environment = try await ensure(project: project, manifest: manifest, lock: lock, lockWasFresh: lockWasFresh, share: share,
                                               cache: cache)
            await cache?.shutdown()
            return environment
        } catch {
            await cache?.shutdown()
            throw error
        }
    }

    private func ensure(project: Project, manifest: Manifest, lock: Lock, lockWasFresh: Bool, share: Reference?,
                        cache: SharedCache?) async throws -> Environment {
        let environmentDirectory = project.environmentDirectory(manifest, store: store)
        let baseStart = ContinuousClock.now
        let (image, baseWasLocal) = try await Self.baseImage(lock.base, store: store, layout: layout, output: output, cache: cache)
        let baseState: BuildEvent.LayerState = baseWasLocal ? .cached : .pulled(ContinuousClock.now - baseStart)
        var executor = StepExecutor(store: store, layout: layout, output: output, imageEnvironment: image.config.config?.Env ?? [])
        executor.projectDirectory = project.directory
        let plan = Self.plan(manifest, lock: lock, base: image, layout: layout)
        var environment = Environment(layers: plan.layers, environment: StepExecutor.merge(executor.imageEnvironment, plan.environment),
                                      pathPrefix: plan.pathPrefix, built: 0, upToDate: lockWasFresh && baseWasLocal)
        environment.baseImage = lock.base.image
        let imageName = EnvironmentImage.name(environmentDirectory: environmentDirectory, layout: layout)
        let directories = Self.stepDirectories(plan, share: share, store: store)
        if !noCache, try Self.isBuilt(directories, imageName: imageName, store: store) {
            var ready = environment
            ready.layers = plan.baseLayers + directories.compactMap { $0 }
            return ready
        }

        output.heading("Building \(project.environmentName(manifest)) (\(plan.layers.count) layers)")
        // A bootstrap base that was just built or pulled has said so itself.
        if baseWasLocal || lock.base.bootstrap == nil { output.layer("base", Self.describe(lock.base), baseState) }
        let inputs = BuildInputs(environmentDirectory: environmentDirectory)
        let steps = try await buildSteps(plan, over: image, executor: executor, manifest: manifest, previousInputs: inputs.read(), cache: cache)
        let content = try store.contentStore()
        try await EnvironmentImage.tag(imageName, base: image, built: steps.blobs, environment: environment.environment,
                                       project: project.directory, content: content)
        try inputs.write(manifest.inputFiles, tmpDirectory: store.tmp)
        var made = Environment(layers: image.layers + steps.directories, environment: environment.environment, pathPrefix: environment.pathPrefix,
                               built: steps.built, pulled: steps.pulled)
        made.baseImage = lock.base.image
        return made
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

    /// What `buildSteps` made: every step's blob for the image and directory, and how many ran
    /// or were pulled.
    private struct Steps {
        var blobs: [LayerBlob.Stored] = []
        var directories: [String] = []
        var built = 0
        var pulled = 0
    }

    /// Makes every step's layer that is missing (all with `noCache`), bottom first: pulled from
    /// `cache` while the registry has the steps, built from the first it lacks (saying which
    /// input differs from what it has).
    private func buildSteps(_ plan: BuildPlan, over image: LocalImage, executor: StepExecutor, manifest: Manifest,
                            previousInputs: [String: String], cache: SharedCache?) async throws -> Steps {
        let layerStore = store.layerStore()
        let content = try store.contentStore()
        let stepFiles = Set(manifest.setup.flatMap { $0.files.map(\.path) })
        let requirementsFiles = manifest.inputFiles.filter { !stepFiles.contains($0.path) }
        var lowers = image.layers
        var result = Steps()
        for (index, step) in plan.steps.enumerated() {
            let start = ContinuousClock.now
            var stored: LayerBlob.Stored?
            var directory = step.key
            var why: String?
            if !noCache, let existing = Self.stepDirectory(step, share: cache?.reference, layerStore: layerStore) {
                directory = existing
                output.layer(step.title, step.summary, .cached)
            } else {
                if let cache, let remote = await cache.environment(), remote.layers[step.key] == nil {
                    why = SharedCache.miss(step, overBase: index == 0, remote: remote)
                    cache.forget()
                } else if let pulled = try await cache?.pull(step.key, title: step.title, summary: step.summary, over: lowers) {
                    stored = pulled.layer
                    directory = pulled.directory
                    result.pulled += 1
                }
                if stored == nil {
                    let changed = BuildInputs.changed(step.kind == .pip ? requirementsFiles : step.files, previous: previousInputs)
                    let reasons = [step.summary] + changed.map { "\($0) changed" } + (why.map { [$0] } ?? [])
                    output.starting(step.title, reasons.filter { !$0.isEmpty }.joined(separator: "; "))
                    stored = try await executor.build(step, lowers: lowers, replace: noCache)
                    if stored != nil { result.built += 1 }
                    output.layer(step.title, step.summary, stored != nil ? .built(ContinuousClock.now - start) : .builtByAnother)
                }
            }
            // A layer built earlier (maybe for another project) has its blob listed by that
            // environment's image; archiving again gives the same bytes when it does not.
            var blob = try stored ?? EnvironmentImage.blob(forKey: directory, content: content)
                ?? LayerBlob.store(directory: layerStore.directory(for: directory), key: directory, content: content,
                                   identity: executor.identity, layout: layout)
            blob.descriptor.annotations = SharedCache.annotations(for: step, directory: directory)
            result.blobs.append(blob)
            result.directories.append(directory)
            lowers.append(directory)
        }
        return result
    }

    /// The `[share] image` a build looks up missing steps in.
    static func share(_ manifest: Manifest) -> Reference? {
        manifest.shareImage.flatMap { try? Reference(parsing: $0) }
    }

    /// The directory holding `step`'s layer: the one built here, else the one pulled for it from
    /// `share`; nil when the store has neither.
    static func stepDirectory(_ step: BuildStep, share: Reference?, layerStore: LayerStore) -> String? {
        if layerStore.contains(step.key) { return step.key }
        let pulled = share.map { SharedCache.directory(forKey: step.key, source: $0) }
        return pulled.flatMap { layerStore.contains($0) ? $0 : nil }
    }

    /// Each step's directory (`stepDirectory`), bottom first.
    static func stepDirectories(_ plan: BuildPlan, share: Reference?, store: StoreLocation) -> [String?] {
        let layerStore = store.layerStore()
        return plan.steps.map { stepDirectory($0, share: share, layerStore: layerStore) }
    }

    /// The steps over `base` and the layer directories they make, for `layout`'s id mapping. The
    /// first step is keyed by the base's own key, whichever directory holds it (one built here
    /// or one pulled for it), so both give the same keys.
    public static func plan(_ manifest: Manifest, lock: Lock, base: LocalImage, layout: LayerLayout) -> BuildPlan {
        BuildPlan(manifest: manifest, lock: lock, baseLayers: base.layers, baseKey: base.manifest.layers.last?.annotations?[SharedCache.stepKeyAnnotation],
                  singleID: IDMapping.forBuild(asRoot: layout.suffix == "-root").mode == .single)
    }

    /// Whether every step's layer is in the store (`directories`, from `stepDirectories`) and the
    /// environment's image tagged: what `build` finds nothing to do for and `status` calls ready.
    static func isBuilt(_ directories: [String?], imageName: String, store: StoreLocation) throws -> Bool {
        guard !directories.contains(nil) else { return false }
        return try store.contentStore().resolve(imageName) != nil
    }

    /// The locked base, from the store when it has it (no network), else pulled by digest, or
    /// for a bootstrap base pulled from `cache` or bootstrapped; and whether the store had it.
    static func baseImage(_ base: Lock.Base, store: StoreLocation, layout: LayerLayout, output: BuildProgress,
                          cache: SharedCache? = nil) async throws -> (LocalImage, Bool) {
        if let local = try localBase(base, share: cache?.reference, store: store, layout: layout) { return (local, true) }
        if let bootstrap = base.bootstrap {
            let bootstrapper = BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                             output: output)
            if let cache, let pulled = try await bootstrapper.pull(from: cache) { return (pulled, false) }
            return (try await bootstrapper.ensure(), false)
        }
        guard let name = base.image, let digest = base.digest.flatMap({ try? Digest($0) }) else {
            throw DevenvError.user("the lock names no base image digest\n  fix: run `devenv lock --update`")
        }
        return (try await LocalImage.ensure(try Reference(parsing: name).pinned(to: digest), store: store, layout: layout, onEvent: output.pull), false)
    }

    /// The locked base when the store has it ready, else nil; reads only the store. A bootstrap
    /// base is the one made here, else the one pulled from `share`.
    static func localBase(_ base: Lock.Base, share: Reference?, store: StoreLocation, layout: LayerLayout) throws -> LocalImage? {
        if let bootstrap = base.bootstrap {
            let bootstrapper = BootstrapBase(suite: bootstrap, mirror: base.mirror ?? Manifest.defaultMirror, store: store, layout: layout,
                                             output: .silent)
            let names = [bootstrapper.imageName] + (share.map { [bootstrapper.pulledImageName(from: $0)] } ?? [])
            for name in names {
                if let image = try LocalImage.local(name, store: store, layout: layout) { return image }
            }
            return nil
        }
        return try base.digest.flatMap { try? Digest($0) }.flatMap { try LocalImage.local(digest: $0, store: store, layout: layout) }
    }

    public static func describe(_ base: Lock.Base) -> String {
        if let bootstrap = base.bootstrap { return "bootstrap \(bootstrap)" }
        return "\(base.image ?? "?")@\(base.digest.map { String($0.dropFirst(7).prefix(12)) } ?? "?")"
    }
}
