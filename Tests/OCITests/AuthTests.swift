import Foundation
@testable import OCI
import TestSupport
import Testing

@Suite struct AuthTests {
    @Test func parsesBearerChallenges() throws {
        let header = #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#
        let challenge = try #require(AuthChallenge(header: header))
        #expect(challenge.scheme == "bearer")
        #expect(challenge.parameters["realm"] == "https://auth.example.com/token")
        #expect(challenge.parameters["service"] == "registry.example.com")
        #expect(challenge.parameters["scope"] == "repository:a/b:pull,push")
    }

    @Test func parsesBasicChallenges() throws {
        let challenge = try #require(AuthChallenge(header: #"Basic realm="Registry Realm""#))
        #expect(challenge.scheme == "basic")
        #expect(challenge.parameters["realm"] == "Registry Realm")
    }

    @Test func readsDockerConfigAuths() throws {
        let scratch = try TemporaryDirectory("cfg")
        let dir = scratch.path
        let auth = Data("alice:p:ss".utf8).base64EncodedString()
        let json = #"{"auths":{"127.0.0.1:5000":{"auth":"\#(auth)"},"https://index.docker.io/v1/":{"auth":"\#(auth)"}}}"#
        try Data(json.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let credentials = try Credentials.load(from: dir + "/config.json")
        let local = try #require(credentials.entry(forDomain: "127.0.0.1:5000"))
        #expect(local.username == "alice")
        #expect(local.basicAuthorization == "Basic " + auth)
        #expect(credentials.entry(forDomain: "docker.io")?.username == "alice")
        #expect(credentials.entry(forDomain: "ghcr.io") == nil)
        #expect(Credentials.defaultConfigPath(environment: ["DOCKER_CONFIG": dir]) == dir + "/config.json")
    }

    @Test func aMalformedConfigIsAnErrorNamingTheFile() throws {
        let scratch = try TemporaryDirectory("bad-config")
        let path = try scratch.file("config.json", #"{"auths":{"h":{"auth":"!!!"}}}"#)
        let error = #expect(throws: OCIError.self) { try Credentials.load(from: path) }
        #expect(error?.message.contains(path) == true)
    }

    @Test func plainHTTPOnlyForLoopbackAndListedHosts() {
        let client = RegistryClient(credentials: Credentials(), insecureHosts: ["registry.lan:5000"])
        defer { Task { await client.shutdown() } }
        #expect(client.scheme(for: "127.0.0.1:5000") == "http")
        #expect(client.scheme(for: "localhost") == "http")
        #expect(client.scheme(for: "[::1]:5000") == "http")
        #expect(client.scheme(for: "registry.lan:5000") == "http")
        #expect(client.scheme(for: "registry.lan") == "https")
        #expect(client.scheme(for: "127.evil.com") == "https")
        #expect(client.scheme(for: "registry-1.docker.io") == "https")
    }
}
