import Foundation

/// Registry credentials read from Docker's client config (`$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`), so that `docker login` is all a user needs to pull private images.
/// The secret never leaves this type except as a request header.
public struct Credentials: Sendable {
    public struct Entry: Sendable {
        public let username: String
        let password: String
        /// Where it came from, for error messages ("credentials for X from Y were rejected").
        public let source: String

        var basicAuthorization: String {
            "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
        }
    }

    private let entries: [String: Entry]

    public init(entries: [String: Entry] = [:]) {
        self.entries = entries
    }

    /// The default config file location, honouring `DOCKER_CONFIG` as Docker does.
    public static func defaultConfigPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let dir = environment["DOCKER_CONFIG"], !dir.isEmpty { return dir + "/config.json" }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return home + "/.docker/config.json"
    }

    /// Loads `auths.<host>.auth` (base64 `user:password`) entries. A missing file means no
    /// credentials; a malformed one is an error naming the file, since silently pulling
    /// anonymously would hide the user's mistake.
    public static func load(from path: String = defaultConfigPath()) throws -> Credentials {
        guard let data = FileManager.default.contents(atPath: path) else { return Credentials() }
        struct Config: Decodable {
            struct Auth: Decodable {
                var auth: String?
                var username: String?
                var password: String?
            }
            var auths: [String: Auth]?
        }
        let config: Config
        do { config = try JSONDecoder().decode(Config.self, from: data) } catch {
            throw OCIError(.invalidContent, "\(path) is not a valid Docker config file: \(error.localizedDescription); fix or remove it")
        }
        var entries: [String: Entry] = [:]
        for (key, auth) in config.auths ?? [:] {
            var user = auth.username, pass = auth.password
            if let encoded = auth.auth, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).flatMap({ String(data: $0, encoding: .utf8) }),
                      let colon = decoded.firstIndex(of: ":") else {
                    throw OCIError(.invalidContent, "\(path): auths.\"\(key)\".auth is not base64 of \"user:password\"; run docker login again")
                }
                user = String(decoded[..<colon])
                pass = String(decoded[decoded.index(after: colon)...])
            }
            guard let user, let pass else { continue }
            entries[normalizeHost(key)] = Entry(username: user, password: pass, source: path)
        }
        return Credentials(entries: entries)
    }

    public func entry(forDomain domain: String) -> Entry? {
        entries[Self.normalizeHost(domain)]
    }

    /// Docker writes keys as `host`, `https://host`, `https://host/v1/`; Docker Hub's is
    /// `https://index.docker.io/v1/`.
    static func normalizeHost(_ key: String) -> String {
        var host = key
        for scheme in ["https://", "http://"] where host.hasPrefix(scheme) { host.removeFirst(scheme.count) }
        if let slash = host.firstIndex(of: "/") { host = String(host[..<slash]) }
        if host == "index.docker.io" || host == "registry-1.docker.io" { host = Reference.defaultDomain }
        return host
    }
}
