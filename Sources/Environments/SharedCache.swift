import Build
import Foundation
import ImageStore
import Manifest
import OCI

/// `[share] image` as the build's cache: the environment a teammate pushed there, whose layers
/// are named by the same keys (`dev.devenv.layer.key`: a step's key, a bootstrap base's), so a
/// layer missing from the store is pulled instead of built. The registry is as untrusted as any:
/// a layer is checked by blob digest and diff_id, runs only in the sandbox, and is kept under a
/// directory named by its key and the registry's repository together, so it serves only
/// projects that name that repository; a layer built here (named by its key alone) is never
/// taken from a registry. Looked up once, at the first missing layer; a registry that lacks a
/// layer or sent one that failed its check is not asked again in this build.
final class SharedCache {
    let reference: Reference
    let store: StoreLocation
    let layout: LayerLayout
    let output: BuildProgress
    /// `lock-…`: the tag naming exactly the project's lock, looked up first.
    let lockTag: String
    private var client: RegistryClient?
    private var looked = false
    private var remote: Remote?

    init(reference: Reference, store: StoreLocation, layout: LayerLayout, output: BuildProgress, lockTag: String) {
        self.reference = reference
        self.store = store
        self.layout = layout
        self.output = output
        self.lockTag = lockTag
    }

    /// What the published environment's layer says about the step that made it, for telling why
    /// a step is missing there: its title, the key below it, its lock entries and files.
    static let titleAnnotation = "dev.devenv.step.title"
    static let parentAnnotation = "dev.devenv.step.parent"
    static let entriesAnnotation = "dev.devenv.step.entries"
    static let filesAnnotation = "dev.devenv.step.files"
    /// The key of a layer whose store directory has another name (one pulled for it).
    static let stepKeyAnnotation = "dev.devenv.step.key"

    /// The registry's environment: the tag it was found under and each layer by key.
    struct Remote {
        let tag: String
        let layers: [String: (descriptor: Descriptor, diffID: Digest)]
        /// Each step layer's annotations, by title.
        let steps: [String: [String: String]]
    }

    /// The store directory a layer pulled for `key` from `source` takes.
    static func directory(forKey key: String, source: Reference) -> String {
        CacheKey(parent: key, step: "pulled", inputs: [source.registryHost, source.repository]).description
    }

    /// The annotations a step's layer carries in the environment's image.
    static func annotations(for step: BuildStep, directory: String) -> [String: String] {
        var annotations = [EnvironmentImage.layerKeyAnnotation: directory, titleAnnotation: step.title, parentAnnotation: step.parent]
        if directory != step.key { annotations[stepKeyAnnotation] = step.key }
        if !step.entries.isEmpty { annotations[entriesAnnotation] = step.entries.joined(separator: " ") }
        if !step.files.isEmpty { annotations[filesAnnotation] = step.files.map { "\($0.path)@\($0.digest)" }.joined(separator: " ") }
        return annotations
    }

    /// The registry's environment, looked up on first use; nil once it lacked a layer or sent a
    /// bad one.
    func environment() async -> Remote? {
        if !looked {
            looked = true
            do {
                let client = RegistryClient(credentials: try Credentials.load())
                self.client = client
                remote = await lookup(client: client)
            } catch {
                output.heading("Not using prebuilt layers from \(reference.name) (\(Self.firstLine(error))): building here")
            }
        }
        return remote
    }

    /// Stops asking the registry (the first layer it lacks: every later key differs too).
    func forget() { remote = nil }

    func shutdown() async { await client?.shutdown() }

    /// The registry's environment under `lock-…` (this very lock), else under the reference's
    /// tag (`latest`, the last one pushed); nil, after one line saying why, when the registry
    /// cannot be reached or has neither.
    private func lookup(client: RegistryClient) async -> Remote? {
        let content: ContentStore
        do { content = try store.contentStore() } catch {
            output.heading("Not using prebuilt layers from \(reference.name) (\(error)): building here")
            return nil
        }
        let tags = [lockTag, reference.tag ?? "latest"]
        for tag in tags {
            do {
                let image = try await client.resolveImage(reference, reference: tag, into: content, retry: false)
                return Self.remote(image, tag: tag)
            } catch let error as OCIError where error.code == .notFound {
                continue
            } catch {
                output.heading("Not using prebuilt layers from \(reference.name) (\(Self.firstLine(error))): building here")
                return nil
            }
        }
        output.heading("\(reference.name) has no environment tagged \(tags.joined(separator: " or ")): building here")
        return nil
    }

