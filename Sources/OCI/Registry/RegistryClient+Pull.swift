import AsyncHTTPClient
import Foundation
import NIOCore

/// What a pull reports while it works, for progress displays.
public enum PullEvent: Sendable {
    case resolved(manifest: Digest, platform: Platform?, layers: [Descriptor])
    case blobStarted(Descriptor, resumedAt: Int64)
    case blobProgress(Digest, received: Int64, total: Int64)
    case blobFinished(Digest, BlobOutcome)
    case retrying(Digest, attempt: Int, reason: String)
}

public enum BlobOutcome: Sendable, Equatable {
    case downloaded
    case alreadyPresent
    /// The store had it, but its bytes no longer matched the digest.
    case replacedCorrupt
}

/// An image's manifest and config, read and verified (`RegistryClient.resolveImage`).
public struct ResolvedImage: Sendable {
    /// What the reference named: an index or the manifest itself.
    public let top: FetchedManifest
    /// The image manifest (chosen from `top` when it is an index).
    public let manifestBlob: FetchedManifest
    public let platform: Platform?
    public let manifest: ImageManifest
    public let config: ImageConfig
}

/// The result of a pull: everything needed to unpack and run the image.
public struct PulledImage: Sendable {
    public let reference: Reference
    /// The platform-specific image manifest (what `index.json` points at).
    public let manifestDescriptor: Descriptor
    public let manifest: ImageManifest
    public let config: ImageConfig
    /// The digest the reference resolved to (an index or a manifest): what a lock file pins.
    public let resolvedDigest: Digest
}

extension RegistryClient {
    /// Pulls `ref` for `platform` into `store`: manifests and config first, then the layers,
    /// `concurrency` at a time, each streamed to disk while hashed. Blobs the store already has
    /// (and that still verify) are not downloaded again. The image is not named in the store's
    /// `index.json` yet: the caller tags it (`ContentStore.tag`) once it has done what else it
    /// needs (unpacking), so that a failure leaves no name pointing at an unusable image.
    public func pull(
        _ ref: Reference, into store: ContentStore, platform: Platform = .host, concurrency: Int = 3,
        progress: @escaping @Sendable (PullEvent) -> Void = { _ in }
    ) async throws -> PulledImage {
        let resolved = try await resolveImage(ref, reference: ref.manifestReference, into: store, platform: platform, progress: progress)
        let manifest = resolved.manifest, config = resolved.config, top = resolved.top, manifestBlob = resolved.manifestBlob
        progress(.resolved(manifest: manifestBlob.digest, platform: resolved.platform, layers: manifest.layers))

        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = manifest.layers[...]
            func startNext() {
                guard let layer = pending.popFirst() else { return }
                group.addTask { _ = try await self.ensureBlob(ref, layer, in: store, progress: progress) }
            }
            for _ in 0..<max(1, concurrency) { startNext() }
            while try await group.next() != nil { startNext() }
        }

