import CGit2
import Glibc
import Synchronization

/// libgit2's plain socket stream (`streams/socket.c`), with what libgit2 1.5 lacks: a connect
/// timeout and a read/write timeout (SO_RCVTIMEO/SO_SNDTIMEO). Without them, a git server that
/// accepts the connection and never answers holds `devenv clone` forever (libgit2 1.7 added
/// GIT_OPT_SET_SERVER_TIMEOUT; Debian 12 has 1.5). Registered for GIT_STREAM_STANDARD, it is also
/// what libgit2's TLS stream (mbedTLS in Debian) runs over, so https is covered, TLS handshake included.
///
/// The memory layout is libgit2's `git_socket_stream` {parent, host, port, socket}: its ssh
/// transport reads the socket out of the stream that way and hands it to libssh2 (which then
/// waits on its own, past these timeouts: the watchdog in TimedSocketStream+Watchdog covers it).
enum TimedSocketStream {
    /// Twenty seconds of silence: git servers report progress on the side band and send
    /// keep-alives while they compute a pack (git's uploadpack.keepAlive, every 5 s).
    static let timeoutSeconds = 20

    /// The last stall seen in this process: libgit2's TLS layer replaces our message with its own.
    private static let stall = Mutex<String?>(nil)

    /// "HOST:PORT" of a server that went silent since the last call, once.
    static func takeStall() -> String? {
        stall.withLock { value in
            defer { value = nil }
            return value
        }
    }

    static func register() {
        var registration = git_stream_registration()
        registration.version = 1
        registration.`init` = { out, host, port in
            guard let out, let host, let port else { return -1 }
            out.pointee = TimedSocketStream.make(host: host, port: port)
            return 0
        }
        git_stream_register(GIT_STREAM_STANDARD, &registration)
    }

    // MARK: the stream

    private static let hostOffset = MemoryLayout<git_stream>.stride
    private static let portOffset = hostOffset + MemoryLayout<UnsafeMutablePointer<CChar>?>.stride
    private static let socketOffset = portOffset + MemoryLayout<UnsafeMutablePointer<CChar>?>.stride
    private static let size = socketOffset + MemoryLayout<Int64>.stride

    private static func make(host: UnsafePointer<CChar>, port: UnsafePointer<CChar>) -> UnsafeMutablePointer<git_stream> {
        let memory = calloc(1, size)!
        let stream = memory.bindMemory(to: git_stream.self, capacity: 1)
        stream.pointee.version = 1
        stream.pointee.connect = { stream in stream.map(TimedSocketStream.connect) ?? -1 }
        stream.pointee.read = { stream, data, length in
            guard let stream, let data else { return -1 }
            return TimedSocketStream.read(stream, data, length)
        }
        stream.pointee.write = { stream, data, length, flags in
            guard let stream, let data else { return -1 }
            return TimedSocketStream.write(stream, data, length, flags)
        }
        stream.pointee.close = { stream in
            guard let stream else { return 0 }
            let socket = TimedSocketStream.socket(stream)
            defer { socket.pointee = -1 }
            guard socket.pointee >= 0 else { return 0 }
            TimedSocketStream.closing(socket.pointee)
            return Glibc.close(socket.pointee)
        }
        stream.pointee.free = { stream in
            guard let stream else { return }
            let raw = UnsafeMutableRawPointer(stream)
            free(raw.load(fromByteOffset: TimedSocketStream.hostOffset, as: UnsafeMutablePointer<CChar>?.self))
            free(raw.load(fromByteOffset: TimedSocketStream.portOffset, as: UnsafeMutablePointer<CChar>?.self))
            free(raw)
        }
        memory.storeBytes(of: strdup(host), toByteOffset: hostOffset, as: UnsafeMutablePointer<CChar>?.self)
        memory.storeBytes(of: strdup(port), toByteOffset: portOffset, as: UnsafeMutablePointer<CChar>?.self)
        socket(stream).pointee = -1
        return stream
    }

    private static func socket(_ stream: UnsafeMutablePointer<git_stream>) -> UnsafeMutablePointer<Int32> {
        (UnsafeMutableRawPointer(stream) + socketOffset).assumingMemoryBound(to: Int32.self)
    }

