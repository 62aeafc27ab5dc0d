import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Writes to the user's terminal or log: stderr for progress and messages (so that data on
/// stdout stays clean for pipes), stdout for results.
enum Terminal {
    static let stderrIsTTY = isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    static func out(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func err(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func note(_ line: String) { err(line + "\n") }

    /// `12.3 MB`, decimal units as `docker images` and `du -h --si` print them.
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    static func seconds(_ duration: Duration) -> String {
        let s = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: s < 10 ? "%.2fs" : "%.1fs", s)
    }
}
