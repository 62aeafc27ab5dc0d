import Foundation
import TestSupport
import Testing

/// `devenv pull` from a registry with bearer-token auth, the flow of Docker Hub and GHCR: TOKENREG
/// (distribution with `auth: token`) answers `WWW-Authenticate: Bearer realm=…,service=…,scope=…`
/// and trusts only JWTs from its token service (scripts/lib/token-server.py), which gives the test
/// user a pull token for `fixtures/*`, an anonymous client a token that grants nothing, and a wrong
/// password a 401. TOKENREG has fixtures/layered:latest and private/layered:latest.
@Suite struct TokenAuthTests {
    static func registry() throws -> String { try TestEnvironment.value("DEVENV_TEST_TOKEN_REGISTRY") }

    /// A DOCKER_CONFIG folder under `temp` holding token-auth/`file` as its config.json.
    static func dockerConfig(_ file: String, in temp: TemporaryDirectory) throws -> String {
        let dir = temp.path + "/docker-" + file
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try TestEnvironment.fixtures() + "/token-auth/" + file, toPath: dir + "/config.json")
        return dir
    }

    /// Every token the token service has issued so far (one a line).
    static func issuedTokens() throws -> [String] {
        let path = try TestEnvironment.fixtures() + "/token-auth/issued-tokens"
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    /// Fails if the output shows the password, the Basic header made from it, or any token.
    static func expectNoSecrets(_ result: Shell.Result, password: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let user = try TestEnvironment.value("DEVENV_TEST_AUTH_USER")
        #expect(!result.output.contains(password), "the password leaked into the output", sourceLocation: sourceLocation)
        #expect(!result.output.contains(Data("\(user):\(password)".utf8).base64EncodedString()), "the Basic credentials leaked into the output", sourceLocation: sourceLocation)
        // Every JWT starts with base64url("{\"") = "eyJ"; the log also catches a token cut short.
        #expect(!result.output.contains("eyJ"), "a token leaked into the output", sourceLocation: sourceLocation)
        for token in try issuedTokens() {
            let signature = String(token.split(separator: ".").last ?? "")
            #expect(!result.output.contains(signature), "a token's signature leaked into the output", sourceLocation: sourceLocation)
        }
    }

    @Test func pullsWithATokenForTheDockerConfigCredentials() throws {
        let temp = try TemporaryDirectory("token")
        let ref = "\(try Self.registry())/fixtures/layered:latest"
        let tokensBefore = try Self.issuedTokens().count
        let result = try Shell.devenv(["pull", "-v", ref], store: temp.path + "/store", environment: ["DOCKER_CONFIG": try Self.dockerConfig("config.json", in: temp)])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.stdout.contains("Pulled \(ref)"), "\(result.output)")
        #expect(try Self.issuedTokens().count > tokensBefore, "devenv pulled without asking the token service")
        try Self.expectNoSecrets(result, password: try TestEnvironment.value("DEVENV_TEST_AUTH_PASSWORD"))
    }

    /// Anonymous: the token service hands out a token that grants nothing, the registry answers
    /// 401 insufficient_scope to it, and devenv says that the repository needs a login.
    @Test func anonymousPullRequiresAuthentication() throws {
        let temp = try TemporaryDirectory("token")
        let registry = try Self.registry()
        let result = try Shell.devenv(["pull", "\(registry)/fixtures/layered:latest"], store: temp.path + "/store", environment: ["DOCKER_CONFIG": temp.path + "/none"])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("requires authentication for \(registry)/fixtures/layered"), "\(result.stderr)")
        #expect(result.stderr.contains("docker login \(registry)"), "\(result.stderr)")
    }

    /// A wrong password: the token service itself answers 401.
    @Test func aWrongPasswordIsRejectedByTheTokenService() throws {
        let temp = try TemporaryDirectory("token")
        let registry = try Self.registry()
        let result = try Shell.devenv(["pull", "\(registry)/fixtures/layered:latest"], store: temp.path + "/store", environment: ["DOCKER_CONFIG": try Self.dockerConfig("wrong-config.json", in: temp)])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("rejected the credentials for user \"devenv\""), "\(result.stderr)")
        #expect(result.stderr.contains("fixtures/layered"), "\(result.stderr)")
        try Self.expectNoSecrets(result, password: "not-the-password")
        try Self.expectNoSecrets(result, password: try TestEnvironment.value("DEVENV_TEST_AUTH_PASSWORD"))
    }

    /// Good credentials, but the token does not grant this repository: devenv names it and does
    /// not blame the credentials.
    @Test func aRepositoryTheTokenDoesNotGrantIsDenied() throws {
        let temp = try TemporaryDirectory("token")
        let registry = try Self.registry()
        let result = try Shell.devenv(["pull", "\(registry)/private/layered:latest"], store: temp.path + "/store", environment: ["DOCKER_CONFIG": try Self.dockerConfig("config.json", in: temp)])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("\(registry)/private/layered"), "\(result.stderr)")
        #expect(result.stderr.contains("denied pulling"), "\(result.stderr)")
        #expect(result.stderr.contains("no access"), "\(result.stderr)")
        #expect(!result.stderr.contains("rejected the credentials"), "\(result.stderr)")
        try Self.expectNoSecrets(result, password: try TestEnvironment.value("DEVENV_TEST_AUTH_PASSWORD"))
    }
}
