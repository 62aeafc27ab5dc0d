import ArgumentParser
import Foundation
import OCI
import Sandbox
import Storage

#if canImport(Glibc)
import Glibc
#endif

struct Gc: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Delete blobs, layers and scratch files nothing references, and report the space freed.",
        discussion: """
            Kept: every image in the store's index (pulled images, and each project's built \
            environment `env/…`) with its blobs and unpacked layers. An environment whose project \
            directory or manifest is gone is dropped from the index first (its home directory in \
            envs/ stays), and so is its `devenv trust` approval. Also removed: scratch left under tmp/ by killed runs. Waits for builds \
            in progress; anything written in the last --grace seconds (10 minutes) is left alone, \
            so a pull running at the same time is never cut short. Layers a running `run` or \
            `enter` uses are kept until it ends, and so is a partial download a pull is writing; \
            one a killed pull left is removed once it is older than the grace period.

            Examples:
              devenv gc --dry-run    show what would be deleted
              devenv gc
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Only print what would be deleted.")
    var dryRun = false

    @Option(help: ArgumentHelp("Leave alone what was written in the last <seconds>.", valueName: "seconds"))
    var grace: Int = 600

    func run() async throws {
        let store = try global.store()
        let content = try store.contentStore()
        let layerStore = store.layerStore()
        // Builds hold their project's lock until the environment's image is tagged.
        var held: [FileLock] = []
        for lockPath in Self.entries(store.envs).map({ "\(store.envs)/\($0)/.build.lock" }) where access(lockPath, F_OK) == 0 {
            held.append(try await FileLock.acquire(lockPath) { Terminal.note("waiting for a build in progress (\(lockPath))…") })
        }
        defer { _ = held }

        var index = try content.index()
        var orphaned: [String] = []
        for entry in index.manifests {
            guard let name = entry.annotations?[ContentStore.refNameAnnotation], name.hasPrefix("env/"),
                  let manifest = try? JSONDecoder().decode(ImageManifest.self, from: content.read(entry.digest)),
                  let project = manifest.annotations?[EnvironmentImage.projectAnnotation] else { continue }
            if !FileManager.default.fileExists(atPath: project + "/.devenv/devenv.toml") { orphaned.append(name) }
        }
        index.manifests.removeAll { orphaned.contains($0.annotations?[ContentStore.refNameAnnotation] ?? "") }
        // By the same rule, approvals: a project made at that path later asks again.
        let trustDirectory = store.root + "/trust"
        let forgotten = Self.entries(trustDirectory).compactMap { name -> (path: String, project: String)? in
            guard let approval = try? TrustApproval.load(trustDirectory + "/" + name),
                  !FileManager.default.fileExists(atPath: approval.project + "/.devenv/devenv.toml") else { return nil }
            return (trustDirectory + "/" + name, approval.project)
        }

        var blobs = Set<Digest>()
        var layers = Set<String>()
        for entry in index.manifests {
            blobs.insert(entry.digest)
            guard let manifest = try? JSONDecoder().decode(ImageManifest.self, from: content.read(entry.digest)) else { continue }
            blobs.insert(manifest.config.digest)
            blobs.formUnion(manifest.layers.map(\.digest))
            let keys = manifest.layers.compactMap { $0.annotations?[EnvironmentImage.layerKeyAnnotation] }
            if keys.count == manifest.layers.count {
                layers.formUnion(keys)
            } else if let config = try? JSONDecoder().decode(ImageConfig.self, from: content.read(manifest.config.digest)) {
                // Pulled images: directories named by chain id, plus the `--root` copies.
                for chainID in config.chainIDs { layers.formUnion([chainID.hex, chainID.hex + "-root"]) }
            }
            // An index the manifest was picked from is part of the pull too.
            if let source = entry.annotations?[ContentStore.sourceIndexAnnotation], let digest = try? Digest(source) { blobs.insert(digest) }
        }

        // Layers a running sandbox holds are kept, whatever references them; the lock keeps new
        // sandboxes from starting on a layer while it is being deleted.
        let inUse: Set<String>
        let removalLock: LayerHold.RemovalLock
        do {
            (inUse, removalLock) = try LayerHold.inUse(layersDirectory: store.layers)
        } catch {
            throw DevenvError.internal(error.message)
        }
        defer { withExtendedLifetime(removalLock) {} }

        let now = Date().timeIntervalSince1970
        var freedBytes: Int64 = 0
        var removedBlobs: [Digest] = []
        for (digest, size) in try content.allBlobs() where !blobs.contains(digest) && !isRecent(content.blobPath(digest), now: now) {
            removedBlobs.append(digest)
            freedBytes += size
        }
        var removedLayers: [String] = []
        for name in Self.entries(store.layers) where !layers.contains(name) && !inUse.contains(name) && !isRecent(layerStore.directory(for: name), now: now) {
            removedLayers.append(name)
            freedBytes += layerStore.diskUsage(name)
        }
        var removedScratch: [String] = []
        for name in Self.entries(store.tmp) where name != "ingest" && !name.hasSuffix(".lock") {
            let path = store.tmp + "/" + name
            if !isRecent(path, now: now), !Self.retiredLayerInUse(name, inUse: inUse) {
                removedScratch.append(path)
                freedBytes += LayerStore.diskUsage(path: path)
            }
        }
        // Partial downloads: a pull that is running holds the blob's lock, and a killed one
        // resumes from its partial only within the grace period.
        var ingestLocks: [FileLock] = []
        for name in Self.entries(store.tmp + "/ingest") where !name.hasSuffix(".lock") {
            let path = store.tmp + "/ingest/" + name
            guard !isRecent(path, now: now) else { continue }
            if name.hasSuffix(".partial") {
                guard let lock = FileLock.tryAcquire(store.tmp + "/ingest/" + name.dropLast(".partial".count) + ".lock") else { continue }
                ingestLocks.append(lock)
            }
            removedScratch.append(path)
            freedBytes += LayerStore.diskUsage(path: path)
        }
        defer { _ = ingestLocks }

        let verb = dryRun ? "Would remove" : "Removed"
        for name in orphaned { Terminal.note("\(verb) \(name): its project is gone") }
        for approval in forgotten { Terminal.note("\(verb) the approval of \(approval.project): its project is gone") }
        if global.verbose {
            for digest in removedBlobs { Terminal.note("\(verb) blob \(digest)") }
            for name in removedLayers { Terminal.note("\(verb) layer \(name)") }
            for path in removedScratch { Terminal.note("\(verb) \(path)") }
        }
        if !dryRun {
            if !orphaned.isEmpty { try content.untag(Set(orphaned)) }
            for approval in forgotten where unlink(approval.path) != 0 && errno != ENOENT {
                throw DevenvError.internal("cannot remove the approval \(approval.path): \(String(cString: strerror(errno)))")
            }
            for digest in removedBlobs { content.remove(digest) }
            let mapping = LayerLayout.forInvoker(asRoot: false).mapping
            try StoreCleaner.remove(removedLayers.map(layerStore.directory(for:)) + removedScratch, mapping: mapping)
            for name in removedLayers { layerStore.forgetStamp(name) }
        }
        Terminal.out("\(verb) \(removedBlobs.count) blobs, \(removedLayers.count) layers and \(removedScratch.count) scratch entries: \(dryRun ? "would free" : "freed") \(Terminal.bytes(freedBytes))")
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
    func isRecent(_ path: String, now: TimeInterval) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return true }
        return now - TimeInterval(info.st_ctim.tv_sec) < TimeInterval(grace)
    }
}
