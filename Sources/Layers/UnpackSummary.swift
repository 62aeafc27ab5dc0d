/// What `LayerUnpacker.unpack` did, for logs and for callers that want to warn about what a
/// rootless unpack could not reproduce.
public struct UnpackSummary: Sendable, Equatable, Codable {
    /// Archive members read, including whiteouts and skipped ones.
    public var entries = 0
    /// File data bytes written (holes of sparse files are not counted).
    public var bytes: Int64 = 0
    /// `.wh.NAME` members turned into 0/0 character devices.
    public var whiteouts = 0
    /// `.wh..wh..opq` members turned into `user.overlay.opaque` on their directory.
    public var opaqueDirectories = 0
    /// Whiteouts below a path this layer replaced with a symlink or file: nothing left to hide.
    public var ignoredWhiteouts = 0
    /// Device nodes under `dev/` left out because devices were not allowed.
    public var skippedDevices = 0
    /// Extended attributes left out: `security.*` other than `security.capability`, and those the
    /// filesystem or our privileges refused (EPERM, ENOTSUP).
    public var skippedXattrs = 0

    public init() {}
}
