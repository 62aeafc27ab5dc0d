import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Bad input and broken transfers: each gives a clear error and leaves the store consistent.
@Suite(.serialized) struct PullFailureTests {
    @Test func aMissingImageIsAUserErrorNamingIt() throws {
        let temp = try TemporaryDirectory("fail")
        let ref = "\(try TestEnvironment.registry())/fixtures/no-such-image:latest"
        let result = try Shell.devenv(["pull", ref], store: temp.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("not found"), "\(result.stderr)")
        #expect(result.stderr.contains("fixtures/no-such-image"))
        let tag = try Shell.devenv(["pull", "\(try TestEnvironment.registry())/fixtures/debian:no-such-tag"], store: temp.path)
        #expect(tag.status == 1)
        #expect(tag.stderr.contains("no-such-tag"), "\(tag.stderr)")
    }

    @Test func aMalformedReferenceIsAUserError() throws {
        let temp = try TemporaryDirectory("fail")
        let result = try Shell.devenv(["pull", "Debian:Bookworm"], store: temp.path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("invalid image reference \"Debian:Bookworm\""), "\(result.stderr)")
        #expect(result.stderr.contains("lowercase"))
    }

    @Test func usageErrorsExitTwo() throws {
        let result = try Shell.run(TestEnvironment.binary(), ["pull"])
        #expect(result.status == 2, "\(result.output)")
        #expect(result.stderr.contains("Missing expected argument"))
    }

    @Test func anUnreachableRegistryFailsAfterRetries() throws {
        let temp = try TemporaryDirectory("fail")
        // Port 9 (discard) on loopback refuses connections.
        let result = try Shell.devenv(["pull", "127.0.0.1:9/x:latest"], store: temp.path)
        #expect(result.status == 3, "\(result.output)")
        #expect(result.stderr.contains("cannot reach registry 127.0.0.1:9: Connection refused (is the registry running"), "\(result.stderr)")
    }

    @Test func basicAuthWithDockerConfigCredentials() throws {
        let temp = try TemporaryDirectory("auth")
        let ref = "\(try TestEnvironment.authRegistry())/fixtures/layered:latest"
        let fixtures = try TestEnvironment.fixtures()

        let anonymous = try Shell.devenv(["pull", ref], store: temp.path + "/a", environment: ["DOCKER_CONFIG": temp.path + "/none"])
        #expect(anonymous.status == 1)
        #expect(anonymous.stderr.contains("requires authentication"), "\(anonymous.stderr)")

        let wrongDir = temp.path + "/wrong"
        try FileManager.default.createDirectory(atPath: wrongDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: fixtures + "/auth/wrong-config.json", toPath: wrongDir + "/config.json")
        let wrong = try Shell.devenv(["pull", ref], store: temp.path + "/b", environment: ["DOCKER_CONFIG": wrongDir])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("rejected the credentials for user \"devenv\""), "\(wrong.stderr)")
        #expect(!wrong.output.contains("s3cret"), "a password leaked into the output")

        let right = try Shell.devenv(["pull", ref], store: temp.path + "/c", environment: ["DOCKER_CONFIG": fixtures + "/auth"])
        #expect(right.status == 0, "\(right.output)")
        #expect(!right.output.contains("s3cret"))
        #expect(!right.output.contains(Data("devenv:s3cret-pass".utf8).base64EncodedString()))
    }

    /// A store on a disk too small for the image: a clear error naming the cause, and no image,
    /// blob or layer that is not complete.
    @Test func aFullDiskFailsCleanly() throws {
        let temp = try TemporaryDirectory("full")
        let store = temp.path + "/small"
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        // A tmpfs root is 1777 unless told otherwise, and devenv refuses a store others can write.
        let mount = try Shell.run("/bin/mount", ["-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", store])
        try #require(mount.status == 0, "\(mount.output)")
        defer { _ = try? Shell.run("/bin/umount", [store]) }

        let ref = "\(try TestEnvironment.registry())/fixtures/debian:bookworm"
        let result = try Shell.devenv(["pull", ref], store: store)
        #expect(result.status == 3, "\(result.output)")
        #expect(result.stderr.contains("ENOSPC"), "\(result.stderr)")
        #expect(result.stderr.contains("--store"), "\(result.stderr)")
        #expect(!(try String(contentsOfFile: store + "/oci/index.json", encoding: .utf8)).contains("debian"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/layers").isEmpty)
    }

    /// A pull SIGKILLed in the middle of a blob leaves nothing half-made in `blobs/` or `layers/`
    /// and no image named in `index.json`; the next pull resumes the partial download and completes.
    @Test func aPullKilledMidBlobResumesAndVerifies() async throws {
        let temp = try TemporaryDirectory("kill")
        let store = temp.path
        let slow = "\(try TestEnvironment.slowRegistry())/fixtures/debian:bookworm"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try TestEnvironment.binary())
        process.arguments = ["pull", "--store", store, slow]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        let ingest = store + "/tmp/ingest"
        var partialSize = 0
        for _ in 0..<600 where partialSize < 4_000_000 {
            try await Task.sleep(for: .milliseconds(50))
            let partials = (try? FileManager.default.contentsOfDirectory(atPath: ingest))?.filter { $0.hasSuffix(".partial") } ?? []
            partialSize = partials.compactMap { (try? FileManager.default.attributesOfItem(atPath: ingest + "/" + $0)[.size]) as? Int }.max() ?? 0
        }
        try #require(process.isRunning, "the pull finished before it could be killed; the slow registry is not slow")
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(partialSize >= 4_000_000)

        let inspectorIndex = try String(contentsOfFile: store + "/oci/index.json", encoding: .utf8)
        #expect(!inspectorIndex.contains("debian"), "a killed pull named the image in index.json")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store + "/layers").isEmpty)

        let again = try Shell.devenv(["pull", slow], store: store)
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("resuming at"), "\(again.stderr)")
        let inspector = StoreInspector(store: store)
        for blob in try inspector.layerBlobs(of: slow) {
            #expect("sha256:" + TreeSnapshot.sha256(try Data(contentsOf: URL(fileURLWithPath: inspector.blobPath(blob)))) == blob)
        }
        #expect(try inspector.layerDirectories(of: slow).allSatisfy { FileManager.default.fileExists(atPath: $0 + "/usr/bin") })
    }
}
