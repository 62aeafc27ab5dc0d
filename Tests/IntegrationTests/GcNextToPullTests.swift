import Foundation
import Testing

/// gc with no grace period next to a pull that is still downloading (from the throttled
/// registry): the pull finishes; a partial download nobody is writing is reclaimed.
@Suite struct GcNextToPullTests {
    @Test func gcLeavesARunningPullAloneAndReclaimsAbandonedDownloads() throws {
        let context = try StoreInUseTests()
        let store = context.store
        let slow = "\(try TestEnvironment.slowRegistry())/fixtures/debian:bookworm"
        let pull = try context.background(["pull", "-q", "--store", store, slow])
        let ingest = store + "/tmp/ingest"
        let deadline = Date().addingTimeInterval(60)
        while ((try? FileManager.default.contentsOfDirectory(atPath: ingest)) ?? []).first(where: { $0.hasSuffix(".partial") }) == nil {
            try #require(pull.0.isRunning, "the pull ended before it wrote a partial download")
            try #require(Date() < deadline)
            usleep(20_000)
        }
        _ = try context.gc()
        let pulled = context.finish(pull)
        #expect(pulled.status == 0, "gc broke a running pull: \(pulled.stderr)")

        let abandoned = ingest + "/" + String(repeating: "ab", count: 32) + ".partial"
        try Data(repeating: 7, count: 1 << 20).write(to: URL(fileURLWithPath: abandoned))
        let result = try context.gc()
        #expect(!FileManager.default.fileExists(atPath: abandoned), "\(result.output)")
    }
}
