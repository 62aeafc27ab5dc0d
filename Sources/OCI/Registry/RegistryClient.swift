#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A client for the OCI distribution API (registry v2). It speaks HTTPS except to loopback and
/// hosts the user lists in `DEVENV_INSECURE_REGISTRIES`, authenticates the way Docker does, and
/// follows redirects itself so that credentials never travel to a blob CDN.
public final class RegistryClient: Sendable {
    let http: HTTPClient
    let credentials: Credentials
    let insecureHosts: Set<String>
    let authorizations = AuthorizationCache()

    public init(credentials: Credentials, insecureHosts: [String] = RegistryClient.insecureHostsFromEnvironment()) {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow
        // A read timeout bounds a stalled connection; there is no total deadline, since a large
        // layer on a slow link may take long and still be progressing.
        config.timeout = .init(connect: .seconds(15), read: .seconds(Int64(Self.readTimeoutSeconds)))
        config.decompression = .disabled
        // Our own retries (`retrying`: 5 attempts, 0.5–4 s apart) cover flaky connections; the
        // pool's would retry a refused connection until the connect timeout, on every attempt,
        // so an unreachable registry took 80 s to report.
        config.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        self.credentials = credentials
        self.insecureHosts = Set(insecureHosts)
    }

    /// How long a registry may send nothing before the request counts as stalled.
    public static let readTimeoutSeconds = 20

    public func shutdown() async {
        try? await http.shutdown()
    }

    public static func insecureHostsFromEnvironment() -> [String] {
        (ProcessInfo.processInfo.environment["DEVENV_INSECURE_REGISTRIES"] ?? "")
            .split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
    }

    /// Plain HTTP is allowed only where nobody else can be on the path.
    func scheme(for host: String) -> String {
        if insecureHosts.contains(host) { return "http" }
        return Self.isLoopback(Self.hostWithoutPort(host)) ? "http" : "https"
    }

