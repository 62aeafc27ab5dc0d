import ArgumentParser
import Foundation
import Sandbox
import Storage

/// Removes store directories whose files belong to subordinate ids (layers built or unpacked
/// rootless): only root of a user namespace with the sandbox's mapping may delete those, so
/// `StoreCleaner` runs this command there. Not for people: hidden from help.
struct RemoveTree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove-tree",
        abstract: "Remove store directories (run by devenv inside a user namespace).",
        shouldDisplay: false
    )

    @Argument var paths: [String]

    func run() throws {
        for path in paths {
            do { try LayerStore.removeTree(path) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
        }
    }
}

/// Deletes trees of the store, in the user namespace they were made in when that is needed.
enum StoreCleaner {
    /// `mapping`: the layout's mapping (non-nil only rootless with subordinate ids).
    static func remove(_ paths: [String], mapping: IDMapping?) throws {
        let existing = paths.filter { access($0, F_OK) == 0 }
        guard !existing.isEmpty else { return }
        guard let mapping else {
            for path in existing { try LayerStore.removeTree(path) }
            return
        }
        let result: UserNamespaceProcess.Result
        do {
            result = try UserNamespaceProcess.run([try HelperCommand.executable(), "remove-tree"] + existing,
                                                  environment: HelperCommand.environment, mapping: mapping)
        } catch {
            throw DevenvError.internal("cannot remove \(existing.joined(separator: ", ")) in the sandbox's user namespace: \(error)")
        }
        guard result.status == 0 else {
            throw DevenvError.internal("cannot remove \(existing.joined(separator: ", ")): \(String(decoding: result.output, as: UTF8.self))")
        }
    }
}

/// How devenv runs itself for work that must happen inside a user namespace.
enum HelperCommand {
    /// This devenv binary, resolved now: the child runs in the same mount namespace, but
    /// /proc/self/exe would be its own by then.
    static func executable() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else {
            throw DevenvError.internal("cannot find the devenv binary: readlink /proc/self/exe: \(String(cString: strerror(errno)))")
        }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static var environment: [String] { ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" } }
}
