import Build
import Foundation
import ImageStore
import Layers
import OCI
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// `[base] bootstrap = "debian:SUITE"`: the base built from a Debian mirror with mmdebstrap
/// (variant apt), for machines that reach a mirror but no image registry. The root filesystem
/// tarball is unpacked like a pulled layer (with owners, in the sandbox's mapping) and kept as an
/// uncompressed layer blob, named in the index as `bootstrap/SUITE-<key>` so `images`, `gc` and
/// later builds find it like any image.
public struct BootstrapBase {
    public let suite: String
    public let mirror: String
    public let store: StoreLocation
    public let layout: LayerLayout
    public let output: BuildProgress

    /// The layer's key: what mmdebstrap was asked for. The mirror's contents are not pinned (a
    /// bootstrap base is as reproducible as the mirror is stable); the apt and pip layers on top
    /// install exactly the locked versions.
    public var key: String {
        CacheKey(parent: "", step: "bootstrap", inputs: [suite, mirror, "mmdebstrap --variant=apt", layout.suffix]).description + layout.suffix
    }

    public var imageName: String { "bootstrap/\(suite)-\(key.prefix(13))" }

    /// The name of the base pulled from `source` (`[share] image`): its own, so a project that
    /// names no registry, or another one, never runs on it.
    func pulledImageName(from source: Reference) -> String {
        "bootstrap/\(suite)-\(SharedCache.directory(forKey: key, source: source).prefix(13))"
    }

    /// The base from `cache`, the registry's environment built on it, when it has it.
    func pull(from cache: SharedCache) async throws -> LocalImage? {
        guard let pulled = try await cache.pull(key, title: "base", summary: "bootstrap \(suite)", over: []) else { return nil }
        return try await tag(pulledImageName(from: cache.reference), layer: pulled.layer, directory: pulled.directory)
    }

    /// Bootstraps the base; callers look in the store first (`EnvironmentBuilder.localBase`).
    public func ensure() async throws -> LocalImage {
        let release = String(suite.split(separator: ":").last ?? "")
        guard let mmdebstrap = Self.which("mmdebstrap") else {
            throw DevenvError.user("[base] bootstrap = \"\(suite)\" needs mmdebstrap, which is not installed\n  fix: apt-get install mmdebstrap (or use [base] image = \"\(suite)\")")
        }
        guard geteuid() == 0 || layout.mapping != nil else {
            throw DevenvError.user("[base] bootstrap needs root or subordinate ids (/etc/subuid) for mmdebstrap --mode=unshare\n  fix: add ranges with usermod --add-subuids/--add-subgids, or use [base] image = \"\(suite)\"")
        }
        let content = try store.contentStore()
        let layerStore = store.layerStore()
        let tarball = "\(content.stagingDirectory)/bootstrap-\(UUID().uuidString).tar"
        defer { unlink(tarball) }
        let start = ContinuousClock.now
        output.starting("base", "bootstrap \(suite) from \(mirror)")
        // The manifest's values only after "--": Getopt::Long permutes, so without it any word
        // starting with - would be an option wherever it stands. Both were checked at parse time.
        let arguments = [mmdebstrap, "--variant=apt", "--mode=unshare", "--format=tar", "--", release]
        if geteuid() == 0 {
            try runAsUnprivilegedRoot(arguments, mirror: mirror, into: tarball)
        } else {
            try run(arguments + [tarball, mirror])
        }

        let summary = "bootstrap \(suite)"
        // mmdebstrap's tarball, made here: nothing to check it against.
        try await layerStore.ensure(key, discard: { try StoreCleaner.remove([$0], mapping: layout.mapping) }) { scratch in
            let failure = { (reason: String) in DevenvError.internal("cannot unpack the bootstrap root filesystem: \(reason)") }
            if let mapping = layout.mapping {
                _ = try HelperCommand.unpackLayer(archive: tarball, into: scratch, lowers: [], expected: nil,
                                                   publishAs: layerStore.directory(for: key), mapping: mapping, describe: failure)
                return .published
            }
            do { _ = try LayerUnpacker().unpack(archivePath: tarball, into: scratch, lowerLayers: []) } catch {
                throw failure("\(error)")
            }
            return .filled
        }
        let blob = try content.adopt(file: tarball)
        let layer = Descriptor(mediaType: MediaType.ociLayer, digest: blob.digest, size: blob.size,
                               annotations: [EnvironmentImage.layerKeyAnnotation: key])
        let image = try await tag(imageName, layer: LayerBlob.Stored(descriptor: layer, diffID: blob.digest), directory: key)
        output.layer("base", summary, .built(ContinuousClock.now - start))
        return image
    }

