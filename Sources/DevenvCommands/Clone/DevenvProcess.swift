import Foundation
import ImageStore

#if canImport(Glibc)
import Glibc
#endif

/// This same devenv binary, run again for the next step (`clone` → `build` → `enter`), so the
/// step behaves exactly as if the user had typed it.
enum DevenvProcess {
    static let childSignals = [SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGPIPE]

    /// Runs devenv with `arguments` on this terminal (stdin, stdout, stderr inherited) and
    /// returns its exit status, 128+N when signal N ended it. Meanwhile devenv ignores Ctrl-C and
    /// Ctrl-\ as system(3) does: the terminal sends them to the child too, which decides.
    static func run(_ arguments: [String]) throws -> Int32 {
        let path = try HelperCommand.executable()
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t(), empty = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&empty)
        for number in childSignals { sigaddset(&defaults, number) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let previousInterrupt = signal(SIGINT, SIG_IGN), previousQuit = signal(SIGQUIT, SIG_IGN)
        defer {
            signal(SIGINT, previousInterrupt)
            signal(SIGQUIT, previousQuit)
        }
        var pid: pid_t = 0
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawn(&pid, path, nil, &attributes, argv, environ)
        guard result == 0 else {
            throw DevenvError.internal("cannot run \(path): \(String(cString: strerror(result)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw DevenvError.internal("waiting for \(path): \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED/WEXITSTATUS are macros Swift cannot import.
        let signalNumber = status & 0x7f
        return signalNumber == 0 ? (status >> 8) & 0xff : 128 + signalNumber
    }

    /// Becomes devenv with `arguments`: the shell that `enter` starts is then the user's, with
    /// no clone process waiting above it.
    static func exec(_ arguments: [String]) throws -> Never {
        let path = try HelperCommand.executable()
        // Ignored signals and the blocked mask survive execve: the shell must get neither.
        for number in childSignals { signal(number, SIG_DFL) }
        var empty = sigset_t()
        sigemptyset(&empty)
        pthread_sigmask(SIG_SETMASK, &empty, nil)
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        throw DevenvError.internal("cannot run \(path): \(String(cString: strerror(errno)))")
    }
}
