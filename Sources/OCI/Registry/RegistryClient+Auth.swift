import AsyncHTTPClient
import Foundation
import NIOCore

extension RegistryClient {
    /// Answers a 401 challenge: basic auth with the user's credentials, or a bearer token from
    /// the realm the registry names (with the credentials, when there are some, as Docker does).
    /// Returns true when a token service has accepted the user's credentials, so that a later
    /// refusal is about access, not about the credentials.
    func authenticate(_ ref: Reference, challenge header: String?) async throws -> Bool {
        guard let header, let challenge = AuthChallenge(header: header) else {
            throw unauthorized(ref, status: 401)
        }
        let entry = credentials.entry(forDomain: ref.domain)
        switch challenge.scheme {
        case "basic":
            guard let entry else { throw unauthorized(ref, status: 401) }
            await authorizations.set(entry.basicAuthorization, for: ref)
            return false
        case "bearer":
            let token = try await fetchToken(ref, challenge: challenge, credentials: entry)
            await authorizations.set("Bearer " + token, for: ref)
            return entry != nil
        default:
            throw OCIError(.unsupported, "registry \(ref.domain) asks for \(challenge.scheme) authentication, which devenv does not support (it supports Basic and Bearer)")
        }
    }

    private func fetchToken(_ ref: Reference, challenge: AuthChallenge, credentials entry: Credentials.Entry?) async throws -> String {
        guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm),
              let realmScheme = components.scheme, realmScheme == "https" || realmScheme == "http" else {
            throw OCIError(.unsupported, "registry \(ref.domain) sent a bearer challenge without a usable realm URL")
        }
        if realmScheme == "http", let host = components.host, scheme(for: host + (components.port.map { ":\($0)" } ?? "")) != "http", scheme(for: host) != "http" {
            throw OCIError(.unsupported, "registry \(ref.domain) wants a token from an insecure http realm (\(realm)); add the host to DEVENV_INSECURE_REGISTRIES if you trust it")
        }
        var query = components.queryItems ?? []
        if let service = challenge.parameters["service"] { query.append(URLQueryItem(name: "service", value: service)) }
        query.append(URLQueryItem(name: "scope", value: challenge.parameters["scope"] ?? "repository:\(ref.repository):pull"))
        components.queryItems = query
        guard let url = components.url else {
            throw OCIError(.unsupported, "registry \(ref.domain) sent a malformed token realm")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "User-Agent", value: "devenv")
        if let entry { request.headers.add(name: "Authorization", value: entry.basicAuthorization) }
        let response: HTTPClientResponse
        do { response = try await http.execute(request, deadline: .now() + .seconds(60)) } catch {
            throw OCIError(.transient, "cannot reach the token service of \(ref.domain) at \(components.host ?? realm): \(Self.describe(error))")
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            if response.status.code == 401 || response.status.code == 403 { throw unauthorized(ref, status: response.status.code) }
            throw OCIError(.transient, "the token service of \(ref.domain) answered \(response.status.code)")
        }
        struct TokenResponse: Decodable { var token: String?; var access_token: String? }
        guard let decoded = try? JSONDecoder().decode(TokenResponse.self, from: Data(body.readableBytesView)),
              let token = decoded.token ?? decoded.access_token, !token.isEmpty else {
            throw OCIError(.invalidContent, "the token service of \(ref.domain) answered without a token")
        }
        return token
    }
}