        try store.put(top.data)
        try store.put(manifestBlob.data)
        var descriptor = manifestBlob.descriptor
        descriptor.platform = resolved.platform ?? config.platform
        if top.digest != manifestBlob.digest {
            descriptor.annotations = [ContentStore.sourceIndexAnnotation: top.digest.description]
        }
        return PulledImage(reference: ref, manifestDescriptor: descriptor, manifest: manifest, config: config, resolvedDigest: top.digest)
    }

    /// An image's manifest (chosen for `platform` from an index) and config, the config stored
    /// in `store` verified by its digest; the layers are left to the caller. Without `retry` a
    /// registry that cannot be reached for the first manifest fails at once (a cache lookup
    /// that has a local build to fall back on).
    public func resolveImage(_ ref: Reference, reference: String, into store: ContentStore, platform: Platform = .host, retry: Bool = true,
                             progress: @escaping @Sendable (PullEvent) -> Void = { _ in }) async throws -> ResolvedImage {
        let top = try await retrying(nil, attempts: retry ? 5 : 1, progress: progress) {
            try await self.fetchManifest(ref, reference: reference)
        }
        var manifestBlob = top
        var chosenPlatform: Platform?
        if MediaType.indexTypes.contains(top.mediaType) {
            let index: ImageIndex
            do { index = try JSONDecoder().decode(ImageIndex.self, from: top.data) } catch {
                throw OCIError(.invalidContent, "the image index of \(ref) is not valid JSON: \(error)")
            }
            guard let chosen = index.manifest(for: platform) else {
                let available = index.platforms.map(\.description).joined(separator: ", ")
                throw OCIError(.noMatchingPlatform, "\(ref) has no image for \(platform) (it has: \(available.isEmpty ? "none" : available))")
            }
            guard MediaType.manifestTypes.contains(chosen.mediaType) else {
                throw OCIError(.unsupported, "\(ref): nested image indexes are not supported")
            }
            chosenPlatform = chosen.platform
            manifestBlob = try await retrying(nil, progress: progress) {
                try await self.fetchManifest(ref, reference: chosen.digest.description)
            }
            guard manifestBlob.digest == chosen.digest else {
                throw OCIError(.digestMismatch, "\(ref): the manifest for \(platform) does not match the digest its index names")
            }
        }
        guard MediaType.manifestTypes.contains(manifestBlob.mediaType) else {
            throw OCIError(.unsupported, "\(ref) is a \(manifestBlob.mediaType), not a container image (devenv reads OCI and Docker schema 2 images)")
        }
        let manifest: ImageManifest
        do { manifest = try JSONDecoder().decode(ImageManifest.self, from: manifestBlob.data) } catch {
            throw OCIError(.invalidContent, "the manifest of \(ref) is not a valid image manifest: \(error)")
        }
        for layer in manifest.layers where !MediaType.layerTypes.contains(layer.mediaType) {
            throw OCIError(.unsupported, "\(ref): layer \(layer.digest) has media type \(layer.mediaType), which devenv cannot unpack")
        }
        _ = try await ensureBlob(ref, manifest.config, in: store, progress: progress)
        let config: ImageConfig
        do { config = try JSONDecoder().decode(ImageConfig.self, from: try store.read(manifest.config.digest)) } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(.invalidContent, "the configuration of \(ref) is not a valid image config: \(error)")
        }
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw OCIError(.invalidContent, "\(ref): the config lists \(config.rootfs.diff_ids.count) layers but the manifest \(manifest.layers.count)")
        }
        return ResolvedImage(top: top, manifestBlob: manifestBlob, platform: chosenPlatform, manifest: manifest, config: config)
    }

    /// Makes sure the store holds a verified copy of `descriptor`'s blob.
    public func ensureBlob(_ ref: Reference, _ descriptor: Descriptor, in store: ContentStore,
                    progress: @escaping @Sendable (PullEvent) -> Void) async throws -> BlobOutcome {
        var corrupt = false
        if store.contains(descriptor.digest) {
            if try store.verify(descriptor.digest, size: descriptor.size) {
                progress(.blobFinished(descriptor.digest, .alreadyPresent))
                return .alreadyPresent
            }
            store.remove(descriptor.digest)
            corrupt = true
        }
        let session = try await IngestSession(store: store, digest: descriptor.digest, expectedSize: descriptor.size)
        // Another process may have finished this blob while we waited for its lock.
        if store.contains(descriptor.digest), try store.verify(descriptor.digest, size: descriptor.size) {
            progress(.blobFinished(descriptor.digest, .alreadyPresent))
            return .alreadyPresent
        }
        var mismatches = 0
        try await retrying(descriptor.digest, progress: progress) {
            do {
                try await self.download(ref, descriptor, into: session, progress: progress)
                try session.commit()
            } catch let error as OCIError where error.code == .digestMismatch {
                mismatches += 1
                try session.reset()
                // One bad transfer can be the network; two in a row is the registry's content.
                throw mismatches > 1 ? error : OCIError(.transient, error.message)
            }
        }
        let outcome: BlobOutcome = corrupt ? .replacedCorrupt : .downloaded
        progress(.blobFinished(descriptor.digest, outcome))
        return outcome
    }

    /// Streams a blob into `session`, resuming from the bytes it already holds when the registry
    /// honours a Range request.
    private func download(_ ref: Reference, _ descriptor: Descriptor, into session: IngestSession,
                          progress: @escaping @Sendable (PullEvent) -> Void) async throws {
        let offset = session.size
        let headers = offset > 0 ? [("Range", "bytes=\(offset)-")] : []
        let response = try await send(.GET, ref, path: "blobs/\(descriptor.digest)", headers: headers, what: "blob \(descriptor.digest)")
        if offset > 0, response.status.code != 206 { try session.reset() }
        progress(.blobStarted(descriptor, resumedAt: session.size))
        do {
            for try await chunk in response.body {
                try session.append(chunk)
                progress(.blobProgress(descriptor.digest, received: session.size, total: descriptor.size))
            }
        } catch let error as OCIError {
            throw error
        } catch {
            throw OCIError(.transient, "download of \(descriptor.digest) from \(ref.registryHost) broke off after \(session.size) bytes: \(Self.describe(error))")
        }
    }

    /// Runs `body`, retrying transient failures with exponential backoff (0.5 s, 1 s, 2 s, 4 s),
    /// and a stalled registry once.
    @discardableResult
    func retrying<T>(_ digest: Digest?, attempts: Int = 5, progress: @Sendable (PullEvent) -> Void,
                     _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do { return try await body() } catch let error as OCIError
                where (error.code == .transient && attempt < attempts) || (error.code == .stalled && attempt < min(2, attempts)) {
                if let digest { progress(.retrying(digest, attempt: attempt, reason: error.message)) }
                try await Task.sleep(for: .milliseconds(500 << (attempt - 1)))
                attempt += 1
            }
        }
    }
}

extension ImageConfig {
    var platform: Platform? {
        guard let os, let architecture else { return nil }
        return Platform(os: os, architecture: architecture)
    }
}
