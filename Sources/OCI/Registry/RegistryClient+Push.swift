import AsyncHTTPClient
import Foundation
import NIOCore

/// What a push reports while it works, for progress displays.
public enum PushEvent: Sendable {
    /// The repository had the blob already: nothing sent.
    case blobPresent(Descriptor)
    /// The registry linked the blob from another of its repositories: nothing sent.
    case blobMounted(Descriptor, from: String)
    case blobUploaded(Descriptor, Duration)
    case retrying(Digest, attempt: Int, reason: String)
    /// The manifest is in the repository under this tag (`changed`: it was not before).
    case tagged(String, changed: Bool)
}

/// A blob to push: its descriptor and the file holding its bytes.
public struct PushBlob: Sendable {
    public var descriptor: Descriptor
    public var path: String

    public init(descriptor: Descriptor, path: String) {
        self.descriptor = descriptor
        self.path = path
    }
}

extension RegistryClient {
    /// Pushes an image as the best clients do: each blob HEAD-checked first, mounted from
    /// `mountFrom` (repositories of the same registry that may have it) when the registry can,
    /// else uploaded in one PUT (in chunks when the registry refuses that), `concurrency` at a
    /// time, each retried with backoff; then the manifest, under every tag in `tags`. A second
    /// push of the same image sends no blob and no manifest. Returns the manifest's digest.
    public func push(
        manifest: Data, mediaType: String, blobs: [PushBlob], to ref: Reference, tags: [String],
        mountFrom: [String] = [], concurrency: Int = 3, progress: @escaping @Sendable (PushEvent) -> Void = { _ in }
    ) async throws -> Digest {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func start() {
                guard next < blobs.count else { return }
                let blob = blobs[next]
                next += 1
                group.addTask {
                    try await self.retryingPush(blob.descriptor.digest, progress: progress) {
                        try await self.pushBlob(blob, to: ref, mountFrom: mountFrom, progress: progress)
                    }
                }
            }
            for _ in 0..<max(concurrency, 1) { start() }
            while try await group.next() != nil { start() }
        }
        let digest = Digest(hashing: manifest)
        for tag in tags {
            let present = try await retryingPush(digest, progress: progress) { try await self.manifestDigest(ref, reference: tag) }
            if present == digest {
                progress(.tagged(tag, changed: false))
                continue
            }
            try await retryingPush(digest, progress: progress) {
                let response = try await self.send(
                    .PUT, ref, path: "manifests/\(tag)", headers: [("Content-Type", mediaType)],
                    body: { .bytes(ByteBuffer(bytes: manifest)) }, what: "manifest \(ref.repository):\(tag)")
                _ = try? await response.body.collect(upTo: 1 << 16)
            }
            progress(.tagged(tag, changed: true))
        }
        return digest
    }

    /// The digest of the manifest the repository has under `reference`, nil when it has none.
    func manifestDigest(_ ref: Reference, reference: String) async throws -> Digest? {
        do {
            let response = try await send(.HEAD, ref, path: "manifests/\(reference)", headers: [("Accept", MediaType.manifestAccept)],
                                          what: "manifest \(ref.repository):\(reference)")
            _ = try? await response.body.collect(upTo: 1 << 16)
            return response.headers.first(name: "Docker-Content-Digest").flatMap { try? Digest($0) }
        } catch let error as OCIError where error.code == .notFound {
            return nil
        }
    }

    /// Whether the repository has the blob.
    public func hasBlob(_ ref: Reference, _ digest: Digest) async throws -> Bool {
        do {
            let response = try await send(.HEAD, ref, path: "blobs/\(digest)", what: "blob \(digest)")
            _ = try? await response.body.collect(upTo: 1 << 16)
            return true
        } catch let error as OCIError where error.code == .notFound {
            return false
        }
    }

    private func pushBlob(_ blob: PushBlob, to ref: Reference, mountFrom: [String], progress: @Sendable (PushEvent) -> Void) async throws {
        let digest = blob.descriptor.digest
        if try await hasBlob(ref, digest) {
            progress(.blobPresent(blob.descriptor))
            return
        }
        var upload: String?
        for repository in mountFrom where repository != ref.repository {
            let response = try await send(
                .POST, ref, path: "blobs/uploads/?mount=\(digest)&from=\(repository)", headers: [("Content-Length", "0")],
                what: "mounting blob \(digest) from \(repository)")
            _ = try? await response.body.collect(upTo: 1 << 16)
            if response.status.code == 201 {
                progress(.blobMounted(blob.descriptor, from: repository))
                return
            }
            // 202: the registry could not mount it and opened an upload instead.
            upload = response.headers.first(name: "Location")
            break
        }
        let start = ContinuousClock.now
        let location = try await uploadLocation(ref, given: upload, digest: digest)
        do {
            try await putWhole(blob, to: ref, location: location)
        } catch let error as OCIError where error.code == .unsupported {
            // Some registries (and proxies with a body limit) take a blob only in chunks.
            try await putChunked(blob, to: ref, location: try await uploadLocation(ref, given: nil, digest: digest))
        }
        progress(.blobUploaded(blob.descriptor, ContinuousClock.now - start))
    }

    private func uploadLocation(_ ref: Reference, given: String?, digest: Digest) async throws -> String {
        if let given { return given }
        let response = try await send(.POST, ref, path: "blobs/uploads/", headers: [("Content-Length", "0")],
                                      what: "an upload of blob \(digest)")
        _ = try? await response.body.collect(upTo: 1 << 16)
        guard let location = response.headers.first(name: "Location") else {
            throw OCIError(.unsupported, "registry \(ref.registryHost) opened an upload of \(digest) without saying where (no Location)")
        }
        return location
    }

    /// The blob's bytes, mapped rather than read: a body is sent in 4 MiB pieces straight from
    /// the page cache (a 1 MiB read-and-copy stream pushed at a sixth of skopeo's rate).
    private static func contents(_ blob: PushBlob) throws -> Data {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: blob.path), options: .alwaysMapped) } catch {
            throw OCIError(.store, "cannot read \(blob.path) to upload it: \(error.localizedDescription)")
        }
        guard Int64(data.count) == blob.descriptor.size else {
            throw OCIError(.store, "\(blob.path) is \(data.count) bytes, but its descriptor says \(blob.descriptor.size)")
        }
        return data
    }

    private func putWhole(_ blob: PushBlob, to ref: Reference, location: String) async throws {
        let data = try Self.contents(blob)
        let response = try await send(
            .PUT, ref, path: "", location: Self.appending(digest: blob.descriptor.digest, to: location),
            headers: [("Content-Type", "application/octet-stream"), ("Content-Length", String(data.count))],
            body: { .bytes(data) }, what: "blob \(blob.descriptor.digest)")
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    /// The upload in PATCHes of at most `chunkSize` bytes, each to the Location the previous
    /// one answered with, then the closing PUT.
    private func putChunked(_ blob: PushBlob, to ref: Reference, location start: String, chunkSize: Int64 = 16 << 20) async throws {
        var location = start
        var offset: Int64 = 0
        let data = try Self.contents(blob)
        let size = Int64(data.count)
        while offset < size {
            let length = min(chunkSize, size - offset)
            let from = offset
            let chunk = data[Int(from)..<Int(from + length)]
            let response = try await send(
                .PATCH, ref, path: "", location: location,
                headers: [("Content-Type", "application/octet-stream"), ("Content-Length", String(length)),
                          ("Content-Range", "\(from)-\(from + length - 1)")],
                body: { .bytes(chunk) }, what: "blob \(blob.descriptor.digest) (bytes \(from)–\(from + length - 1))")
            _ = try? await response.body.collect(upTo: 1 << 16)
            location = response.headers.first(name: "Location") ?? location
            offset += length
        }
        let response = try await send(.PUT, ref, path: "", location: Self.appending(digest: blob.descriptor.digest, to: location),
                                      headers: [("Content-Length", "0")], what: "blob \(blob.descriptor.digest)")
        _ = try? await response.body.collect(upTo: 1 << 16)
    }

    static func appending(digest: Digest, to location: String) -> String {
        location + (location.contains("?") ? "&" : "?") + "digest=" + digest.description
    }

    /// Transient failures (a reset connection, a 5xx) are tried again, 5 times in all, 0.5–4 s
    /// apart; a blob upload starts over from a fresh upload.
    func retryingPush<T>(_ digest: Digest, progress: @Sendable (PushEvent) -> Void, _ body: () async throws -> T) async throws -> T {
        var attempt = 1
        while true {
            do { return try await body() } catch let error as OCIError
                where (error.code == .transient && attempt < 5) || (error.code == .stalled && attempt < 2) {
                progress(.retrying(digest, attempt: attempt, reason: error.message))
                try await Task.sleep(for: .milliseconds(500 << (attempt - 1)))
                attempt += 1
            }
        }
    }
}
