import ArgumentParser
import HostChecks
import Foundation

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check that this machine can run devenv environments, and say how to fix what cannot.",
        discussion: """
            Checks the kernel (5.11 or newer), user namespaces (by creating one), overlayfs in a \
            user namespace (by mounting one), seccomp (by compiling devenv's filter with \
            libseccomp), the id mapping devenv will use (root, subordinate ids through newuidmap, \
            or a single id) with the newuidmap and newgidmap helpers, the store's free space, \
            libgit2, and, for the project's .devenv/devenv.toml, that it is valid, the host tools \
            its base needs (mmdebstrap for a bootstrap base) and that its base image's registry \
            answers. Each line is ok, warn, fail or skip; a warning or failure says how to fix \
            it. Exits 0 when nothing failed, 1 otherwise.

            Examples:
              devenv doctor
              devenv doctor -C ~/src/webapp        # also check webapp's manifest and registry
              devenv doctor --json | jq '.checks[] | select(.status != "ok")'
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the checks as JSON: {\"ok\": …, \"checks\": [{\"name\", \"status\", \"detail\", \"fix\"}]}.")
    var json = false

    func run() async throws {
        try global.enterDirectory()
        #if os(Linux)
        let checks = await HostChecks(storePath: global.storePath).run()
        #else
        let checks = [DoctorCheck.fail(
            "os", "devenv environments are Linux containers: they need a Linux kernel, which this system does not have",
            fix: "run devenv inside a Linux VM, as Docker Desktop does: WSL2 on Windows (wsl --install -d Debian), Lima on macOS (limactl start template://debian-12)")]
        #endif
        let failed = checks.filter { $0.status == .fail }.count
        if json {
            struct Report: Encodable {
                let ok: Bool
                let checks: [DoctorCheck]
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Terminal.out(String(decoding: try encoder.encode(Report(ok: failed == 0, checks: checks)), as: UTF8.self))
        } else {
            print(checks)
            let warned = checks.filter { $0.status == .warn }.count
            if !global.quiet || failed > 0 {
                Terminal.out(failed == 0 && warned == 0 ? "devenv can run environments on this machine"
                             : "\(failed) failed, \(warned) warning\(warned == 1 ? "" : "s")\(failed == 0 ? ": devenv can run environments on this machine" : "")")
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// `status  name  detail`, and the fix indented below; with -q only the lines that need
    /// attention.
    private func print(_ checks: [DoctorCheck]) {
        let width = checks.map(\.name.count).max() ?? 0
        for check in checks where !global.quiet || check.status == .fail || check.status == .warn {
            let status = check.status.rawValue.padding(toLength: 6, withPad: " ", startingAt: 0)
            Terminal.out(status + check.name.padding(toLength: width + 2, withPad: " ", startingAt: 0) + check.detail)
            if let fix = check.fix {
                Terminal.out(String(repeating: " ", count: 6 + width + 2) + "fix: " + fix)
            }
        }
    }
}
