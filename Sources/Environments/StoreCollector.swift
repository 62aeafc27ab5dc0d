import Foundation
import ImageStore
import OCI
import Sandbox
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// `devenv gc`: finds what nothing references (blobs, layer directories, scratch under tmp/,
/// environments and approvals of projects that are gone), then removes it. Waits for builds in
/// progress; anything written within `grace` seconds is left alone, and so is a layer a running
/// sandbox holds or a partial download a pull is writing.
public struct StoreCollector {
    public let store: StoreLocation
    public let grace: Int
    /// Told the build lock it waits for.
    public let onWait: @Sendable (String) -> Void

    public init(store: StoreLocation, grace: Int, onWait: @escaping @Sendable (String) -> Void) {
        self.store = store
        self.grace = grace
        self.onWait = onWait
    }

    /// What `find` found, with the locks that keep it garbage until `remove`.
    public struct Garbage {
        public var orphanedEnvironments: [String] = []
        public var forgottenApprovals: [(path: String, project: String)] = []
        public var blobs: [Digest] = []
        public var layers: [String] = []
        public var scratch: [String] = []
        public var freedBytes: Int64 = 0
        fileprivate var buildLocks: [FileLock] = []
        fileprivate var ingestLocks: [FileLock] = []
        fileprivate var removalLock: LayerHold.RemovalLock?
    }

    public func find() async throws -> Garbage {
        var garbage = Garbage()
        // Builds hold their project's lock until the environment's image is tagged.
        for lockPath in Self.entries(store.envs).map({ "\(store.envs)/\($0)/.build.lock" }) where access(lockPath, F_OK) == 0 {
            garbage.buildLocks.append(try await FileLock.acquire(lockPath) { onWait(lockPath) })
        }
        let content = try store.contentStore()
        var index = try content.index()
        garbage.orphanedEnvironments = orphanedEnvironments(index, content: content)
        index.manifests.removeAll { garbage.orphanedEnvironments.contains($0.annotations?[ContentStore.refNameAnnotation] ?? "") }
        garbage.forgottenApprovals = forgottenApprovals()
        let (blobs, layers) = referenced(index, content: content)

        // Layers a running sandbox holds are kept, whatever references them; the lock keeps new
        // sandboxes from starting on a layer while it is being deleted.
        let inUse: Set<String>
        do {
            let (names, lock) = try LayerHold.inUse(layersDirectory: store.layers)
            inUse = names
            garbage.removalLock = lock
        } catch {
            throw DevenvError.internal(error.message)
        }

        let now = Date().timeIntervalSince1970
        let layerStore = store.layerStore()
        for (digest, size) in try content.allBlobs() where !blobs.contains(digest) && !isRecent(content.blobPath(digest), now: now) {
            garbage.blobs.append(digest)
            garbage.freedBytes += size
        }
        for name in Self.entries(store.layers) where !layers.contains(name) && !inUse.contains(name) && !isRecent(layerStore.directory(for: name), now: now) {
            garbage.layers.append(name)
            garbage.freedBytes += layerStore.diskUsage(name)
        }
        findScratch(&garbage, inUse: inUse, now: now)
        return garbage
    }

    /// Removes what `find` found.
    public func remove(_ garbage: Garbage) throws {
        let content = try store.contentStore()
        let layerStore = store.layerStore()
        if !garbage.orphanedEnvironments.isEmpty { try content.untag(Set(garbage.orphanedEnvironments)) }
        for approval in garbage.forgottenApprovals where unlink(approval.path) != 0 && errno != ENOENT {
            throw DevenvError.internal("cannot remove the approval \(approval.path): \(String(cString: strerror(errno)))")
        }
        for digest in garbage.blobs { content.remove(digest) }
        let mapping = LayerLayout.forInvoker(asRoot: false).mapping
        try StoreCleaner.remove(garbage.layers.map(layerStore.directory(for:)) + garbage.scratch, mapping: mapping)
        for name in garbage.layers { layerStore.forgetStamp(name) }
        withExtendedLifetime(garbage) {}
    }

