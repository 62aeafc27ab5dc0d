import Foundation
import TestSupport
import Testing

/// Who runs devenv in a test that runs as root: root itself, or one of the users scripts/test
/// creates (devenv-sub with subordinate ids, devenv-nosub without), through runuser.
struct StoreUser: CustomTestStringConvertible, Sendable {
    let name: String

    static let root = StoreUser(name: "root")
    static let withSubordinateIDs = StoreUser(name: "devenv-sub")
    static let withoutSubordinateIDs = StoreUser(name: "devenv-nosub")
    static let all = [root, withSubordinateIDs, withoutSubordinateIDs]

    var testDescription: String { name }

    /// A new store directory under `temp`, owned by this user as a store they made would be.
    func makeStore(_ name: String, in temp: TemporaryDirectory) throws -> String {
        let store = temp.path + "/" + name
        try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        let chown = try Shell.run("chown", ["\(self.name):\(self.name)", store])
        try #require(chown.status == 0, "the test user \(self.name) is missing (scripts/test creates it): \(chown.output)")
        return store
    }

    @discardableResult
    func devenv(_ arguments: [String], store: String) throws -> Shell.Result {
        let args = Array(arguments.prefix(1)) + ["--store", store] + arguments.dropFirst()
        if name == "root" { return try Shell.run(try TestEnvironment.binary(), args) }
        return try Shell.run("runuser", ["-u", name, "--", try TestEnvironment.binary()] + args)
    }

    /// Runs `command` as this user, for what another local user could do to a store.
    func run(_ command: [String]) throws -> Shell.Result {
        try Shell.run("runuser", ["-u", name, "--"] + command)
    }
}
