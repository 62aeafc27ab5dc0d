import Foundation
import Sandbox
import Storage

#if canImport(Glibc)
import Glibc
#endif

/// Deletes trees of the store, in the user namespace they were made in when that is needed.
public enum StoreCleaner {
    /// `mapping`: the layout's mapping (non-nil only rootless with subordinate ids).
    public static func remove(_ paths: [String], mapping: IDMapping?) throws {
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
