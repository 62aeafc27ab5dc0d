import Foundation
import ImageStore
import Manifest
import Sandbox

/// What `run` and `enter` take from `.devenv/devenv.toml` beyond the environment's layers.
public enum ManifestRunner {
    /// `[mounts]` as binds at the same path inside; a host path that does not exist is an error
    /// at its line, since binding nothing would hide the mistake.
    public static func binds(_ manifest: Manifest, project: String) throws -> [SandboxSpec.Bind] {
        try manifest.mounts.map { mount in
            guard FileManager.default.fileExists(atPath: mount.hostPath) else {
                throw DevenvError.user("""
                    \(Project(directory: project, workingDirectory: project).manifestPath):\(mount.position): mount "\(mount.written)": \(mount.hostPath) does not exist on the host
                      fix: create it, or remove the line from [mounts]
                    """)
            }
            return SandboxSpec.Bind(source: HostPath.physical(mount.hostPath), target: mount.hostPath, readOnly: mount.readOnly)
        }
    }
}
