/// The media types devenv reads. Docker's schema 2 types are accepted beside OCI's because most
/// registries still serve them.
public enum MediaType {
    public static let ociIndex = "application/vnd.oci.image.index.v1+json"
    public static let ociManifest = "application/vnd.oci.image.manifest.v1+json"
    public static let ociConfig = "application/vnd.oci.image.config.v1+json"
    public static let ociLayer = "application/vnd.oci.image.layer.v1.tar"
    public static let ociLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
    public static let ociLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
    public static let ociLayerNondistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    public static let dockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
    public static let dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
    public static let dockerConfig = "application/vnd.docker.container.image.v1+json"
    public static let dockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    public static let dockerForeignLayerGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

    public static let indexTypes: Set<String> = [ociIndex, dockerManifestList]
    public static let manifestTypes: Set<String> = [ociManifest, dockerManifest]
    public static let layerTypes: Set<String> = [
        ociLayer, ociLayerGzip, ociLayerZstd, ociLayerNondistributableGzip, dockerLayerGzip, dockerForeignLayerGzip,
    ]

    /// The OCI name of a layer type: Docker's names for the same bytes (a pushed image mixing
    /// the two confuses some tools); OCI's and unknown ones as they are.
    public static func ociEquivalent(of layerType: String) -> String {
        switch layerType {
        case dockerLayerGzip: ociLayerGzip
        case dockerForeignLayerGzip: ociLayerNondistributableGzip
        default: layerType
        }
    }

    /// What we tell a registry we understand, best first.
    public static let manifestAccept = [ociIndex, ociManifest, dockerManifestList, dockerManifest].joined(separator: ", ")
}
