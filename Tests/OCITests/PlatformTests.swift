import Foundation
import OCI
import Testing

@Suite struct PlatformTests {
    @Test func normalisesArchitectures() {
        #expect(Platform(os: "linux", architecture: "x86_64").normalized == Platform(os: "linux", architecture: "amd64"))
        #expect(Platform(os: "linux", architecture: "aarch64").normalized == Platform(os: "linux", architecture: "arm64"))
        #expect(Platform(os: "linux", architecture: "arm64").accepts(Platform(os: "linux", architecture: "arm64", variant: "v8")))
        #expect(!Platform(os: "linux", architecture: "amd64").accepts(Platform(os: "linux", architecture: "arm64")))
    }

    @Test func picksTheHostManifestFromAnIndexSkippingAttestations() throws {
        let d = { (c: String) in try Digest("sha256:" + String(repeating: c, count: 64)) }
        let index = ImageIndex(manifests: [
            Descriptor(mediaType: MediaType.ociManifest, digest: try d("a"), size: 1, platform: Platform(os: "unknown", architecture: "unknown")),
            Descriptor(mediaType: MediaType.ociManifest, digest: try d("b"), size: 1, platform: Platform(os: "linux", architecture: "arm64", variant: "v8")),
            Descriptor(mediaType: MediaType.ociManifest, digest: try d("c"), size: 1, platform: Platform(os: "linux", architecture: "amd64")),
        ])
        #expect(index.manifest(for: Platform(os: "linux", architecture: "x86_64"))?.digest == (try d("c")))
        #expect(index.manifest(for: Platform(os: "linux", architecture: "aarch64"))?.digest == (try d("b")))
        #expect(index.manifest(for: Platform(os: "linux", architecture: "s390x")) == nil)
        #expect(index.platforms.map(\.description) == ["linux/arm64/v8", "linux/amd64"])
    }
}
