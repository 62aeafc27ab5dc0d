import Foundation
import Glibc
import Synchronization

/// The timeout for what the socket options cannot reach: libgit2's ssh transport hands the
/// connected socket to libssh2, which reads and writes it itself and, blocked, polls it without
/// a limit. While a clone runs, a watchdog shuts down the open sockets once nothing was heard
/// for `timeoutSeconds`: no data through the stream and no callback from libgit2 (progress on
/// the side band, objects arriving, a credential asked for), so a silent ssh server ends the
/// clone as a silent git:// or https server does.
extension TimedSocketStream {
    private struct Watched {
        var sockets: [Int32: String] = [:]
        var lastHeard = ContinuousClock.now
    }

    private static let watched = Mutex(Watched())

    /// Something came from the server or libgit2 moved on.
    static func heard() {
        watched.withLock { $0.lastHeard = .now }
    }

    static func opened(_ socket: Int32, endpoint: String) {
        watched.withLock {
            $0.sockets[socket] = endpoint
            $0.lastHeard = .now
        }
    }

    /// Before the descriptor is closed, so the watchdog never shuts down a reused number.
    static func closing(_ socket: Int32) {
        _ = watched.withLock { $0.sockets.removeValue(forKey: socket) }
    }

    /// Runs `body` with the watchdog on.
    static func watching<T>(_ body: () throws(GitError) -> T) throws(GitError) -> T {
        let done = Atomic<Bool>(false)
        heard()
        let thread = Thread {
            while !done.load(ordering: .acquiring) {
                Thread.sleep(forTimeInterval: 0.5)
                shutDownIfSilent()
            }
        }
        thread.start()
        defer { done.store(true, ordering: .releasing) }
        return try body()
    }

    private static func shutDownIfSilent() {
        watched.withLock { state in
            guard !state.sockets.isEmpty, ContinuousClock.now - state.lastHeard > .seconds(timeoutSeconds) else { return }
            for (socket, endpoint) in state.sockets {
                recordStall(endpoint)
                shutdown(socket, Int32(SHUT_RDWR))
            }
            state.sockets = [:]
        }
    }
}