    /// Built environments (`env/…` in the index) whose project directory or manifest is gone.
    private func orphanedEnvironments(_ index: ImageIndex, content: ContentStore) -> [String] {
        index.manifests.compactMap { entry in
            guard let name = entry.annotations?[ContentStore.refNameAnnotation], name.hasPrefix("env/"),
                  let manifest = try? JSONDecoder().decode(ImageManifest.self, from: content.read(entry.digest)),
                  let project = manifest.annotations?[EnvironmentImage.projectAnnotation],
                  !FileManager.default.fileExists(atPath: project + "/.devenv/devenv.toml") else { return nil }
            return name
        }
    }

    /// By the same rule, approvals: a project made at that path later asks again.
    private func forgottenApprovals() -> [(path: String, project: String)] {
        let trustDirectory = store.root + "/trust"
        return Self.entries(trustDirectory).compactMap { name -> (path: String, project: String)? in
            guard let approval = try? TrustApproval.load(trustDirectory + "/" + name),
                  !FileManager.default.fileExists(atPath: approval.project + "/.devenv/devenv.toml") else { return nil }
            return (trustDirectory + "/" + name, approval.project)
        }
    }

    /// The blobs and layer directories the index's images use.
    private func referenced(_ index: ImageIndex, content: ContentStore) -> (blobs: Set<Digest>, layers: Set<String>) {
        var blobs = Set<Digest>()
        var layers = Set<String>()
        for entry in index.manifests {
            blobs.insert(entry.digest)
            guard let manifest = try? JSONDecoder().decode(ImageManifest.self, from: content.read(entry.digest)) else { continue }
            blobs.insert(manifest.config.digest)
            blobs.formUnion(manifest.layers.map(\.digest))
            let config = try? JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest))
            // A pulled image's `--root` copies too (rootless with subordinate ids).
            for suffix in ["", "-root"] { layers.formUnion(LocalImage.layerDirectories(manifest, config, suffix: suffix)) }
            // An index the manifest was picked from is part of the pull too.
            if let source = entry.annotations?[ContentStore.sourceIndexAnnotation], let digest = try? Digest(source) { blobs.insert(digest) }
        }
        return (blobs, layers)
    }

    /// Scratch killed runs left under tmp/, and partial downloads: a pull that is running holds
    /// the blob's lock, and a killed one resumes from its partial only within the grace period.
    private func findScratch(_ garbage: inout Garbage, inUse: Set<String>, now: TimeInterval) {
        for name in Self.entries(store.tmp) where name != "ingest" && !name.hasSuffix(".lock") {
            let path = store.tmp + "/" + name
            if !isRecent(path, now: now), !Self.retiredLayerInUse(name, inUse: inUse) {
                garbage.scratch.append(path)
                garbage.freedBytes += LayerStore.diskUsage(path: path)
            }
        }
        for name in Self.entries(store.tmp + "/ingest") where !name.hasSuffix(".lock") {
            let path = store.tmp + "/ingest/" + name
            guard !isRecent(path, now: now) else { continue }
            if name.hasSuffix(".partial") {
                guard let lock = FileLock.tryAcquire(store.tmp + "/ingest/" + name.dropLast(".partial".count) + ".lock") else { continue }
                garbage.ingestLocks.append(lock)
            }
            garbage.scratch.append(path)
            garbage.freedBytes += LayerStore.diskUsage(path: path)
        }
    }

    /// A layer directory `build --no-cache` replaced while a sandbox ran on it
    /// (`tmp/retired-<name>.<uuid>`): kept while any sandbox holds a layer of that name.
    static func retiredLayerInUse(_ entry: String, inUse: Set<String>) -> Bool {
        guard entry.hasPrefix(StepExecutor.retiredPrefix), let dot = entry.lastIndex(of: ".") else { return false }
        return inUse.contains(String(entry[entry.index(entry.startIndex, offsetBy: StepExecutor.retiredPrefix.count)..<dot]))
    }

    /// Directory entries, without dot entries (`layers/.sandbox` is the sandbox's mountpoint).
    static func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Renamed into place or changed within the grace period (ctime: a rename sets it).
    private func isRecent(_ path: String, now: TimeInterval) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return true }
        return now - TimeInterval(info.st_ctim.tv_sec) < TimeInterval(grace)
    }
}
