import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C (and SIGTERM, SIGHUP) during a clone into a request to stop, which the clone
/// sees at its next progress report and answers by removing what it made. A second signal, for
/// a clone stuck where it reports nothing, exits at once with 128+N.
final class InterruptFlag: @unchecked Sendable {
    static let signals = [SIGINT, SIGTERM, SIGHUP]

    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// The signal that asked to stop, if one did.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    init() {
        for number in Self.signals {
            Glibc.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.receive(number) }
            source.resume()
            sources.append(source)
        }
    }

    private func receive(_ number: Int32) {
        lock.lock()
        let first = received == nil
        if first { received = number }
        lock.unlock()
        if !first { exit(128 + number) }
    }

    /// Gives the signals their default action back, before devenv runs or becomes another program
    /// (an ignored signal stays ignored across execve).
    func stop() {
        for source in sources { source.cancel() }
        sources = []
        for number in Self.signals { Glibc.signal(number, SIG_DFL) }
    }
}
