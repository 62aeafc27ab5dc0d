import ImageStore
import Manifest
import Testing
@testable import Environments

/// `devenv up web`: which services a named few bring up.
@Suite struct EnvironmentSupervisorTests {
    /// web needs api, which needs db; worker and cache stand alone.
    static let manifest = """
        [base]
        image = "debian:bookworm"

        [services.web]
        command = "serve"
        depends_on = ["api"]
        [services.worker]
        command = "work"
        [services.api]
        command = "api"
        depends_on = ["db"]
        [services.cache]
        command = "redis-server"
        [services.db]
        command = "postgres"
        """

    func selected(_ names: [String], from text: String = Self.manifest) throws -> [String] {
        let manifest = try Manifest.parse(text, file: "/p/.devenv/devenv.toml", home: "/home/ada")
        return try EnvironmentSupervisor.selected(names, of: manifest).map(\.name)
    }

    @Test func aServiceComesUpWithWhatItDependsOnAllTheWayDownInStartOrder() throws {
        #expect(try selected(["web"]) == ["db", "api", "web"])
        #expect(try selected(["api"]) == ["db", "api"])
        #expect(try selected(["worker"]) == ["worker"])
        #expect(try selected(["web", "cache"]) == ["cache", "db", "api", "web"], "start order, not the order asked")
        #expect(try selected(["db", "db"]) == ["db"])
    }

    @Test func withoutNamesEveryServiceComesUp() throws {
        #expect(try selected([]) == ["cache", "db", "api", "web", "worker"])
    }

    @Test func anUnknownNameIsRefusedListingTheServicesThereAre() throws {
        let error = #expect(throws: DevenvError.self) { _ = try selected(["web", "mail"]) }
        #expect(error?.kind == .user)
        #expect(error?.description == "no service \"mail\" in the manifest; its services: cache, db, api, web, worker")
        let none = #expect(throws: DevenvError.self) { _ = try selected(["web"], from: "[base]\nimage = \"debian:bookworm\"\n") }
        #expect(none?.description == "no service \"web\" in the manifest; its services: none")
    }
}
