import ArgumentParser
import Environments
import Foundation
import ImageStore
import Sandbox

struct TrustCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust",
        abstract: "Approve what the project's manifest reaches outside the repository (host mounts, an unconfined sandbox).",
        discussion: """
            A manifest that mounts host paths ([mounts]) or turns the system call filter off \
            ([security] seccomp = "unconfined") runs only after you approved exactly that on this \
            machine; until then run, enter and build refuse and say what it asks for. devenv trust \
            prints each request with its line and records the approval in the store (per user and \
            per store, like direnv allow). A manifest that asks for something else later (another \
            path, another mode) needs a new approval; other edits (packages, [env], moving lines) \
            do not. Read the manifest before you approve a repository someone else wrote.

            An approved project (even one that asks for nothing) also gets your ssh agent \
            ($SSH_AUTH_SOCK) in run and enter: code inside can then use your keys while it runs.

            Examples:
              devenv trust                 approve what .devenv/devenv.toml asks for
              devenv trust --revoke        take the approval back
              devenv trust --show          what it asks for and whether that is approved
              devenv trust --json | jq .state
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Remove the project's approval; run, enter and build refuse again.")
    var revoke = false

    @Flag(help: "Print the requests and whether they are approved; approve nothing. Exits 1 when they need an approval.")
    var show = false

    @Flag(help: "Like --show, as a JSON object.")
    var json = false

    func validate() throws {
        guard !(revoke && (show || json)) else { throw ValidationError("--revoke changes the approval; --show and --json only report it: use one") }
    }

    struct Report: Encodable {
        struct Request: Encodable {
            var setting: String
            var meaning: String
            var line: Int?
            var canonical: String
            /// Not among the requests of an earlier approval.
            var new: Bool
        }
        var project: String
        var manifest: String
        var approval: String
        /// "not-needed", "approved", "not-approved" or "changed".
        var state: ProjectTrust.State
        var digest: String
        var approvedDigest: String?
        var approvedAt: String?
        var requests: [Request]
        /// Approved before and no longer asked for, canonical.
        var withdrawn: [String]
    }

    func run() throws {
        try global.enterDirectory()
        let project = try Project.discover()
        if revoke {
            // Without reading the manifest: a broken or hostile one can always be revoked.
            let removed = try ProjectTrust.revoke(project: project, store: try global.store())
            if !global.quiet {
                Terminal.out(removed ? "Revoked the approval for \(project.directory); run, enter and build refuse until you approve again."
                                     : "Nothing was approved for \(project.directory).")
            }
            return
        }
        let manifest = try project.manifest(home: HostUser.current().home)
        let store = try global.store()
        let trust = try ProjectTrust(project: project, manifest: manifest, store: store)
        if json {
            try printJSON(trust)
        } else if show {
            printShow(trust)
        } else {
            try approve(trust, store: store)
            return
        }
        if trust.state == .notApproved || trust.state == .changed { throw ExitCode(1) }
    }

    private func approve(_ trust: ProjectTrust, store: StoreLocation) throws {
        try trust.approve(store: store)
        guard !global.quiet else { return }
        guard trust.state != .notNeeded else {
            Terminal.out("""
                Approved for \(trust.project.directory) on this machine: \(trust.project.manifestPath) asks for nothing outside \
                the repository, and your ssh agent is forwarded into its run and enter. \
                `\(trust.approveCommand(global.given)) --revoke` takes it back.
                """)
            return
        }
        Terminal.out("Approved for \(trust.project.directory) on this machine:")
        trust.lines(changes: false).forEach(Terminal.out)
        Terminal.out("A manifest that asks for more or other than this asks again; `\(trust.approveCommand(global.given)) --revoke` takes it back.")
    }

    private func printShow(_ trust: ProjectTrust) {
        switch trust.state {
        case .notNeeded: Terminal.out("Nothing to approve: \(trust.project.manifestPath) asks for nothing outside the repository.")
        case .approved: Terminal.out("Approved on this machine (\(trust.approval?.approved ?? "")):")
        case .notApproved: Terminal.out("Not approved on this machine; \(trust.project.manifestPath) asks for:")
        case .changed: Terminal.out("Changed since you approved it (\(trust.approval?.approved ?? "")); \(trust.project.manifestPath) now asks for:")
        }
        trust.lines().forEach(Terminal.out)
        if trust.state == .notApproved || trust.state == .changed { Terminal.out(trust.advice(global.given)) }
    }

    private func printJSON(_ trust: ProjectTrust) throws {
        let report = Report(
            project: trust.project.directory, manifest: trust.project.manifestPath, approval: trust.approvalPath,
            state: trust.state, digest: trust.digest, approvedDigest: trust.approval?.digest, approvedAt: trust.approval?.approved,
            requests: trust.requests.map {
                Report.Request(setting: $0.setting, meaning: $0.meaning, line: $0.position?.line, canonical: $0.canonical, new: trust.isNew($0))
            },
            withdrawn: trust.withdrawn)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        Terminal.out(String(decoding: try encoder.encode(report), as: UTF8.self))
    }
}