    private static func remote(_ image: ResolvedImage, tag: String) -> Remote {
        var layers: [String: (Descriptor, Digest)] = [:]
        var steps: [String: [String: String]] = [:]
        for (layer, diffID) in zip(image.manifest.layers, image.config.rootfs.diff_ids) {
            guard let annotations = layer.annotations, let key = annotations[EnvironmentImage.layerKeyAnnotation] else { continue }
            layers[key] = (layer, diffID)
            if let title = annotations[titleAnnotation] { steps[title] = annotations }
        }
        return Remote(tag: tag, layers: layers, steps: steps)
    }

    /// The registry's layer for `key`, downloaded and unpacked over `lowers` (bottom first)
    /// into its pulled directory, with `title`'s progress lines; nil when the registry lacks it
    /// (`miss` says why) or its layer failed a check (said, and the registry forgotten).
    func pull(_ key: String, title: String, summary: String, over lowers: [String]) async throws -> (directory: String, layer: LayerBlob.Stored)? {
        guard let found = await environment(), let client, let (descriptor, diffID) = found.layers[key] else { return nil }
        let start = ContinuousClock.now
        output.pulling(title, summary, from: "\(reference.name):\(found.tag)")
        let directory = Self.directory(forKey: key, source: reference)
        do {
            let content = try store.contentStore()
            _ = try await client.ensureBlob(reference, descriptor, in: content) { _ in }
            _ = try await ImagePull(store: store, layout: layout) { _ in }
                .unpackLayer(descriptor, diffID: diffID, as: directory, over: lowers.reversed(), content: content) { reason in
                    DevenvError.user("the layer \(self.reference.name) has for \(title) (\(descriptor.digest)) was refused: \(reason)")
                }
        } catch let error where !(error is CancellationError) {
            output.heading("  \(title): \(error)\n  building it here instead")
            forget()
            return nil
        }
        output.layer(title, summary, .pulled(ContinuousClock.now - start))
        var layer = descriptor
        layer.annotations = [EnvironmentImage.layerKeyAnnotation: directory, Self.stepKeyAnnotation: key]
        return (directory, LayerBlob.Stored(descriptor: layer, diffID: diffID))
    }

    /// Why the registry's environment has no layer for `step`: which of its inputs differs from
    /// the step the registry's layer of the same title was built from.
    /// The registry's words are escaped and cut short: its annotations reach the terminal.
    static func miss(_ step: BuildStep, overBase: Bool, remote: Remote) -> String {
        guard let theirs = remote.steps[step.title] else { return "the registry's environment has no \(step.title) step" }
        if theirs[parentAnnotation] != step.parent {
            return overBase ? "the base differs from the registry's" : "a layer below differs from the registry's"
        }
        let entries = entryChanges(ours: step.entries, theirs: (theirs[entriesAnnotation] ?? "").split(separator: " ").map(String.init))
        if !entries.isEmpty { return "lock entries differ from the registry's: " + FieldGrammar.escaped(listed(entries), limit: 300) }
        let ourFiles = Set(step.files.map { "\($0.path)@\($0.digest)" })
        let theirFiles = Set((theirs[filesAnnotation] ?? "").split(separator: " ").map(String.init))
        let files = Set(ourFiles.symmetricDifference(theirFiles).map { String($0.prefix { $0 != "@" }) }).sorted()
        if !files.isEmpty { return FieldGrammar.escaped(listed(files), limit: 300) + (files.count == 1 ? " differs" : " differ") + " from the registry's" }
        return "its command or environment differs from the registry's"
    }

    /// "curl 7.88.1-9 → 7.88.1-10", "+jq 1.6", "-vim 2:9.0": the entries that differ, by name.
    static func entryChanges(ours: [String], theirs: [String]) -> [String] {
        func split(_ entry: String) -> (String, String) {
            let name = entry.prefix { $0 != "=" }
            return (String(name), String(entry.dropFirst(name.count).drop { $0 == "=" }))
        }
        let mine = Dictionary(ours.map(split), uniquingKeysWith: { first, _ in first })
        let registry = Dictionary(theirs.map(split), uniquingKeysWith: { first, _ in first })
        return Set(mine.keys).union(registry.keys).sorted().compactMap { name in
            switch (mine[name], registry[name]) {
            case let (ours?, theirs?) where ours != theirs: "\(name) \(theirs) → \(ours)"
            case let (ours?, nil): "+\(name) \(ours)"
            case let (nil, theirs?): "-\(name) \(theirs)"
            default: nil
            }
        }
    }

    private static func listed(_ items: [String]) -> String {
        items.prefix(3).joined(separator: ", ") + (items.count > 3 ? " and \(items.count - 3) more" : "")
    }

    private static func firstLine(_ error: any Error) -> String {
        String("\(error)".prefix { $0 != "\n" })
    }
}
