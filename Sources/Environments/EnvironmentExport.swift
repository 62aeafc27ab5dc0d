import Foundation
import ImageStore
import Layers
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// `devenv export`: the published environment (`PublishedEnvironment`) as one image archive.
/// `oci` is an OCI image layout in a tar (`skopeo copy oci-archive:`, `podman load`); `docker`
/// adds the `manifest.json` `docker load` reads, beside the same layout, as `docker save` has
/// written since Docker 25, so one file serves both.
public enum EnvironmentExport {
    public enum Format: String, CaseIterable, Sendable {
        case oci, docker
    }

    /// Writes the archive to `path` whole or not at all (a partial file beside it, renamed at the
    /// end); `name` is the `repository:tag` loaders give the image.
    public static func write(_ environment: PublishedEnvironment, to path: String, format: Format, name: String) throws {
        let partial = path + ".partial"
        do {
            let writer = try TarFileWriter(path: partial)
            try writer.add("oci-layout", data: Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8))
            try writer.add("index.json", data: try index(environment, name: name))
            if format == .docker { try writer.add("manifest.json", data: try dockerManifest(environment, name: name)) }
            try writer.directory("blobs")
            try writer.directory("blobs/sha256")
            try writer.add(blobPath(environment.digest), data: environment.manifest)
            for blob in environment.blobs {
                try writer.add(blobPath(blob.descriptor.digest), file: blob.path, size: blob.descriptor.size)
            }
            try writer.finish()
            guard rename(partial, path) == 0 else {
                throw DevenvError.internal("cannot move \(partial) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch let error as LayerError {
            unlink(partial)
            throw DevenvError.user("cannot write \(path): \(error.reason)\(error.errno.map { ": " + String(cString: strerror($0)) } ?? "")")
        } catch {
            unlink(partial)
            throw error
        }
    }

    /// Whether `name` is what loaders take as an image's name: a reference with a tag and no
    /// digest, as written (its registry, if any, is part of the name).
    public static func isImageName(_ name: String) -> Bool {
        guard name.count <= 255, let reference = try? Reference(parsing: name), reference.digest == nil, let tag = reference.tag,
              name.hasSuffix(":" + tag) else { return false }
        let repository = name.dropLast(tag.count + 1)
        return repository == repository.lowercased()
    }

    /// `devenv/<name>:latest`, the environment's name made a valid repository component
    /// (lower case, separators only between letters and digits).
    public static func imageName(_ environmentName: String) -> String {
        var component = ""
        for character in environmentName.lowercased() {
            if character.isASCII, character.isLetter || character.isNumber {
                component.append(character)
            } else if let last = component.last, last.isLetter || last.isNumber {
                component.append(character == "." || character == "_" ? character : "-")
            }
        }
        while let last = component.last, !(last.isLetter || last.isNumber) { component.removeLast() }
        return "devenv/\(component.isEmpty ? "environment" : component):latest"
    }

    static func blobPath(_ digest: Digest) -> String { "blobs/sha256/\(digest.hex)" }

    private static func index(_ environment: PublishedEnvironment, name: String) throws -> Data {
        var descriptor = environment.descriptor
        descriptor.annotations = [
            "org.opencontainers.image.ref.name": String(name.split(separator: ":").last ?? "latest"),
            "io.containerd.image.name": "docker.io/" + name,
        ]
        return try encoded(ImageIndex(manifests: [descriptor], mediaType: MediaType.ociIndex))
    }

    private static func dockerManifest(_ environment: PublishedEnvironment, name: String) throws -> Data {
        struct Entry: Encodable {
            let Config: String
            let RepoTags: [String]
            let Layers: [String]
        }
        return try encoded([Entry(Config: blobPath(environment.config.digest), RepoTags: [name],
                                  Layers: environment.layers.map { blobPath($0.digest) })])
    }

    private static func encoded(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}
