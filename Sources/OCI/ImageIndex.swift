/// An OCI image index or a Docker manifest list: the per-platform table of contents of an image.
public struct ImageIndex: Codable, Sendable {
    public var schemaVersion: Int
    public var mediaType: String?
    public var manifests: [Descriptor]
    public var annotations: [String: String]?

    public init(manifests: [Descriptor], mediaType: String? = nil) {
        self.schemaVersion = 2
        self.mediaType = mediaType
        self.manifests = manifests
    }

    /// The first image manifest that runs on `platform`, skipping attestation manifests that
    /// BuildKit stores as `unknown/unknown`.
    public func manifest(for platform: Platform) -> Descriptor? {
        manifests.first { desc in
            guard MediaType.manifestTypes.contains(desc.mediaType) || MediaType.indexTypes.contains(desc.mediaType) else { return false }
            guard let p = desc.platform else { return false }
            return platform.accepts(p)
        }
    }

    public var platforms: [Platform] { manifests.compactMap(\.platform).filter { $0.os != "unknown" } }
}
