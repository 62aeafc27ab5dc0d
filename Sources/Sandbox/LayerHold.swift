import CLaunch
import Foundation

/// A running sandbox's hold on its layer directories (`claunch_hold_layers`, shared with the fast
/// start): while it exists, `devenv gc` and `build --no-cache` delete none of them.
public final class LayerHold: @unchecked Sendable {
    private let fd: Int32
    private let path: String

    /// Holds `layers` (directory names in `layersDirectory`).
    public init(layersDirectory: String, layers: [String]) throws(SandboxError) {
        var held = [CChar](repeating: 0, count: Int(PATH_MAX))
        let arena = CArena()
        let fd = claunch_hold_layers(layersDirectory, arena.pointerArray(layers), layers.count, &held, held.count)
        guard fd >= 0 else {
            throw SandboxError(.host, "cannot mark the layers in use in \(layersDirectory)/\(CLAUNCH_IN_USE_DIRECTORY): \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        self.path = String(cString: held)
    }

    deinit { claunch_release_layers(fd, path) }

    /// What every live hold names, with the store-wide lock that keeps new holds out: delete
    /// layers only while `lock` is alive.
    public static func inUse(layersDirectory: String) throws(SandboxError) -> (names: Set<String>, lock: RemovalLock) {
        var names: UnsafeMutablePointer<CChar>?
        let guardFD = claunch_layers_in_use(layersDirectory, &names)
        guard guardFD >= 0, let names else {
            throw SandboxError(.host, "cannot read the layers in use in \(layersDirectory)/\(CLAUNCH_IN_USE_DIRECTORY): \(String(cString: strerror(errno)))")
        }
        defer { free(names) }
        let list = String(cString: names).split(separator: "\n").map(String.init)
        return (Set(list), RemovalLock(fd: guardFD))
    }

    /// The exclusive store-wide lock `inUse` took.
    public final class RemovalLock: @unchecked Sendable {
        private let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }
}
