import Foundation

/// Sizes and durations as devenv writes them in messages.
public enum Units {
    /// `12.3 MB`, decimal units as `docker images` and `du -h --si` print them.
    public static func bytes(_ n: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(n)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(n) B" : String(format: value < 10 ? "%.1f %@" : "%.0f %@", value, units[unit])
    }

    public static func seconds(_ duration: Duration) -> String {
        let s = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: s < 10 ? "%.2fs" : "%.1fs", s)
    }
}
