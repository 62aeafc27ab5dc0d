import Foundation
import ImageStore
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct StoreLocationTests {
    @Test func anExplicitPathWinsOverTheEnvironmentAndIsMadeAbsolute() throws {
        let scratch = try TemporaryDirectory("store-test")
        let store = try StoreLocation(explicit: scratch.path + "/given", environment: ["DEVENV_HOME": scratch.path + "/env"])
        #expect(store.root == scratch.path + "/given")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/env"))
    }

    @Test func devenvHomeThenXDGDataHomeThenHome() throws {
        guard geteuid() != 0 else {
            // As root the default is /var/lib/devenv: the variables below are a user's.
            let store = try StoreLocation(explicit: nil, environment: [:])
            #expect(store.root == "/var/lib/devenv")
            return
        }
        let scratch = try TemporaryDirectory("store-test")
        #expect(try StoreLocation(explicit: nil, environment: ["DEVENV_HOME": scratch.path + "/a", "XDG_DATA_HOME": scratch.path]).root
            == scratch.path + "/a")
        #expect(try StoreLocation(explicit: nil, environment: ["XDG_DATA_HOME": scratch.path]).root == scratch.path + "/devenv")
        // A relative XDG_DATA_HOME is invalid by the spec and ignored.
        #expect(try StoreLocation(explicit: nil, environment: ["XDG_DATA_HOME": "relative", "HOME": scratch.path]).root
            == scratch.path + "/.local/share/devenv")
    }

    @Test func theStoreAndItsTopLevelDirectoriesAreTheOwnersAlone() throws {
        let scratch = try TemporaryDirectory("store-test")
        let store = try StoreLocation(explicit: scratch.path + "/store")
        for directory in [store.root] + store.topLevelDirectories {
            var info = stat()
            #expect(stat(directory, &info) == 0, "\(directory) was not made")
            #expect(info.st_mode & 0o077 == 0, "\(directory) has mode \(String(info.st_mode & 0o777, radix: 8))")
            #expect(info.st_uid == geteuid())
        }
    }

    @Test func aStoreAnotherUserCanWriteToIsRefusedNotRepaired() throws {
        let scratch = try TemporaryDirectory("store-test")
        let root = try scratch.directory("store", mode: 0o777)
        #expect(throws: DevenvError.self) { try StoreLocation(explicit: root) }
        var info = stat()
        #expect(stat(root, &info) == 0 && info.st_mode & 0o777 == 0o777, "the refused store was changed")
    }
}