    /// Names the image of the one `layer` (unpacked in `directory`) `name` in the store's index.
    private func tag(_ name: String, layer: LayerBlob.Stored, directory: String) async throws -> LocalImage {
        let content = try store.contentStore()
        var config = try JSONDecoder().decode(ImageConfig.self, from: Data(#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.utf8))
        config.rootfs.diff_ids = [layer.diffID]
        config.os = Platform.host.os
        config.architecture = Platform.host.architecture
        var runtime = ImageConfig.RuntimeConfig()
        runtime.Env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        config.config = runtime
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let configData = try encoder.encode(config)
        let configDigest = try content.put(configData)
        let manifest = ImageManifest(
            schemaVersion: 2, mediaType: MediaType.ociManifest,
            config: Descriptor(mediaType: MediaType.ociConfig, digest: configDigest, size: Int64(configData.count)),
            layers: [layer.descriptor])
        let manifestData = try encoder.encode(manifest)
        let manifestDigest = try content.put(manifestData)
        try await content.tag(name, Descriptor(mediaType: MediaType.ociManifest, digest: manifestDigest,
                                               size: Int64(manifestData.count), platform: Platform.host))
        return LocalImage(manifest: manifest, config: config, layers: [directory])
    }

    /// As root, mmdebstrap (whose maintainer scripts come from the manifest's suite and mirror)
    /// runs as root of a user namespace whose ids are unprivileged on the host, as build steps do
    /// (`IDMapping.shiftedRoot`). Seeing itself as
    /// root, mmdebstrap's unshare mode makes only the mount, pid, uts and ipc namespaces, inside
    /// ours. Its tarball goes to a directory of those ids in /tmp (the store is root's alone) and
    /// is copied into the store without following a link, whatever those ids did meanwhile.
    private func runAsUnprivilegedRoot(_ arguments: [String], mirror: String, into tarball: String) throws {
        let mapping = IDMapping.forBuild(asRoot: false)
        let ids = (uid: mapping.uids[0].outside, gid: mapping.gids[0].outside)
        var template = Array("/tmp/devenv-bootstrap-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else {
            throw DevenvError.internal("cannot create a directory in /tmp for mmdebstrap: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: created)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard chown(directory, ids.uid, ids.gid) == 0, chmod(directory, 0o700) == 0 else {
            throw DevenvError.internal("cannot hand \(directory) to ids \(ids.uid):\(ids.gid): \(String(cString: strerror(errno)))")
        }
        let made = directory + "/base.tar"
        var environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=/tmp", "LANG=C.UTF-8"]
        let passed = ["http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"]
        environment += passed.compactMap { name in ProcessInfo.processInfo.environment[name].map { "\(name)=\($0)" } }
        var lines: [String] = []
        let result = try UserNamespaceProcess.run(arguments + [made, mirror], environment: environment,
                                                  mapping: mapping) { line in
            lines.append(line)
            output.stepLine?(line)
        }
        guard result.status == 0 else { throw failure(status: result.status, lines: lines) }
        let descriptor = open(made, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        var info = stat()
        guard descriptor >= 0, fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_uid == ids.uid else {
            if descriptor >= 0 { close(descriptor) }
            throw DevenvError.internal("mmdebstrap's tarball \(made) is not a regular file of ids \(ids.uid):\(ids.gid)")
        }
        let source = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        guard FileManager.default.createFile(atPath: tarball, contents: nil), let target = FileHandle(forWritingAtPath: tarball) else {
            throw DevenvError.internal("cannot create \(tarball): \(String(cString: strerror(errno)))")
        }
        defer { try? target.close() }
        while let chunk = try source.read(upToCount: 1 << 20), !chunk.isEmpty { try target.write(contentsOf: chunk) }
    }

    private func failure(status: Int32, lines: [String]) -> DevenvError {
        DevenvError.user("""
            mmdebstrap could not bootstrap \(suite) from \(mirror) (exit status \(status)):
            \(lines.suffix(15).map { "    │ " + $0 }.joined(separator: "\n"))
              fix: check [base] bootstrap (a Debian suite such as debian:bookworm) and that the mirror is reachable
            """)
    }

    /// Runs mmdebstrap with its output streamed like a build step's.
    private func run(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardInput = FileHandle.nullDevice
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        var lines: [String] = []
        var pending = Data()
        while true {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                lines.append(line)
                output.stepLine?(line)
            }
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw failure(status: process.terminationStatus, lines: lines) }
    }

    public static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // String(_:) first: without it the split's elements were character arrays here, printed as
        // ["/", "u", …], so only the two fallbacks ever matched and PATH was never searched.
        return (path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin"]).map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
