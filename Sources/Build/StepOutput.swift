import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a step's output from a pipe on a thread of its own while the sandbox runs: passes each
/// line on (for live output) and keeps the last lines (for the error when the step fails).
/// `capture` keeps every byte instead, for output that is data (apt's plan, pip's report).
final class StepOutput: @unchecked Sendable {
    let readEnd: Int32
    let writeEnd: Int32
    private let capture: Bool
    private let onLine: (@Sendable (String) -> Void)?
    private let keep: Int
    private let done = DispatchSemaphore(value: 0)
    // Written only by the reader thread, read only after `finish()` has waited for it.
    private var captured = Data()
    private var lastLines: [String] = []

    init(capture: Bool, keep: Int = 40, onLine: (@Sendable (String) -> Void)?) throws {
        var fds: [Int32] = [-1, -1]
        // Close-on-exec: only the step's sandbox gets the write end, as its stdout/stderr.
        guard pipe(&fds) == 0, fcntl(fds[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(fds[1], F_SETFD, FD_CLOEXEC) == 0 else { throw BuildError("create a pipe for the step's output: \(String(cString: strerror(errno)))") }
        readEnd = fds[0]
        writeEnd = fds[1]
        self.capture = capture
        self.keep = keep
        self.onLine = onLine
        let thread = Thread { [self] in self.drain() }
        thread.start()
    }

    private func drain() {
        var pending = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(readEnd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            if capture {
                captured.append(contentsOf: buffer[..<count])
                continue
            }
            pending.append(contentsOf: buffer[..<count])
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(pending[pending.startIndex..<newline])
                pending.removeSubrange(pending.startIndex...newline)
            }
        }
        if !pending.isEmpty { line(pending[...]) }
        close(readEnd)
        done.signal()
    }

    private func line(_ bytes: Data) {
        // Progress bars redraw with \r: the last state of the line is what it says.
        let text = String(decoding: bytes, as: UTF8.self).split(separator: "\r", omittingEmptySubsequences: true).last.map(String.init) ?? ""
        lastLines.append(text)
        if lastLines.count > keep { lastLines.removeFirst(lastLines.count - keep) }
        onLine?(text)
    }

    /// Closes this process's write end (the sandbox has exited, so the pipe ends) and waits for
    /// the reader.
    func finish() -> (data: Data, lastLines: [String]) {
        close(writeEnd)
        done.wait()
        return (captured, lastLines)
    }
}
