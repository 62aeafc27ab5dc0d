import Foundation
import Manifest
import Storage

/// The repository files the last build of a project read (`envs/<id>/inputs.json`: path →
/// sha256), so the next build can say which of them changed when a step must run again.
struct BuildInputs {
    let path: String

    init(environmentDirectory: String) {
        path = environmentDirectory + "/inputs.json"
    }

    /// What the last build recorded; empty when nothing was (or the file is not ours to read).
    func read() -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path),
              let digests = try? JSONDecoder().decode([String: String].self, from: data) else { return [:] }
        return digests
    }

    func write(_ files: [Manifest.InputFile], tmpDirectory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let digests = Dictionary(files.map { ($0.path, $0.digest) }, uniquingKeysWith: { first, _ in first })
        try AtomicFile.write(try encoder.encode(digests), to: path, tmpDirectory: tmpDirectory)
    }

    /// The paths among `files` whose contents differ from what `previous` recorded.
    static func changed(_ files: [Manifest.InputFile], previous: [String: String]) -> [String] {
        files.filter { file in previous[file.path].map { $0 != file.digest } ?? false }.map(\.path)
    }
}
