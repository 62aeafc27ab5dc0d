import Foundation
import ImageStore
import Manifest
import Sandbox

/// `[volumes]`: one directory per volume under `envs/<id>/volumes/`, made on first use and owned
/// by the volume's user inside (`Manifest.volumeOwner`), bound read-write at its mount point.
/// They stay across down and up; `down --volumes` deletes them.
enum ServiceVolumes {
    /// The binds for `manifest`'s volumes, making and giving owners to those that are new.
    static func binds(_ manifest: Manifest, running: RunningEnvironment, spec: SandboxSpec, manifestPath: String) throws -> [SandboxSpec.Bind] {
        guard !manifest.volumes.isEmpty else { return [] }
        try HostPath.makeDirectory(running.volumesDirectory, mode: 0o700)
        return try manifest.volumes.map { volume in
            let path = running.volumePath(volume.name)
            if access(path, F_OK) != 0 {
                let owner = try ServiceAccount.resolve(manifest.volumeOwner(volume), for: "volume \"\(volume.name)\" belongs to", spec: spec,
                                                       manifestPath: manifestPath, position: volume.position)
                try create(path, owner: owner, identity: spec.identity, scratch: running.volumesDirectory)
            }
            return SandboxSpec.Bind(source: path, target: volume.target)
        }
    }

    /// Made under a temporary name and renamed once it has its owner: a volume directory is
    /// either complete or absent.
    private static func create(_ path: String, owner: ServiceAccount, identity: IDMapping, scratch: String) throws {
        let partial = scratch + "/.new-" + UUID().uuidString
        guard mkdir(partial, 0o700) == 0 else {
            throw DevenvError.internal("cannot create \(partial): \(String(cString: strerror(errno)))")
        }
        do {
            try giveOwner(partial, owner: owner, identity: identity)
            guard rename(partial, path) == 0 else {
                throw DevenvError.internal("cannot rename \(partial) to \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? StoreCleaner.remove([partial], mapping: identity.mode == .subordinate ? identity : nil)
            throw error
        }
    }

    /// Rootless with subordinate ids, only root of a user namespace with the sandbox's mapping
    /// can chown to a mapped id: the hidden `own-tree` helper does it there.
    private static func giveOwner(_ path: String, owner: ServiceAccount, identity: IDMapping) throws {
        switch identity.mode {
        case .root:
            // Root's sandboxes see the store through idmapped mounts that show host id k as id
            // k inside (csandbox_config.idmap_uid_map): the owner's own numbers, as in layers.
            guard chown(path, owner.uid, owner.gid) == 0 else {
                throw DevenvError.internal("cannot give \(path) to \(owner.name): \(String(cString: strerror(errno)))")
            }
        case .subordinate:
            guard owner.uid != identity.uid || owner.gid != identity.gid else { return }
            let result: UserNamespaceProcess.Result
            do {
                result = try UserNamespaceProcess.run([try HelperCommand.executable(), "own-tree", path, String(owner.uid), String(owner.gid)],
                                                      environment: HelperCommand.environment, mapping: identity)
            } catch {
                throw DevenvError.internal("cannot give \(path) to \(owner.name) in the sandbox's user namespace: \(error)")
            }
            guard result.status == 0 else {
                throw DevenvError.internal("cannot give \(path) to \(owner.name): \(String(decoding: result.output, as: UTF8.self))")
            }
        case .single:
            // Only the user's own id exists; ServiceAccount.resolve refused any other.
            return
        }
    }

    /// Deletes every volume of the environment (`down --volumes`); returns their names.
    static func remove(_ running: RunningEnvironment, identity: IDMapping) throws -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: running.volumesDirectory)) ?? []).sorted()
        guard !names.isEmpty else { return [] }
        try StoreCleaner.remove([running.volumesDirectory], mapping: identity.mode == .subordinate ? identity : nil)
        return names.filter { !$0.hasPrefix(".") }
    }
}