    /// `localhost`, `::1`, or an IPv4 literal in 127.0.0.0/8; a name like `127.evil.com` is not.
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return false }
        return UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    static func hostWithoutPort(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") {
            return String(host[host.index(after: host.startIndex)..<close])
        }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    func url(_ ref: Reference, _ path: String) -> String {
        "\(scheme(for: ref.registryHost))://\(ref.registryHost)/v2/\(ref.repository)/\(path)"
    }

    /// A Location header's URL, absolute (on the registry's host, with its scheme) or relative
    /// to it.
    func resolve(_ location: String, _ ref: Reference) -> String {
        let base = "\(scheme(for: ref.registryHost))://\(ref.registryHost)"
        return URL(string: location, relativeTo: URL(string: base + "/"))?.absoluteString ?? base + location
    }

    /// Sends a request for `ref`'s repository, answering an authentication challenge once and
    /// following redirects. Statuses other than 2xx are turned into `OCIError`s worded for users.
    /// `location`: an absolute or host-relative URL the registry handed out (an upload's
    /// Location) instead of `path`; `body`: made afresh for each attempt (an answered challenge
    /// sends the request again).
    func send(
        _ method: HTTPMethod, _ ref: Reference, path: String, location: String? = nil, headers: [(String, String)] = [],
        body: (@Sendable () -> HTTPClientRequest.Body)? = nil, what: @autoclosure () -> String
    ) async throws -> HTTPClientResponse {
        var url = location.map { resolve($0, ref) } ?? url(ref, path)
        var challenged = false
        var credentialsAccepted = false
        var redirects = 0
        // An upload's Location is the registry's to choose: one on another host (or scheme, or
        // port) gets the request without the user's credentials, as a redirect there would.
        var sameHost = url.hasPrefix("\(scheme(for: ref.registryHost))://\(ref.registryHost)/")
        while true {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = body() }
            request.headers.add(name: "User-Agent", value: "devenv")
            let authorization = sameHost ? await authorizations.value(for: ref) : nil
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: .distantFuture)
            } catch let error as HTTPClientError where error == .readTimeout {
                throw OCIError(.stalled, """
                    registry \(ref.registryHost) accepted the connection but sent nothing for \(Self.readTimeoutSeconds) s \
                    (is it overloaded, or is something other than a registry listening there?)
                    """)
            } catch {
                throw OCIError(.transient, "cannot reach registry \(ref.registryHost): \(Self.describe(error))")
            }
            switch response.status.code {
            case 200..<300:
                return response
            case 301, 302, 303, 307, 308:
                _ = try? await response.body.collect(upTo: 1 << 16)
                guard redirects < 5, let location = response.headers.first(name: "Location") else {
                    throw OCIError(.transient, "registry \(ref.registryHost) redirected \(what()) too often or without a Location")
                }
                redirects += 1
                let next = URL(string: location, relativeTo: URL(string: url))?.absoluteString ?? location
                sameHost = URL(string: next)?.host == URL(string: url)?.host && sameHost
                url = next
            case 401 where !challenged && sameHost:
                challenged = true
                _ = try? await response.body.collect(upTo: 1 << 16)
                credentialsAccepted = try await authenticate(ref, challenge: response.headers.first(name: "WWW-Authenticate"))
            case 401, 403:
                _ = try? await response.body.collect(upTo: 1 << 16)
                // A 401 for a token issued for the user's credentials, or a 403 to a request that
                // carried them, means the credentials are good but do not grant this repository.
                if credentialsAccepted || (response.status.code == 403 && authorization != nil),
                   let entry = credentials.entry(forDomain: ref.domain) {
                    throw accessDenied(ref, entry: entry, status: response.status.code, challenge: response.headers.first(name: "WWW-Authenticate"),
                                       pushing: method != .GET && method != .HEAD)
                }
                throw unauthorized(ref, status: response.status.code)
            case 404:
                let body = try? await response.body.collect(upTo: 1 << 16)
                throw OCIError(.notFound, "\(what()) not found in \(ref.registryHost)/\(ref.repository)\(Self.registryMessage(body))")
            case 408, 425, 429, 500..<600:
                _ = try? await response.body.collect(upTo: 1 << 16)
                throw OCIError(.transient, "registry \(ref.registryHost) answered \(response.status.code) \(response.status.reasonPhrase) for \(what())")
            default:
                let body = try? await response.body.collect(upTo: 1 << 16)
                throw OCIError(.unsupported, "registry \(ref.registryHost) answered \(response.status.code) \(response.status.reasonPhrase) for \(what())\(Self.registryMessage(body))")
            }
        }
    }

    func unauthorized(_ ref: Reference, status: UInt) -> OCIError {
        if let entry = credentials.entry(forDomain: ref.domain) {
            return OCIError(.unauthorized, "registry \(ref.domain) rejected the credentials for user \"\(entry.username)\" from \(entry.source) (HTTP \(status)) for \(ref.name); check them with docker login \(ref.domain)")
        }
        return OCIError(.unauthorized, "registry \(ref.domain) requires authentication for \(ref.name) (HTTP \(status)), or the repository does not exist; check the name, then log in with docker login \(ref.domain) or add auths.\"\(ref.domain)\" to \(Credentials.defaultConfigPath())")
    }

    func accessDenied(_ ref: Reference, entry: Credentials.Entry, status: UInt, challenge: String?, pushing: Bool = false) -> OCIError {
        let reason = challenge.flatMap { AuthChallenge(header: $0)?.parameters["error"] }.map { ", \($0)" } ?? ""
        return OCIError(.unauthorized, "registry \(ref.domain) accepted the credentials for user \"\(entry.username)\" from \(entry.source) but denied \(pushing ? "pushing to" : "pulling") \(ref.name) (HTTP \(status)\(reason)): the repository does not exist, or that user has no access to it")
    }

    /// The `errors[0].message` of a registry's JSON error body, when it has one.
    static func registryMessage(_ body: ByteBuffer?) -> String {
        struct ErrorBody: Decodable {
            struct Item: Decodable { var code: String?; var message: String? }
            var errors: [Item]?
        }
        guard let body, let decoded = try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)),
              let first = decoded.errors?.first, let message = first.message else { return "" }
        return " (registry says: \(message))"
    }

    static func describe(_ error: any Error) -> String {
        if let http = error as? HTTPClientError { return "\(http)" }
        // NIO's socket errors read "connection reset (error set): Connection refused) (errno: 111)".
        if let io = error as? IOError {
            return "\(String(cString: strerror(io.errnoCode))) (is the registry running, and is the host and port right?)"
        }
        return "\(error)"
    }
}

/// Authorization header values per registry host and repository, shared by concurrent requests.
actor AuthorizationCache {
    private var values: [String: String] = [:]

    func value(for ref: Reference) -> String? { values[ref.name] }
    func set(_ value: String, for ref: Reference) { values[ref.name] = value }
}
