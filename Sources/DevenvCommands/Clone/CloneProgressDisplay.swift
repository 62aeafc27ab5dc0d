import Foundation
import Git
import ImageStore

#if canImport(Glibc)
import Glibc
#endif

/// Shows a clone's progress as git does: on a terminal one line per phase, redrawn in place
/// ("Receiving objects:  45% (450/1000), 1.2 MB"); in a log or pipe one plain line when each
/// phase is done; nothing with -q.
final class CloneProgressDisplay {
    enum Style { case terminal, plain, quiet }

    let style: Style
    private var current: CloneProgress?
    private var lastDraw = ContinuousClock.now - .seconds(1)

    init(style: Style) {
        self.style = style
    }

    func update(_ progress: CloneProgress) {
        if let current, current.phase != progress.phase { finish(current) }
        let phaseChanged = current?.phase != progress.phase
        current = progress
        guard style == .terminal else { return }
        // Redrawing on every callback (one per network read) would cost more than the clone.
        let now = ContinuousClock.now
        guard phaseChanged || now - lastDraw >= .milliseconds(100) else { return }
        lastDraw = now
        emit("\r\u{1B}[K" + Self.line(progress))
    }

    /// Ends the line of the phase that was running: with its final figures when the clone
    /// succeeded, as it stood when it failed.
    func end(succeeded: Bool) {
        if let current {
            if succeeded { finish(current) } else if style == .terminal { emit("\n") }
        }
        current = nil
    }

    private func finish(_ progress: CloneProgress) {
        switch style {
        case .terminal: emit("\r\u{1B}[K" + Self.line(progress) + ", done.\n")
        case .plain: emit(Self.line(progress) + ", done.\n")
        case .quiet: break
        }
    }

    /// Progress is not worth dying for: when the terminal is gone (a hangup), the clone must
    /// still get to remove what it made, so write errors are ignored here.
    private func emit(_ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            bytes = bytes.dropFirst(written)
        }
    }

    static func line(_ progress: CloneProgress) -> String {
        switch progress.phase {
        case .receiving:
            "Receiving objects: \(percent(progress.receivedObjects, progress.totalObjects)) (\(progress.receivedObjects)/\(progress.totalObjects)), \(Units.bytes(progress.receivedBytes))"
        case .resolving:
            "Resolving deltas: \(percent(progress.indexedDeltas, progress.totalDeltas)) (\(progress.indexedDeltas)/\(progress.totalDeltas))"
        case .checkingOut:
            "Updating files: \(percent(progress.checkedOutFiles, progress.totalFiles)) (\(progress.checkedOutFiles)/\(progress.totalFiles))"
        }
    }

    static func percent(_ done: Int, _ total: Int) -> String {
        let value = total == 0 ? 100 : done * 100 / total
        return String(repeating: " ", count: max(0, 3 - String(value).count)) + "\(value)%"
    }
}
