import Glibc

/// Why a layer could not be unpacked or archived.
///
/// `entry` is the member path exactly as the archive spells it (not as normalized), so the message
/// points at the tar member a person would look for with `tar -tvf`.
public struct LayerError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The path, or a hardlink target, is absolute or contains "..".
        case pathEscapes
        /// A parent component is a symlink planted by an earlier entry; it is never followed.
        case symlinkInPath
        /// A parent component exists but is not a directory.
        case notADirectory
        /// A `.wh.` name that is not a valid OCI whiteout.
        case invalidWhiteout
        /// An xattr in the `trusted.overlay.` or `user.overlay.` namespace.
        case forbiddenXattr
        /// A device node where devices are not allowed.
        case deviceNotAllowed
        /// A hardlink whose target is not an earlier, linkable entry of this layer.
        case invalidHardlink
        /// An entry that cannot be represented: unsupported type, a non-directory named ".", ...
        case invalidEntry
        /// The archive itself is unreadable: corrupt, truncated, unknown compression or format.
        case corruptArchive
        /// The blob, or the uncompressed tar in it, is not what the image says it is: the bytes hash
        /// to another digest than the blob's digest or the layer's diff_id.
        case digestMismatch
        /// The target directory is not usable (missing, not empty).
        case invalidTarget
        /// The directory to archive is not usable (missing, not a directory, a symlink).
        case invalidSource
        /// A file changed while it was being archived: replaced by another, or shorter than its size.
        case sourceChanged
        /// A system call failed for a reason that is not the archive's fault (disk full, EMFILE, ...).
        case system
    }

    public var code: Code
    /// The archive member's path as written in the archive, or as it would be written when archiving;
    /// nil for errors about the whole archive.
    public var entry: String?
    public var reason: String
    /// The errno of the failed system call, when one failed.
    public var errno: Int32?

    public init(code: Code, entry: String?, reason: String, errno: Int32? = nil) {
        self.code = code
        self.entry = entry
        self.reason = reason
        self.errno = errno
    }

    public var description: String {
        var text = entry.map { "layer entry \(LayerError.quoted($0)): \(reason)" } ?? "layer: \(reason)"
        if let errno {
            text += ": " + String(cString: strerror(errno))
        }
        return text
    }

    /// Archive names are attacker-chosen; escaping control characters keeps them from rewriting the
    /// user's terminal when the message is printed.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f || (0x80..<0xa0).contains(scalar.value):
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
