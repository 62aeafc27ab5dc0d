import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A record is only used while everything it was computed from is unchanged: the project's
/// manifest, the caller's terminal settings, the layers in the store, the record itself.
extension FastStartTests {
    /// A project whose manifest has only a base image and `[env]`: nothing to build.
    func envProject(greeting: String) throws -> BuildProject {
        let project = try BuildProject(try envManifest(greeting: greeting), store: try store)
        try FileManager.default.createDirectory(atPath: project.path + "/sub", withIntermediateDirectories: true)
        return project
    }

    func envManifest(greeting: String) throws -> String {
        """
        name = "fast"

        [base]
        image = "\(try Self.debian())"

        [env]
        GREETING = "\(greeting)"
        """
    }

    /// `devenv run -C PROJECT/sub --store STORE -q -- sh -c SCRIPT`, traced.
    func projectRun(_ project: BuildProject, _ script: String, environment: [String: String] = [:]) throws -> Start {
        try start(["run", "-C", project.path + "/sub", "--store", project.store, "-q", "--", "sh", "-c", script],
                  environment: environment)
    }

    /// The first runs of a new project: the first writes the lock (and so leaves no record), the
    /// second leaves the record, the third starts from it. Returns the third.
    @discardableResult
    func warmProject(_ project: BuildProject, _ script: String, expecting stdout: String,
                     environment: [String: String] = [:]) throws -> Start {
        let locking = try projectRun(project, script, environment: environment)
        try #require(locking.status == 0, "\(locking.output)")
        #expect(locking.stdout == stdout)
        #expect(locking.trace == Start.fullPrefix + "no record yet", "\(locking.output)")
        #expect(FileManager.default.fileExists(atPath: project.lockPath), "the first run wrote no lock")
        let recording = try projectRun(project, script, environment: environment)
        #expect(recording.status == 0 && recording.stdout == stdout, "\(recording.output)")
        #expect(recording.trace == Start.fullPrefix + "no record yet", "the run that wrote the lock left a record: \(recording.output)")
        let fast = try projectRun(project, script, environment: environment)
        #expect(fast.isFast, "\(fast.output)")
        #expect(fast.status == 0 && fast.stdout == stdout, "\(fast.output)")
        return fast
    }

    @Test func anEditedManifestIsSeenAtTheNextStart() throws {
        let project = try envProject(greeting: "one")
        let script = "echo $GREETING; pwd"
        let sub = Self.physical(project.path) + "/sub"
        try warmProject(project, script, expecting: "one\n\(sub)\n")

        try project.write(try envManifest(greeting: "two"))
        let edited = try projectRun(project, script)
        #expect(edited.status == 0 && edited.stdout == "two\n\(sub)\n", "\(edited.output)")
        #expect(edited.trace == Start.fullPrefix + Self.physical(project.manifestPath) + " changed", "\(edited.output)")
        let again = try projectRun(project, script)
        #expect(again.isFast, "\(again.output)")
        #expect(again.stdout == "two\n\(sub)\n", "a fast start ran the old manifest: \(again.output)")
    }

    @Test func aChangedTerminalTypeIsSeenAtTheNextStartAndEachKeepsItsRecord() throws {
        let project = try envProject(greeting: "term")
        try warmProject(project, "echo $TERM", expecting: "xterm-256color\n", environment: ["TERM": "xterm-256color"])

        let changed = try projectRun(project, "echo $TERM", environment: ["TERM": "vt100"])
        #expect(changed.status == 0 && changed.stdout == "vt100\n", "\(changed.output)")
        #expect(changed.trace == Start.fullPrefix + "no record yet", "\(changed.output)")
        let again = try projectRun(project, "echo $TERM", environment: ["TERM": "vt100"])
        #expect(again.isFast, "\(again.output)")
        #expect(again.stdout == "vt100\n", "a fast start passed the old TERM: \(again.output)")
        // Two terminals used in turn: each start is fast, each with its own TERM.
        let back = try projectRun(project, "echo $TERM", environment: ["TERM": "xterm-256color"])
        #expect(back.isFast, "\(back.output)")
        #expect(back.stdout == "xterm-256color\n", "\(back.output)")
        #expect(back.record != again.record, "both terminal types used one record")
    }

