import AsyncHTTPClient
import Foundation
import NIOCore

/// A manifest or index as the registry sent it: the exact bytes (their digest is the identity)
/// and the media type that says how to read them.
public struct FetchedManifest: Sendable {
    public let data: Data
    public let mediaType: String
    public let digest: Digest

    public var descriptor: Descriptor {
        Descriptor(mediaType: mediaType, digest: digest, size: Int64(data.count))
    }
}

extension RegistryClient {
    /// Manifests are small; anything larger than this is not a manifest we should parse.
    static let manifestSizeLimit = 4 << 20

    /// Fetches a manifest by tag or digest. When asked by digest, the bytes must hash to it;
    /// otherwise a lying registry could substitute content for a pinned image.
    public func fetchManifest(_ ref: Reference, reference: String) async throws -> FetchedManifest {
        let response = try await send(
            .GET, ref, path: "manifests/\(reference)", headers: [("Accept", MediaType.manifestAccept)],
            what: "manifest \(ref.repository):\(reference)"
        )
        let body: ByteBuffer
        do { body = try await response.body.collect(upTo: Self.manifestSizeLimit) } catch {
            throw OCIError(.invalidContent, "manifest \(reference) from \(ref.registryHost) is larger than 4 MiB or was cut off: \(Self.describe(error))")
        }
        let data = Data(body.readableBytesView)
        let digest = Digest(hashing: data)
        if reference.hasPrefix("sha256:"), digest.description != reference {
            throw OCIError(.digestMismatch, "registry \(ref.registryHost) sent a manifest with digest \(digest) when asked for \(reference)")
        }
        let mediaType = Self.mediaType(of: data, contentType: response.headers.first(name: "Content-Type"))
        return FetchedManifest(data: data, mediaType: mediaType, digest: digest)
    }

    /// The media type a manifest declares in its body, else the Content-Type it came with.
    static func mediaType(of data: Data, contentType: String?) -> String {
        struct Probe: Decodable { var mediaType: String?; var manifests: [AnyDecodable]? }
        struct AnyDecodable: Decodable { init(from decoder: any Decoder) throws {} }
        if let probe = try? JSONDecoder().decode(Probe.self, from: data) {
            if let type = probe.mediaType, !type.isEmpty { return type }
            if probe.manifests != nil { return MediaType.ociIndex }
        }
        let header = contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
        return header ?? MediaType.ociManifest
    }
}
