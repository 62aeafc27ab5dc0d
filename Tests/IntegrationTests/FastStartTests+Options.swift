import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `--root` and `--network none` are other invocations: each has its own record, and its fast
/// start is its full start.
extension FastStartTests {
    @Test func rootHasItsOwnRecordAndAThrowawayRootOnAFastStart() throws {
        // With subordinate ids --root runs on its own copy of the layers, which the first --root
        // run unpacks, tagging the image again in oci/index.json (so that run leaves no record,
        // and the records of the store's other --image invocations are stale). devenv-core does
        // that first here, leaving no record of its own.
        try pullOnce()
        let unpack = try run(["true"], options: ["--root"], binary: .core)
        try #require(unpack.status == 0, "\(unpack.output)")
        try warm()
        try warm(["--root"])
        let plain = try #require(try run(["true"]).record)
        try expectFastStartGivesWhatTheFullStartGives(options: ["--root"])

        let script = "id -u; test -e /usr/local/marker && echo left-over; echo changed > /usr/local/marker && cat /usr/local/marker; touch by-root"
        let full = try sh(script, options: ["--root"], binary: .core)
        #expect(full.status == 0 && full.stdout == "0\nchanged\n", "\(full.output)")
        // The full start's change is gone, and so is this one's.
        let fast = try sh(script, options: ["--root"])
        let record = try #require(fast.record, "\(fast.output)")
        #expect(record != plain, "--root starts from the plain invocation's record")
        #expect(fast.status == 0 && fast.stdout == "0\nchanged\n", "\(fast.output)")
        let after = try sh("test -e /usr/local/marker")
        #expect(after.record == plain, "\(after.output)")
        #expect(after.status == 1, "a --root change persisted")
        #expect(try sh("test -e /usr/local/marker", options: ["--root"]).status == 1, "a --root change persisted")
        // Root inside is the invoking user outside.
        var info = stat()
        #expect(lstat(project.path + "/by-root", &info) == 0 && info.st_uid == getuid())
    }

    @Test func networkNoneHasItsOwnRecordAndOnlyLoopbackOnAFastStart() throws {
        try warm()
        try warm(["--network", "none"])
        let plain = try #require(try run(["true"]).record)
        try expectFastStartGivesWhatTheFullStartGives(options: ["--network", "none"])

        let port = try TestEnvironment.registry().split(separator: ":").last.map(String.init) ?? "5000"
        let probe = "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; "
            + "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(port)' 2>&1 && echo reached"
        let none = try sh(probe, options: ["--network", "none"])
        let record = try #require(none.record, "\(none.output)")
        #expect(record != plain, "--network none starts from the plain invocation's record")
        #expect(none.stdout.hasPrefix("lo\n"), "\(none.output)")
        #expect(none.stdout.contains("Connection refused"), "loopback must be up: \(none.output)")
        #expect(!none.stdout.contains("reached"))
        let host = try sh(probe)
        #expect(host.record == plain, "\(host.output)")
        #expect(host.stdout.contains("reached"), "the host's registry must be reachable with the host network: \(host.output)")
    }
}
