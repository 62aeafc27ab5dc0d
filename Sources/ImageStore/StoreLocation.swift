import Foundation
import Layers
import OCI
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// The store's directories (docs/architecture.md, "Store layout"): `oci/`, `layers/`, `envs/`,
/// `tmp/`.
public struct StoreLocation: Sendable {
    public let root: String

    public init(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if let explicit, !explicit.isEmpty {
            root = Self.absolute(explicit)
        } else if let home = environment["DEVENV_HOME"], !home.isEmpty {
            root = Self.absolute(home)
        } else if geteuid() == 0 {
            root = "/var/lib/devenv"
        } else if let xdg = environment["XDG_DATA_HOME"], xdg.hasPrefix("/") {
            root = xdg + "/devenv"
        } else {
            root = (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/devenv"
        }
        try makePrivate()
    }

    public var oci: String { root + "/oci" }
    public var layers: String { root + "/layers" }
    public var envs: String { root + "/envs" }
    public var tmp: String { root + "/tmp" }

    public func contentStore() throws -> ContentStore { try ContentStore(path: oci, tmpDirectory: tmp) }
    public func layerStore() -> LayerStore { LayerStore(path: layers, tmpDirectory: tmp) }

    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        if path == "~" || path.hasPrefix("~/") { return NSHomeDirectory() + path.dropFirst() }
        return FileManager.default.currentDirectoryPath + "/" + path
    }
}
