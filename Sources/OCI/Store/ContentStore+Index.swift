import Foundation
import Storage

extension ContentStore {
    /// The images the store names, as `index.json` lists them.
    public func index() throws -> ImageIndex {
        guard let data = FileManager.default.contents(atPath: indexPath) else {
            throw OCIError(.store, "\(indexPath) is missing; the store is damaged (move it away and pull again)")
        }
        do { return try JSONDecoder().decode(ImageIndex.self, from: data) } catch {
            throw OCIError(.store, "\(indexPath) is not a valid OCI index: \(error); the store is damaged (move it away and pull again)")
        }
    }

    func writeIndex(_ index: ImageIndex) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(index), to: indexPath, tmpDirectory: ingestDirectory)
    }

    /// Points `name` at `descriptor` in `index.json`, replacing what the name pointed at before.
    /// Under a lock, because two pulls at once must not lose each other's entries.
    public func tag(_ name: String, _ descriptor: Descriptor) async throws {
        let lock = try await FileLock.acquire(path + "/index.json.lock")
        defer { _ = lock }
        var index = try index()
        let before = index.manifests
        var entry = descriptor
        var annotations = entry.annotations ?? [:]
        annotations[Self.refNameAnnotation] = name
        entry.annotations = annotations
        index.manifests.removeAll { $0.annotations?[Self.refNameAnnotation] == name }
        index.manifests.append(entry)
        index.manifests.sort { ($0.annotations?[Self.refNameAnnotation] ?? "") < ($1.annotations?[Self.refNameAnnotation] ?? "") }
        // Unchanged, the file stays as it is: launch records of `--image` runs check it.
        guard index.manifests != before else { return }
        try writeIndex(index)
    }

    /// The descriptor `name` points at, if any.
    public func resolve(_ name: String) throws -> Descriptor? {
        try index().manifests.first { $0.annotations?[Self.refNameAnnotation] == name }
    }
}

extension ContentStore {
    /// Removes `names` from the index, under the same lock as `tag`.
    public func untag(_ names: Set<String>) throws {
        let lock = try FileLock.acquireBlocking(path + "/index.json.lock")
        defer { _ = lock }
        var index = try index()
        index.manifests.removeAll { names.contains($0.annotations?[Self.refNameAnnotation] ?? "") }
        try writeIndex(index)
    }
}
