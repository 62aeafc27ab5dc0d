import Foundation
import Layers
import OCI
import Sandbox

#if canImport(Glibc)
import Glibc
#endif

/// A built layer's OCI blob: archived from its directory and adopted into the content store.
public enum LayerBlob {
    public struct Archive: Codable {
        public var digest: String
        public var size: Int64
        public var diffID: String

        public init(_ archive: LayerArchive) {
            digest = archive.digest
            size = archive.size
            diffID = archive.diffID
        }
    }

    /// A layer blob in the content store: its descriptor (annotated with the layer's key) and
    /// diff id, what an image manifest and config list.
    public struct Stored: Sendable {
        public var descriptor: Descriptor
        public var diffID: Digest

        public init(descriptor: Descriptor, diffID: Digest) {
            self.descriptor = descriptor
            self.diffID = diffID
        }
    }

    /// Archives `directory` (owned as `identity` maps ids) into the store.
    public static func store(directory: String, key: String, content: ContentStore, identity: IDMapping,
                      layout: LayerLayout) throws -> Stored {
        let output = "\(content.stagingDirectory)/layer-\(key).\(UUID().uuidString).tar.gz"
        let archive: Archive
        if let mapping = layout.mapping {
            let arguments = [try HelperCommand.executable(), "archive-layer", "--directory", directory, "--output", output]
            let result: UserNamespaceProcess.Result
            do { result = try UserNamespaceProcess.run(arguments, environment: HelperCommand.environment, mapping: mapping) } catch {
                throw DevenvError.internal("cannot archive layer \(key) in the sandbox's user namespace: \(error)")
            }
            guard result.status == 0, let decoded = try? JSONDecoder().decode(Archive.self, from: Data(result.output)) else {
                throw DevenvError.internal("cannot archive layer \(key): \(String(decoding: result.output, as: UTF8.self))")
            }
            archive = decoded
        } else {
            // Without subordinate ids the host owner of everything is the user, who is root in
            // the build; the archive records what the build saw.
            let single = identity.mode == .single
            let uid = getuid(), gid = getgid()
            let archiver = LayerArchiver(hostToArchiveUID: { single && $0 == uid ? 0 : $0 },
                                         hostToArchiveGID: { single && $0 == gid ? 0 : $0 })
            do { archive = Archive(try archiver.archive(directory: directory, to: output)) } catch {
                unlink(output)
                throw DevenvError.internal("cannot archive layer \(key): \(error)")
            }
        }
        let digest = try Digest("sha256:" + archive.digest)
        try content.adopt(file: output, as: digest)
        let descriptor = Descriptor(mediaType: MediaType.ociLayerGzip, digest: digest, size: archive.size,
                                    annotations: [EnvironmentImage.layerKeyAnnotation: key])
        return Stored(descriptor: descriptor, diffID: try Digest("sha256:" + archive.diffID))
    }
}
