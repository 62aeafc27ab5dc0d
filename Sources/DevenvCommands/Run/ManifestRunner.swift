import Foundation
import Manifest
import Sandbox

/// What `run` and `enter` take from `.devenv/devenv.toml` while building environments is not
/// there yet: the base image and the sandbox settings, refusing what would need a build.
enum ManifestRunner {
    static func path(project: String) -> String { project + "/.devenv/devenv.toml" }

    static func load(project: String, home: String) throws -> Manifest {
        let path = path(project: project)
        guard FileManager.default.fileExists(atPath: path) else {
            throw DevenvError.user("no \(path): create .devenv/devenv.toml with [base] image = \"debian:bookworm\", or pass --image REF")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.load(path: path, home: home)
        } catch let error as ManifestError {
            throw DevenvError.user(error.description)
        } catch {
            throw DevenvError.user("cannot read \(path): \(error.localizedDescription)")
        }
        if !manifest.packages.isEmpty || !manifest.setup.isEmpty {
            throw DevenvError.user("""
                \(path): [packages] and [[setup]] need devenv build, which is not supported yet
                  fix: remove them to run the base image as it is, or pass --image REF
                """)
        }
        return manifest
    }

    static func image(_ manifest: Manifest) throws -> String {
        switch manifest.base {
        case .image(let image):
            return image
        case .bootstrap(let suite, _):
            throw DevenvError.user("[base] bootstrap = \"\(suite)\" needs devenv build, which is not supported yet; use [base] image = \"\(suite)\" or pass --image REF")
        }
    }

    /// `[mounts]` as binds at the same path inside; a host path that does not exist is an error
    /// at its line, since binding nothing would hide the mistake.
    static func binds(_ manifest: Manifest, project: String) throws -> [SandboxSpec.Bind] {
        try manifest.mounts.map { mount in
            guard FileManager.default.fileExists(atPath: mount.hostPath) else {
                throw DevenvError.user("""
                    \(path(project: project)):\(mount.position): mount "\(mount.written)": \(mount.hostPath) does not exist on the host
                      fix: create it, or remove the line from [mounts]
                    """)
            }
            return SandboxSpec.Bind(source: EnvironmentLauncher.physical(mount.hostPath), target: mount.hostPath, readOnly: mount.readOnly)
        }
    }
}
