import Foundation
import Testing

/// What `scripts/test` sets up: registries on 127.0.0.1, fixture images built by other tools,
/// and the devenv binary under test. A missing variable fails the test (never skips it): these
/// tests are the feature's proof and must not pass vacuously.
enum TestEnvironment {
    static func value(_ name: String) throws -> String {
        let value = ProcessInfo.processInfo.environment[name] ?? ""
        try #require(!value.isEmpty, "\(name) is not set: run the integration tests through scripts/test (or eval \"$(scripts/test --fixtures-only)\")")
        return value
    }

    static func registry() throws -> String { try value("DEVENV_TEST_REGISTRY") }
    static func authRegistry() throws -> String { try value("DEVENV_TEST_AUTH_REGISTRY") }
    static func slowRegistry() throws -> String { try value("DEVENV_TEST_SLOW_REGISTRY") }
    static func fixtures() throws -> String { try value("DEVENV_TEST_FIXTURES") }

    static func binary() throws -> String {
        if let bin = ProcessInfo.processInfo.environment["DEVENV_BIN"], !bin.isEmpty { return bin }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = root.appendingPathComponent(".build/debug/devenv").path
        try #require(FileManager.default.isExecutableFile(atPath: candidate), "no devenv binary at \(candidate); run swift build first")
        return candidate
    }
}
