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
}
