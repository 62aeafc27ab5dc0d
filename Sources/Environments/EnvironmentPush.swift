import Foundation
import ImageStore
import Manifest
import OCI

/// `devenv push`: the published environment (`PublishedEnvironment`) to a registry, tagged
/// twice: the tag given (moving) and `lock-<digest>`, which names exactly this lock.
public enum EnvironmentPush {
    /// Where to push: `given` (the command's REF), else the manifest's `[share] image`.
    public static func target(_ given: String?, manifest: Manifest, project: Project) throws -> Reference {
        let example = "registry.example.com/team/\(Project.safeName(project.environmentName(manifest)).lowercased())"
        guard let name = given ?? manifest.shareImage else {
            throw DevenvError.user("""
                nowhere to push: no REF given and \(project.manifestPath) has no [share] image
                  fix: run `devenv push \(example)`, or add
                    [share]
                    image = "\(example)"
                """)
        }
        let ref: Reference
        do { ref = try Reference(parsing: name) } catch {
            throw DevenvError.user("cannot push to \(name): \(error)")
        }
        guard ref.digest == nil else {
            throw DevenvError.user("cannot push to \(name): a digest names one image, which a push cannot publish to\n  fix: give the repository, optionally with a tag")
        }
        return ref
    }

    /// Pushes `environment` to `ref`; returns the tags it is under.
    public static func push(_ environment: PublishedEnvironment, to ref: Reference, project: Project,
                            onEvent: @escaping @Sendable (PushEvent) -> Void) async throws -> [String] {
        let tags = [ref.tag ?? "latest", environment.lockTag]
        let client = RegistryClient(credentials: try Credentials.load())
        do {
            _ = try await client.push(manifest: environment.manifest, mediaType: MediaType.ociManifest, blobs: environment.blobs,
                                      to: ref, tags: tags, mountFrom: mountSources(for: ref, base: environment.baseImage), progress: onEvent)
            await client.shutdown()
            return tags
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// The base image's repository when it is on the same registry: the registry can link its
    /// layers instead of receiving them again.
    private static func mountSources(for ref: Reference, base image: String?) -> [String] {
        guard let image, let base = try? Reference(parsing: image),
              base.registryHost == ref.registryHost, base.repository != ref.repository else { return [] }
        return [base.repository]
    }
}