    @Test func aLayerRemovedFromTheStoreIsUnpackedAgain() throws {
        let project = try envProject(greeting: "layers")
        let script = "echo $GREETING; cat /etc/debian_version > /dev/null && echo image-there"
        try warmProject(project, script, expecting: "layers\nimage-there\n")
        // The layers the sandbox runs on, as its root mount names them (relative to the store's layers/).
        let mounts = try projectRun(project, #"sed -n 's/^overlay \/ .*lowerdir=\([^,]*\).*/\1/p' /proc/self/mounts"#)
        #expect(mounts.isFast, "\(mounts.output)")
        let layers = mounts.stdout.trimmingCharacters(in: .newlines).split(separator: ":").map(String.init).filter { !$0.hasPrefix(".sandbox") }
        try #require(!layers.isEmpty, "no layer in the root mount: \(mounts.output)")

        // Gone from where the record says it is, as after `devenv gc` (moved aside rather than
        // deleted: rootless with subordinate ids the tree belongs to ids the test cannot remove).
        let layer = project.store + "/layers/" + layers[0]
        let aside = layer + ".removed-by-test"
        try #require(rename(layer, aside) == 0, "rename \(layer): \(String(cString: strerror(errno)))")
        let rebuilt = try projectRun(project, script)
        #expect(rebuilt.status == 0 && rebuilt.stdout == "layers\nimage-there\n", "\(rebuilt.output)")
        #expect(rebuilt.trace == Start.fullPrefix + layer + " changed", "\(rebuilt.output)")
        #expect(FileManager.default.fileExists(atPath: layer + "/etc/debian_version"), "the layer was not unpacked again")
        let again = try projectRun(project, script)
        #expect(again.isFast, "\(again.output)")
        #expect(again.status == 0 && again.stdout == "layers\nimage-there\n", "\(again.output)")
    }

    @Test func aDamagedRecordMeansAFullStartThatWritesItAgain() throws {
        let project = try envProject(greeting: "record")
        let fast = try warmProject(project, "echo $GREETING", expecting: "record\n")
        let record = try #require(fast.record)
        let good = try Data(contentsOf: URL(fileURLWithPath: record))
        try #require(good.count > 64 && good.prefix(4) == Data("DVLR".utf8), "not a launch record: \(record)")

        // Garbage, the same every run (xorshift), so that a failure can be reproduced.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let garbage = Data((0..<4096).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 24)
        })
        let damages: [(String, Data, String)] = [
            ("garbage", garbage, "the record is of another devenv version"),
            ("an empty file", Data(), "the record is of another devenv version"),
            ("the record cut in half", good.prefix(good.count / 2), "the record is damaged"),
            ("the header, then garbage", good.prefix(8) + garbage, "the record is damaged"),
        ]
        for (what, bytes, reason) in damages {
            try bytes.write(to: URL(fileURLWithPath: record))
            let full = try projectRun(project, "echo $GREETING")
            #expect(full.status == 0 && full.stdout == "record\n", "\(what): \(full.output)")
            #expect(full.trace == Start.fullPrefix + reason, "\(what): \(full.output)")
            let again = try projectRun(project, "echo $GREETING")
            #expect(again.record == record, "\(what): the full start did not write the record again: \(again.output)")
            #expect(again.status == 0 && again.stdout == "record\n", "\(what): \(again.output)")
        }
    }

    @Test func aRecordDamagedInsideAnEntryMeansAFullStartToo() throws {
        // One byte changed inside an entry, the file's structure intact: here the scratch
        // directory's name (entry 20, ".sandbox"), as a bad sector or a stray write could leave it.
        let project = try envProject(greeting: "entry")
        let fast = try warmProject(project, "echo $GREETING", expecting: "entry\n")
        let record = try #require(fast.record)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: record))
        let scratch = Data([20, 0, 9, 0, 0, 0]) + Data(".sandbox\0".utf8)
        let range = try #require(bytes.range(of: scratch), "no scratch entry in \(record)")
        bytes[range.lowerBound + 8] = UInt8(ascii: "`")  // ".s`ndbox"
        try bytes.write(to: URL(fileURLWithPath: record))

        let damaged = try projectRun(project, "echo $GREETING")
        #expect(damaged.status == 0 && damaged.stdout == "entry\n", "a damaged record broke the start: \(damaged.output)")
        #expect(damaged.trace.hasPrefix(Start.fullPrefix), "\(damaged.output)")
        let again = try projectRun(project, "echo $GREETING")
        #expect(again.status == 0 && again.stdout == "entry\n", "the damaged record is still used: \(again.output)")
        #expect(again.record == record, "\(again.output)")
    }
}