    private static func endpoint(_ stream: UnsafeMutablePointer<git_stream>) -> String {
        let raw = UnsafeMutableRawPointer(stream)
        let host = raw.load(fromByteOffset: hostOffset, as: UnsafeMutablePointer<CChar>?.self).map { String(cString: $0) } ?? "?"
        let port = raw.load(fromByteOffset: portOffset, as: UnsafeMutablePointer<CChar>?.self).map { String(cString: $0) } ?? "?"
        return "\(host):\(port)"
    }

    private static func fail(_ message: String) -> Int32 {
        git_error_set_str(Int32(GIT_ERROR_NET.rawValue), message)
        return -1
    }

    static func recordStall(_ endpoint: String) {
        stall.withLock { $0 = endpoint }
    }

    private static func stalled(_ stream: UnsafeMutablePointer<git_stream>, _ what: String) -> Int {
        let endpoint = endpoint(stream)
        recordStall(endpoint)
        return Int(fail("the git server at \(endpoint) \(what) for \(timeoutSeconds) s"))
    }

    private static func connect(_ stream: UnsafeMutablePointer<git_stream>) -> Int32 {
        let raw = UnsafeMutableRawPointer(stream)
        guard let host = raw.load(fromByteOffset: hostOffset, as: UnsafeMutablePointer<CChar>?.self),
              let port = raw.load(fromByteOffset: portOffset, as: UnsafeMutablePointer<CChar>?.self) else { return -1 }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var info: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, port, &hints, &info)
        guard resolved == 0 else { return fail("failed to resolve address for \(String(cString: host)): \(String(cString: gai_strerror(resolved)))") }
        defer { freeaddrinfo(info) }
        var lastError: Int32 = 0
        var candidate = info
        while let address = candidate?.pointee {
            candidate = address.ai_next
            let descriptor = Glibc.socket(address.ai_family, address.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), address.ai_protocol)
            guard descriptor >= 0 else { continue }
            let result = connectWithin(descriptor, address.ai_addr, address.ai_addrlen)
            if result == 0 {
                var limit = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
                setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
                socket(stream).pointee = descriptor
                opened(descriptor, endpoint: endpoint(stream))
                return 0
            }
            lastError = result
            Glibc.close(descriptor)
        }
        if lastError == ETIMEDOUT { return Int32(stalled(stream, "did not accept the connection")) }
        return fail("failed to connect to \(String(cString: host)): \(String(cString: strerror(lastError)))")
    }

    /// connect(2) without blocking past the timeout: 0, or the errno.
    private static func connectWithin(_ descriptor: Int32, _ address: UnsafeMutablePointer<sockaddr>?, _ length: socklen_t) -> Int32 {
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        defer { _ = fcntl(descriptor, F_SETFL, flags) }
        if Glibc.connect(descriptor, address, length) == 0 { return 0 }
        guard errno == EINPROGRESS else { return errno }
        var poller = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
        var ready: Int32
        repeat { ready = poll(&poller, 1, Int32(timeoutSeconds * 1000)) } while ready < 0 && errno == EINTR
        guard ready == 1 else { return ready == 0 ? ETIMEDOUT : errno }
        var failure: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &failure, &size)
        return failure
    }

    private static func read(_ stream: UnsafeMutablePointer<git_stream>, _ data: UnsafeMutableRawPointer, _ length: Int) -> Int {
        var count: Int
        repeat { count = recv(socket(stream).pointee, data, length, 0) } while count < 0 && errno == EINTR
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return stalled(stream, "sent nothing") }
            return Int(fail("error receiving socket data: \(String(cString: strerror(errno)))"))
        }
        heard()
        return count
    }

    private static func write(_ stream: UnsafeMutablePointer<git_stream>, _ data: UnsafePointer<CChar>, _ length: Int, _ flags: Int32) -> Int {
        var count: Int
        repeat { count = send(socket(stream).pointee, data, length, flags | Int32(MSG_NOSIGNAL)) } while count < 0 && errno == EINTR
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { return stalled(stream, "took nothing") }
            return Int(fail("error sending data: \(String(cString: strerror(errno)))"))
        }
        heard()
        return count
    }
}
