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

    /// How long something has run, as `ps` shows it: "45s", "12m03s", "3h07m", "2d04h".
    public static func uptime(_ seconds: Double) -> String {
        let total = seconds.isFinite ? max(0, Int(min(seconds, 1e15))) : 0
        let (days, hours, minutes, rest) = (total / 86400, total / 3600 % 24, total / 60 % 60, total % 60)
        if days > 0 { return String(format: "%dd%02dh", days, hours) }
        if hours > 0 { return String(format: "%dh%02dm", hours, minutes) }
        if minutes > 0 { return String(format: "%dm%02ds", minutes, rest) }
        return "\(rest)s"
    }
}
