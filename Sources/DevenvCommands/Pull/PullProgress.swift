import Foundation
import ImageStore
import OCI

/// Shows a pull as it happens. On a terminal: one line per layer, redrawn in place with bytes
/// and rate. Otherwise (CI logs, pipes): one plain line per finished layer, no control codes.
final class PullProgress: @unchecked Sendable {
    private struct Layer {
        let digest: Digest
        let size: Int64
        var received: Int64 = 0
        var resumedAt: Int64 = 0
        var state = "waiting"
        var started: ContinuousClock.Instant?
        var finished: ContinuousClock.Instant?
    }

    private let lock = NSLock()
    private let live: Bool
    private let quiet: Bool
    private let verbose: Bool
    private var layers: [Layer] = []
    private var drawnLines = 0
    private var lastDraw = ContinuousClock.now
    private let clock = ContinuousClock()

    init(quiet: Bool, verbose: Bool = false, live: Bool = Terminal.stderrIsTTY) {
        self.quiet = quiet
        self.verbose = verbose
        self.live = live && !quiet
    }

    @Sendable func handle(_ event: ImagePullEvent) {
        switch event {
        case .pulling(let ref): note("Pulling \(ref)")
        case .transfer(let event): transfer(event)
        case .layer(let digest, let phase):
            let text = switch phase {
            case .waitingForAnother: "waiting for another devenv to unpack it"
            case .unpacking: "unpacking"
            case .unpacked(let elapsed): "unpacked in \(Units.seconds(elapsed))"
            case .alreadyUnpacked: "already unpacked"
            }
            layerNote(digest, text)
        case .unpackSummary(let digest, let summary):
            if verbose {
                note("layer \(digest.short): \(summary.entries) entries, \(Units.bytes(summary.bytes)), \(summary.whiteouts) whiteouts, \(summary.opaqueDirectories) opaque directories")
            }
        case .notReproduced(let lost):
            note("note: unpacked without root, so \(lost.joined(separator: " and ")) could not be reproduced")
        case .finished: finish()
        }
    }

    private func note(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        say(line)
    }

    private func transfer(_ event: PullEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .resolved(let manifest, let platform, let descriptors):
            layers = descriptors.map { Layer(digest: $0.digest, size: $0.size) }
            let count = descriptors.count
            let total = Units.bytes(descriptors.reduce(0) { $0 + $1.size })
            say("manifest \(manifest)\(platform.map { " (\($0))" } ?? ""): \(count) layer\(count == 1 ? "" : "s"), \(total)")
        case .blobStarted(let descriptor, let resumedAt):
            update(descriptor.digest) {
                $0.state = "downloading"
                $0.started = clock.now
                $0.resumedAt = resumedAt
                $0.received = resumedAt
            }
            if resumedAt > 0 { say("layer \(descriptor.digest.short): resuming at \(Units.bytes(resumedAt))") }
        case .blobProgress(let digest, let received, _):
            update(digest) { $0.received = received }
        case .blobFinished(let digest, let outcome):
            update(digest) {
                $0.finished = clock.now
                $0.received = $0.size
                $0.state = switch outcome {
                case .alreadyPresent: "already present"
                case .downloaded: "downloaded"
                case .replacedCorrupt: "was corrupt in the store, downloaded again"
                }
            }
            if let layer = layers.first(where: { $0.digest == digest }) { sayFinished(layer) }
        case .retrying(let digest, let attempt, let reason):
            say("layer \(digest.short): retrying (attempt \(attempt + 1) of 5): \(reason)")
        }
        redraw()
    }

    /// A line about unpacking (or any later phase) for one layer.
    private func layerNote(_ digest: Digest, _ text: String) {
        lock.lock()
        defer { lock.unlock() }
        update(digest) { $0.state = text }
        if !live && !quiet { Terminal.note("layer \(digest.short): \(text)") }
        redraw(force: true)
    }

    private func finish() {
        lock.lock()
        defer { lock.unlock() }
        redraw(force: true)
    }

    private func update(_ digest: Digest, _ change: (inout Layer) -> Void) {
        if let i = layers.firstIndex(where: { $0.digest == digest }) { change(&layers[i]) }
    }

    private func say(_ line: String) {
        guard !quiet else { return }
        if live {
            clearDrawn()
            Terminal.note(line)
            drawnLines = 0
        } else {
            Terminal.note(line)
        }
    }

    private func sayFinished(_ layer: Layer) {
        guard !live, !quiet else { return }
        var line = "layer \(layer.digest.short): \(layer.state) \(Units.bytes(layer.size))"
        if let start = layer.started, let end = layer.finished {
            let elapsed = end - start
            line += " in \(Units.seconds(elapsed)) (\(rate(layer.received - layer.resumedAt, elapsed)))"
        }
        Terminal.note(line)
    }

    private func rate(_ bytes: Int64, _ elapsed: Duration) -> String {
        let seconds = max(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 0.001)
        return Units.bytes(Int64(Double(bytes) / seconds)) + "/s"
    }

    private func clearDrawn() {
        if drawnLines > 0 { Terminal.err("\u{1B}[\(drawnLines)A\u{1B}[J") }
    }

    /// Redraws at most ten times a second; more would cost more than the download it reports.
    private func redraw(force: Bool = false) {
        guard live else { return }
        let now = clock.now
        guard force || now - lastDraw > .milliseconds(100) else { return }
        lastDraw = now
        clearDrawn()
        var text = ""
        for layer in layers {
            var line = "  \(layer.digest.short)  \(layer.state)"
            if layer.state == "downloading" {
                line += "  \(Units.bytes(layer.received)) / \(Units.bytes(layer.size))"
                if let start = layer.started { line += "  \(rate(layer.received - layer.resumedAt, now - start))" }
            } else if layer.state != "waiting" {
                line += "  \(Units.bytes(layer.size))"
            }
            text += line + "\n"
        }
        Terminal.err(text)
        drawnLines = layers.count
    }
}
