import Foundation
import ImageStore
import Manifest
import OCI

/// Whether the user approved, on this machine and for this store, what the project's manifest
/// asks for beyond the repository (`TrustRequest`; docs/architecture.md, "Trust boundary").
/// `run`, `enter` and `build` call `requireApproval` before they build or start anything.
public struct ProjectTrust {
    public enum State: String, Encodable {
        /// The manifest asks for nothing that needs approval.
        case notNeeded = "not-needed"
        /// Exactly these requests were approved.
        case approved
        /// No approval for this project.
        case notApproved = "not-approved"
        /// An approval of other requests: the manifest changed since.
        case changed
    }

    public let project: Project
    public let requests: [TrustRequest]
    public let digest: String
    /// `trust/<sha256 of the project's path>` in the store.
    public let approvalPath: String
    public let approval: TrustApproval?

    public init(project: Project, manifest: Manifest, store: StoreLocation) throws {
        self.project = project
        requests = TrustRequest.requests(of: manifest)
        digest = TrustRequest.digest(requests.map(\.canonical))
        approvalPath = Self.approvalPath(project: project, store: store)
        approval = try TrustApproval.load(approvalPath)
    }

    /// Also a launch record's input: a fast start must never run what was revoked since.
    public static func approvalPath(project: Project, store: StoreLocation) -> String {
        store.root + "/trust/" + Digest(hashing: Array(project.directory.utf8)).hex
    }

    public var state: State {
        if requests.isEmpty { return .notNeeded }
        guard let approval else { return .notApproved }
        return approval.digest == digest ? .approved : .changed
    }

    /// The user approved exactly the current requests (possibly none) with `devenv trust`: what
    /// devenv offers from the host beyond the manifest (the ssh agent) is then the project's too.
    var isApproved: Bool { approval?.digest == digest }

    /// True when the request was not among those approved before (all are, without an approval).
    public func isNew(_ request: TrustRequest) -> Bool {
        !(approval?.requests.contains(request.canonical) ?? false)
    }

    /// What was approved and is no longer asked for, in canonical form.
    public var withdrawn: [String] {
        (approval?.requests ?? []).filter { canonical in !requests.contains { $0.canonical == canonical } }
    }

    /// Records the approval of exactly the current requests.
    public func approve(store: StoreLocation) throws {
        let time = ISO8601DateFormatter().string(from: Date())
        try TrustApproval(project: project.directory, digest: digest, requests: requests.map(\.canonical), approved: time)
            .write(to: approvalPath, tmpDirectory: store.tmp)
    }

    /// Removes the project's approval; false when there was none.
    public static func revoke(project: Project, store: StoreLocation) throws -> Bool {
        let path = approvalPath(project: project, store: store)
        guard unlink(path) == 0 else {
            if errno == ENOENT { return false }
            throw DevenvError.internal("cannot remove the approval \(path): \(String(cString: strerror(errno)))")
        }
        return true
    }

    /// The request lines, each `FILE:LINE: SETTING: MEANING`; `changes`: when an older approval
    /// of other requests exists, mark the new ones and add those no longer asked for.
    public func lines(changes: Bool = true) -> [String] {
        let marked = changes && state == .changed
        return requests.map { "  " + $0.line(file: project.manifestPath) + (marked && isNew($0) ? " (new)" : "") }
            + (marked ? withdrawn.map { "  no longer asked for: \($0)" } : [])
    }

    /// Throws the refusal, naming every request and the command that approves them, unless the
    /// current requests are approved (or there are none).
    public func requireApproval(_ given: GivenLocation) throws {
        let heading: String
        switch state {
        case .notNeeded, .approved: return
        case .notApproved: heading = "\(project.manifestPath) asks for what needs your approval on this machine:"
        case .changed: heading = "\(project.manifestPath) changed since you approved it on this machine; it now asks for:"
        }
        throw DevenvError.user(([heading] + lines() + [advice(given)]).joined(separator: "\n"))
    }

    public func advice(_ given: GivenLocation) -> String {
        let command = approveCommand(given)
        return "Read the manifest, then run `\(command)` to approve (`\(command) --revoke` takes it back)."
    }

    /// `devenv trust`, with -C and --store when the user gave them: an approval is for one project
    /// and one store.
    public func approveCommand(_ given: GivenLocation) -> String {
        var words = ["devenv", "trust"]
        if given.directory != nil { words += ["-C", project.directory] }
        if let store = given.store { words += ["--store", StoreLocation.absolute(store)] }
        return words.map(Self.shellWord).joined(separator: " ")
    }

    /// `word` as a shell reads it back: in single quotes when it has anything but plain characters.
    public static func shellWord(_ word: String) -> String {
        guard word.isEmpty || word.contains(where: { !($0.isASCII && ($0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0))) }) else { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
