import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Turns Ctrl-C (and SIGTERM, SIGHUP) during a clone into a request to stop, which the clone
/// sees at its next progress report and answers by removing what it made. A clone stuck where
/// it reports nothing (a silent server) is not waited for long: after a grace period, or at a
/// second signal, its scratch directory is removed here and devenv exits with 128+N.
final class InterruptFlag: @unchecked Sendable {
    static let signals = [SIGINT, SIGTERM, SIGHUP]
    static let grace = DispatchTimeInterval.seconds(2)

    /// The directory the clone is made in, removed when devenv stops the clone itself.
    let scratch: String
    private let lock = NSLock()
    private var received: Int32?
    private var finished = false
    private var sources: [DispatchSourceSignal] = []

    /// The signal that asked to stop, if one did.
    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }

    init(scratch: String) {
        self.scratch = scratch
        // A parent may have started devenv with these blocked (the mask is inherited): the
        // handlers must see them.
        var handled = sigset_t()
        sigemptyset(&handled)
        for number in Self.signals { sigaddset(&handled, number) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
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
        if first {
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.grace) { [self] in abandon(number) }
        } else {
            abandon(number)
        }
    }

    /// Gives up on a clone that does not stop: removes its directory and exits, unless the
    /// clone has ended meanwhile.
    private func abandon(_ number: Int32) {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        try? FileManager.default.removeItem(atPath: scratch)
        exit(128 + number)
    }

    /// Ends the watch (the clone is over) and gives the signals their default action back,
    /// before devenv runs or becomes another program (an ignored signal stays ignored across
    /// execve).
    func stop() {
        lock.lock()
        finished = true
        lock.unlock()
        for source in sources { source.cancel() }
        sources = []
        for number in Self.signals { Glibc.signal(number, SIG_DFL) }
    }
}
