import Foundation
import TestSupport
import Testing

/// What the sandbox suite shares for one test run: a store (so fixture images are pulled once
/// and later runs take the warm path, as a user's would) and the syscall probe, compiled once.
struct SandboxScope: SuiteTrait, TestScoping {
    struct Shared: Sendable {
        let store: String
        let probe: String
    }

    @TaskLocal static var shared: Shared?

    static func current() throws -> Shared {
        try #require(shared, "the test must be in a suite with the .sandboxScope trait")
    }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        let temp = try TemporaryDirectory("sandbox-scope")
        let probe = temp.path + "/probe"
        let source = SandboxScope.fixture("sandbox-probe.c")
        let compile = try Shell.run("gcc", ["-static", "-pthread", "-O1", "-o", probe, source])
        try #require(compile.status == 0, "gcc -static \(source): \(compile.output)")
        try await Self.$shared.withValue(Shared(store: temp.path + "/store", probe: probe)) {
            try await function()
        }
        withExtendedLifetime(temp) {}
    }

    static func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name).path
    }
}

extension Trait where Self == SandboxScope {
    static var sandboxScope: SandboxScope { SandboxScope() }
}
