import Foundation
import OCI

/// The repository files a manifest builds from: requirements files (`pip = ["-r FILE"]`), which
/// become requirements the lock resolves, and each `[[setup]]` step's `files`, whose contents
/// become part of the step's cache key. Read like the manifest itself (`ProjectFile`): regular
/// files inside the project, up to a limit.
extension Manifest {
    mutating func readInputs(manifestPath: String) throws(ManifestError) {
        let project = ProjectFile.root(of: manifestPath)
        var digests: [String: String] = [:]
        var requirements: [String] = []
        for reference in packages.requirementsFiles {
            var visiting: [String] = []
            try Self.readRequirements(reference.path, project: project, depth: 0, visiting: &visiting, digests: &digests,
                                      requirements: &requirements) { problem, fix in
                ManifestError(file: manifestPath, position: reference.position, problem: "pip entry \"-r \(reference.path)\": \(problem)", fix: fix)
            }
        }
        guard packages.pip.count + requirements.count <= FieldGrammar.packageEntries else {
            let position = packages.requirementsFiles.first?.position ?? SourcePosition(line: 1, column: 1)
            throw ManifestError(file: manifestPath, position: position,
                                problem: "pip has \(packages.pip.count + requirements.count) requirements with its requirements files; devenv takes at most \(FieldGrammar.packageEntries)",
                                fix: "list only what the environment needs")
        }
        packages.pip += requirements
        for step in setup {
            for file in step.files where digests[file.path] == nil {
                let data = try Self.readInput(file.path, project: project) { problem, fix in
                    ManifestError(file: manifestPath, position: file.position,
                                  problem: "setup step \"\(step.name)\" reads \(FieldGrammar.quote(file.path)): \(problem)", fix: fix)
                }
                digests[file.path] = Digest(hashing: data).hex
            }
        }
        inputFiles = digests.keys.sorted().map { InputFile(path: $0, digest: digests[$0]!) }
    }

    /// The contents of `path` (relative to `project`) if it is a regular file inside the
    /// project; `failure` turns what is wrong into the error to throw.
    public static func readInput(_ path: String, project: String,
                                 failure: (_ problem: String, _ fix: String) -> ManifestError) throws(ManifestError) -> Data {
        do {
            return try ProjectFile.read(project + "/" + path, what: "", limit: FieldGrammar.inputFileBytes,
                                        missingFix: "add the file to the repository, or remove it from the manifest", project: project)
        } catch {
            throw failure(error.problem, error.fix)
        }
    }

    private static func readRequirements(_ path: String, project: String, depth: Int, visiting: inout [String], digests: inout [String: String],
                                         requirements: inout [String],
                                         failure: (_ problem: String, _ fix: String) -> ManifestError) throws(ManifestError) {
        guard !visiting.contains(path) else {
            throw failure("\(visiting.joined(separator: " includes ")) includes \(path) again", "remove the -r line that closes the circle")
        }
        guard depth < FieldGrammar.requirementsDepth else {
            throw failure("requirements files include each other more than \(FieldGrammar.requirementsDepth) deep (\(visiting.joined(separator: " → ")))",
                          "include the files from fewer levels")
        }
        let data = try readInput(path, project: project, failure: failure)
        guard data.count <= FieldGrammar.requirementsFileBytes, let text = String(data: data, encoding: .utf8) else {
            throw failure("\(path) is not UTF-8 text of at most \(FieldGrammar.requirementsFileBytes) bytes", "save it as UTF-8 text")
        }
        digests[path] = Digest(hashing: data).hex
        let parsed = try RequirementsFile(parsing: text, file: project + "/" + path)
        visiting.append(path)
        defer { visiting.removeLast() }
        for line in parsed.lines {
            switch line {
            case .requirement(let requirement):
                if !requirements.contains(requirement) { requirements.append(requirement) }
            case .include(let included, let position):
                // pip reads an included path from the including file's directory.
                let directory = (path as NSString).deletingLastPathComponent
                guard let resolved = Self.normalize(directory.isEmpty ? included : directory + "/" + included),
                      FieldGrammar.relativePathProblem(resolved) == nil else {
                    throw ManifestError(file: project + "/" + path, position: position,
                                        problem: "-r \(FieldGrammar.quote(included)) is not a file inside the repository",
                                        fix: "name a file in the repository by a path relative to this file")
                }
                try readRequirements(resolved, project: project, depth: depth + 1, visiting: &visiting, digests: &digests,
                                     requirements: &requirements) { problem, fix in
                    ManifestError(file: project + "/" + path, position: position, problem: "-r \(included): \(problem)", fix: fix)
                }
            }
        }
    }

    /// `a/./b/../c` as `a/c`; nil when `..` climbs above the top.
    static func normalize(_ path: String) -> String? {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." {
            if part == ".." {
                guard parts.popLast() != nil else { return nil }
            } else {
                parts.append(part)
            }
        }
        return parts.joined(separator: "/")
    }
}
