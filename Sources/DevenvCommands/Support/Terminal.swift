import Foundation
import ImageStore

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

    /// Rows (the first the header) on stdout as columns two spaces apart, each as wide as its
    /// widest cell.
    static func table(_ rows: [[String]]) {
        guard let header = rows.first else { return }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            out(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces))
        }
    }
}
