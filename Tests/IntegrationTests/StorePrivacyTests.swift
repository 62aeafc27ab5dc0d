import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The store is its owner's alone. Another local user cannot reach the setuid-root files images
/// bring, and a store someone else owns or can write to (a "shared cache" made 1777, a directory
/// of theirs) is refused before anything is written to it, since they could have planted a
/// symlink in tmp/ or a layer of their own there already.
@Suite(.serialized) struct StorePrivacyTests {
    static let other = StoreUser.withoutSubordinateIDs

    static var layered: String { get throws { "\(try TestEnvironment.registry())/fixtures/layered:latest" } }

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    /// fixtures/layered carries usr/bin/suid-root, root's and mode 4755 (rootless with subordinate
    /// ids, the image's root is a subordinate id of the user's).
    @Test(arguments: [StoreUser.root, StoreUser.withSubordinateIDs])
    func anotherUserCannotReachASetuidFileOfAnImage(owner: StoreUser) throws {
        let temp = try TemporaryDirectory("private")
        let store = try owner.makeStore("store", in: temp)
        let pull = try owner.devenv(["pull", try Self.layered], store: store)
        try #require(pull.status == 0, "\(pull.output)")
        let setuid = try StoreInspector(store: store).layerDirectories(of: try Self.layered)
            .map { $0 + "/usr/bin/suid-root" }.first { Self.mode($0).map { $0 & S_ISUID != 0 } ?? false }
        let path = try #require(setuid, "no setuid suid-root in the unpacked layers")

        let execute = try Self.other.run([path])
        #expect(execute.status != 0 && execute.output.contains("Permission denied"),
                "\(Self.other.name) ran the image's setuid file: \(execute.output)")
        let reach = try Self.other.run(["/bin/sh", "-c", "test -e \"$1\" && echo reachable; ls \"$2\"", "sh", path, store])
        #expect(!reach.stdout.contains("reachable") && reach.stderr.contains("Permission denied"),
                "\(Self.other.name) reaches into the store: \(reach.output)")
        for directory in ["", "/oci", "/layers", "/envs", "/tmp"] {
            #expect(Self.mode(store + directory) == 0o700, "store\(directory) is not 0700")
        }
    }

    struct Hostile: CustomTestStringConvertible, Sendable {
        /// Who runs devenv.
        let caller: StoreUser
        /// Who owns the store root, and its mode.
        let owner: StoreUser
        let mode: mode_t
        /// A part of the error that names the problem.
        let says: String
        var testDescription: String { "\(caller.name) on \(owner.name)'s store, mode \(String(mode, radix: 8))" }
    }

    static let hostileStores: [Hostile] = [
        Hostile(caller: .root, owner: other, mode: 0o700, says: "belongs to devenv-nosub"),
        Hostile(caller: .root, owner: .root, mode: 0o1777, says: "is writable by every user (mode 1777)"),
        Hostile(caller: .withSubordinateIDs, owner: .root, mode: 0o1777, says: "belongs to root"),
        Hostile(caller: .withSubordinateIDs, owner: .withSubordinateIDs, mode: 0o1777, says: "is writable by every user (mode 1777)"),
        Hostile(caller: .withSubordinateIDs, owner: .withSubordinateIDs, mode: 0o770, says: "is writable by its group (mode 770)"),
    ]

    @Test(arguments: hostileStores)
    func aStoreOthersOwnOrCanWriteIsRefusedAndLeftAlone(hostile: Hostile) throws {
        let temp = try TemporaryDirectory("private")
        let store = try hostile.owner.makeStore("store", in: temp)
        #expect(chmod(store, hostile.mode) == 0)
        // What the other user planted: the store must not write through it.
        let victim = temp.path + "/victim"
        try Data("untouched".utf8).write(to: URL(fileURLWithPath: victim))
        #expect(symlink(victim, store + "/tmp") == 0)
        let before = try TreeSnapshot(temp.path)

        let pull = try hostile.caller.devenv(["pull", try Self.layered], store: store)
        #expect(pull.status == 1, "\(pull.output)")
        #expect(pull.stderr.contains("the store \(store) \(hostile.says)"), "\(pull.stderr)")
        #expect(pull.stderr.contains("fix:") && pull.stderr.contains("DEVENV_HOME"), "\(pull.stderr)")
        if hostile.owner.name == hostile.caller.name {
            #expect(pull.stderr.contains("chmod 700 \(store)"), "\(pull.stderr)")
        }
        #expect(try TreeSnapshot(temp.path) == before, "the refused store changed")
        #expect(Self.mode(store) == hostile.mode)
    }

    @Test(arguments: [StoreUser.root, StoreUser.withSubordinateIDs])
    func aTopLevelDirectoryAnotherUserOwnsOrSymlinkedIsRefused(caller: StoreUser) throws {
        let temp = try TemporaryDirectory("private")
        let store = try caller.makeStore("store", in: temp)
        #expect(chmod(store, 0o700) == 0)
        let pull = try caller.devenv(["pull", try Self.layered], store: store)
        try #require(pull.status == 0, "\(pull.output)")

        #expect(try Shell.run("chown", ["\(Self.other.name):\(Self.other.name)", store + "/tmp"]).status == 0)
        let theirs = try caller.devenv(["images"], store: store)
        #expect(theirs.status == 1 && theirs.stderr.contains("\(store)/tmp belongs to devenv-nosub"), "\(theirs.output)")

        #expect(try Shell.run("rm", ["-rf", store + "/tmp"]).status == 0)
        #expect(symlink(temp.path, store + "/tmp") == 0)
        let linked = try caller.devenv(["images"], store: store)
        #expect(linked.status == 1 && linked.stderr.contains("\(store)/tmp is not a directory"), "\(linked.output)")
    }

    /// A directory above the store that another user can write to (or owns) lets them rename the
    /// store away and put theirs in its place: refused, naming that directory, with nothing made.
    /// A sticky one (as /tmp, where every test store lives) is fine.
    @Test(arguments: [StoreUser.root, StoreUser.withSubordinateIDs])
    func aStoreInsideADirectoryOthersCanRenameInIsRefused(caller: StoreUser) throws {
        let temp = try TemporaryDirectory("private")
        let shared = temp.path + "/shared"
        try FileManager.default.createDirectory(atPath: shared + "/mine", withIntermediateDirectories: true)
        #expect(chmod(shared, 0o777) == 0)
        let store = try caller.makeStore("shared/mine/store", in: temp)
        let before = try TreeSnapshot(temp.path)
        let pull = try caller.devenv(["pull", try Self.layered], store: store)
        #expect(pull.status == 1, "\(pull.output)")
        #expect(pull.stderr.contains("the store \(store) is inside \(shared), which is writable by every user (mode 777)"), "\(pull.stderr)")
        #expect(pull.stderr.contains("chmod go-w \(shared)"), "\(pull.stderr)")
        #expect(try TreeSnapshot(temp.path) == before, "the refused store changed")

        #expect(chmod(shared, 0o755) == 0)
        #expect(try Shell.run("chown", ["\(Self.other.name):\(Self.other.name)", shared]).status == 0)
        let theirs = try caller.devenv(["images"], store: store)
        #expect(theirs.status == 1 && theirs.stderr.contains("is inside \(shared), which belongs to devenv-nosub"), "\(theirs.output)")

        #expect(chown(shared, 0, 0) == 0 && chmod(shared, 0o1777) == 0)
        let sticky = try caller.devenv(["images"], store: store)
        #expect(sticky.status == 0, "a sticky directory above the store is fine: \(sticky.output)")
    }

    /// The launcher runs a recorded sandbox without devenv-core: it too must not trust a store
    /// others can write to, where the record's layers could have been swapped.
    @Test func noFastStartFromAStoreOthersCanWrite() throws {
        let temp = try TemporaryDirectory("private")
        let store = temp.path + "/store"
        let command = ["run", "--image", try Self.layered, "--", "true"]
        var trace = ""
        for _ in 0..<3 {
            let run = try Shell.devenv(command, store: store, environment: ["DEVENV_TRACE_START": "1"])
            try #require(run.status == 0, "\(run.output)")
            trace = run.stderr
        }
        try #require(trace.hasPrefix("devenv: fast start from "), "no fast start to refuse: \(trace)")
        #expect(chmod(store, 0o1777) == 0)
        let run = try Shell.devenv(command, store: store, environment: ["DEVENV_TRACE_START": "1"])
        #expect(run.status == 1 && run.stderr.contains("the store \(store) is writable by every user"), "\(run.output)")
    }

    /// A store made by an older devenv (0755 throughout) is the caller's: it is tightened, not refused.
    @Test(arguments: [StoreUser.root, StoreUser.withSubordinateIDs, StoreUser.withoutSubordinateIDs])
    func anOpenStoreOfTheCallersOwnIsMadePrivate(caller: StoreUser) throws {
        let temp = try TemporaryDirectory("private")
        let store = try caller.makeStore("store", in: temp)
        for directory in ["oci", "layers", "envs", "tmp"] {
            #expect(mkdir(store + "/" + directory, 0o755) == 0)
            #expect(chmod(store + "/" + directory, 0o755) == 0)
            #expect(try Shell.run("chown", ["\(caller.name):\(caller.name)", store + "/" + directory]).status == 0)
        }
        #expect(chmod(store, 0o755) == 0)
        let images = try caller.devenv(["images"], store: store)
        #expect(images.status == 0, "\(images.output)")
        for directory in ["", "/oci", "/layers", "/envs", "/tmp"] {
            #expect(Self.mode(store + directory) == 0o700, "store\(directory) was left open")
        }
        let fresh = temp.path + "/made-by-devenv"
        #expect(try Shell.run("chown", ["\(caller.name):\(caller.name)", temp.path]).status == 0)
        let first = try caller.devenv(["images"], store: fresh)
        #expect(first.status == 0, "\(first.output)")
        #expect(Self.mode(fresh) == 0o700)
    }
}
