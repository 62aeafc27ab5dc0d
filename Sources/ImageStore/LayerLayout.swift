import OCI
import Sandbox

/// How unpacked layers are owned on the host. Overlayfs passes host owners through the sandbox's
/// id mapping as they are, so a rootless user with subordinate ids needs each layer unpacked in
/// the mapping the sandbox will use. keep-id (a normal run) and `--root` (the user's own id is
/// root) map the image's root to different host ids, so `--root` gets directories of its own
/// (`<chain id>-root`). Root and the single-id fallback have one layout for both.
public struct LayerLayout: Sendable {
    /// The mapping to unpack in; nil: unpack in-process (as root with the owners, else all the
    /// user's).
    public let mapping: IDMapping?
    /// Appended to the chain id to name the layer's directory in `layers/`.
    public let suffix: String

    public static func forInvoker(asRoot: Bool) -> LayerLayout {
        let mapping = IDMapping.forInvoker(asRoot: asRoot)
        guard mapping.mode == .subordinate else { return LayerLayout(mapping: nil, suffix: "") }
        return LayerLayout(mapping: mapping, suffix: asRoot ? "-root" : "")
    }

    public func key(_ chainID: Digest) -> String { chainID.hex + suffix }
}
