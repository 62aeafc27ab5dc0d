import Foundation
import OCI

extension Lock {
    static let rewriteFix = "run `devenv lock --update` to write it again"

    /// Reads and validates the lock at `path` (a regular file inside its project, `ProjectFile`),
    /// sorted as `encoded()` writes it.
    public static func load(path: String) throws(ManifestError) -> Lock {
        try decode(ProjectFile.read(path, what: "lock", limit: FieldGrammar.lockBytes, missingFix: "run `devenv lock` to write it"), file: path)
    }

    /// Parses and validates lock JSON (a snapshot kept elsewhere); `file` is the path errors name.
    public static func decode(_ data: Data, file: String) throws(ManifestError) -> Lock {
        let locator = JSONLocator(data)
        func failure(_ problem: String, at path: [JSONLocator.Step] = [], fix: String = rewriteFix) -> ManifestError {
            ManifestError(file: file, position: locator.position(of: path), problem: problem, fix: fix)
        }
        // JSONDecoder says only "not valid JSON"; JSONSerialization says where.
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
            throw ManifestError(file: file, position: locator.position(describedBy: reason), problem: "the lock is not valid JSON: \(FieldGrammar.escaped(reason))", fix: rewriteFix)
        }
        guard object is [String: Any] else { throw failure("the lock is not a JSON object") }
        let decoder = JSONDecoder()
        // The version first, so a newer format is reported as such rather than as whatever
        // field it changed.
        struct VersionOnly: Decodable { var version: Int? }
        let version: Int?
        do {
            version = try decoder.decode(VersionOnly.self, from: data).version
        } catch {
            throw failure("\"version\" must be an integer", at: [.key("version")])
        }
        guard let version else { throw failure("the lock has no \"version\"") }
        guard version <= currentVersion else {
            throw failure("the lock has version \(version): it was written by a newer devenv (this one reads version \(currentVersion))",
                          at: [.key("version")], fix: "update devenv, or \(rewriteFix) in version \(currentVersion)")
        }
        guard version == currentVersion else { throw failure("the lock has version \(version); expected \(currentVersion)", at: [.key("version")]) }
        let lock: Lock
        do {
            lock = try decoder.decode(Lock.self, from: data)
        } catch let error as DecodingError {
            let (problem, path) = describe(error)
            throw failure(problem, at: path)
        } catch {
            throw failure("the lock cannot be read: \(FieldGrammar.escaped("\(error)"))")
        }
        if let (problem, path) = lock.problem() { throw failure(problem, at: path) }
        return lock.normalized()
    }

    private static func describe(_ error: DecodingError) -> (String, [JSONLocator.Step]) {
        switch error {
        case .keyNotFound(let key, let context):
            let path = steps(context.codingPath)
            return ("\(describe(path + [.key(key.stringValue)])) is missing", path)
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            let path = steps(context.codingPath)
            return ("\(describe(path)) has the wrong type: \(FieldGrammar.escaped(context.debugDescription))", path)
        @unknown default:
            return ("the lock cannot be read: \(FieldGrammar.escaped("\(error)"))", [])
        }
    }

    private static func steps(_ codingPath: [any CodingKey]) -> [JSONLocator.Step] {
        codingPath.map { $0.intValue.map(JSONLocator.Step.index) ?? .key($0.stringValue) }
    }

    /// "apt.packages[2].name", as messages name a place in the lock.
    static func describe(_ path: [JSONLocator.Step]) -> String {
        guard !path.isEmpty else { return "the lock" }
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return "\"\(text)\""
    }

    /// The first thing wrong with a decoded lock, and where.
    func problem() -> (String, [JSONLocator.Step])? {
        if let problem = baseProblem() { return problem }
        if let apt, let problem = Self.problem(apt) { return problem }
        if let pip, let problem = Self.problem(pip) { return problem }
        return nil
    }

    private func baseProblem() -> (String, [JSONLocator.Step])? {
        let at = { (key: String) -> [JSONLocator.Step] in [.key("base"), .key(key)] }
        switch (base.image, base.bootstrap) {
        case (nil, nil): return ("\"base\" has neither \"image\" nor \"bootstrap\"", [.key("base")])
        case (.some, .some): return ("\"base\" has both \"image\" and \"bootstrap\"", [.key("base")])
        case (let image?, nil):
            if (try? Reference(parsing: image)) == nil { return ("\"base.image\" \(FieldGrammar.quote(image)) is not an image reference", at("image")) }
            if base.mirror != nil { return ("\"base.mirror\" applies only to a bootstrap base, not to an image", at("mirror")) }
        case (nil, let bootstrap?):
            // The lock is as untrusted as the manifest: what reaches mmdebstrap is checked here too.
            if let problem = FieldGrammar.bootstrapProblem(bootstrap) {
                return ("\"base.bootstrap\" \(FieldGrammar.quote(bootstrap)) \(problem.problem)", at("bootstrap"))
            }
            if let mirror = base.mirror, let problem = FieldGrammar.mirrorProblem(mirror) {
                return ("\"base.mirror\" \(FieldGrammar.quote(mirror)) \(problem.problem)", at("mirror"))
            }
        }
        if let digest = base.digest, (try? Digest(digest)) == nil {
            return ("\"base.digest\" \(FieldGrammar.quote(digest)) is not sha256:<64 lowercase hex digits>", at("digest"))
        }
        if let platform = base.platform, !FieldGrammar.platformIsValid(platform) {
            return ("\"base.platform\" \(FieldGrammar.quote(platform)) is not of the form OS/ARCH[/VARIANT], e.g. \"linux/amd64\"", at("platform"))
        }
        return nil
    }

    private static func problem(_ apt: Apt) -> (String, [JSONLocator.Step])? {
        let at = { (steps: JSONLocator.Step...) -> [JSONLocator.Step] in [.key("apt")] + steps }
        if apt.requested.isEmpty { return ("\"apt.requested\" is empty; a lock with nothing to install has no \"apt\"", at(.key("requested"))) }
        if apt.requested.count > FieldGrammar.packageEntries {
            return ("\"apt.requested\" has \(apt.requested.count) entries; a manifest lists at most \(FieldGrammar.packageEntries)", at(.key("requested")))
        }
        for (index, request) in apt.requested.enumerated() where AptSpec.problem(request) != nil || request.utf8.count > FieldGrammar.packageEntryLength {
            return ("\"apt.requested\" entry \(FieldGrammar.quote(request)) is not an apt package name or name=version", at(.key("requested"), .index(index)))
        }
        // No packages is a valid resolution: the base already has everything requested.
        var seen: Set<[String]> = []
        for (index, package) in apt.packages.enumerated() {
            let path = at(.key("packages"), .index(index))
            if AptSpec.problem(package.name) != nil || package.name.contains("=") || package.name.utf8.count > FieldGrammar.packageEntryLength {
                return ("\"apt.packages\" has \(FieldGrammar.quote(package.name)), which is not a Debian package name", path + [.key("name")])
            }
            if AptSpec.problem("\(package.name)=\(package.version)") != nil || package.version.utf8.count > FieldGrammar.packageEntryLength {
                return ("\(package.name) has version \(FieldGrammar.quote(package.version)), which is not a Debian version", path + [.key("version")])
            }
            if !(1...32).contains(package.architecture.utf8.count)
                || !package.architecture.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
                return ("\(package.name) has architecture \(FieldGrammar.quote(package.architecture)), which is not a Debian architecture", path + [.key("architecture")])
            }
            if !seen.insert([package.name, package.architecture]).inserted {
                return ("\"apt.packages\" lists \(package.name) for \(package.architecture) twice", path)
            }
        }
        return nil
    }

    private static func problem(_ pip: Pip) -> (String, [JSONLocator.Step])? {
        let at = { (steps: JSONLocator.Step...) -> [JSONLocator.Step] in [.key("pip")] + steps }
        if pip.requested.isEmpty { return ("\"pip.requested\" is empty; a lock with nothing to install has no \"pip\"", at(.key("requested"))) }
        if pip.requested.count > FieldGrammar.packageEntries {
            return ("\"pip.requested\" has \(pip.requested.count) entries; a manifest lists at most \(FieldGrammar.packageEntries)", at(.key("requested")))
        }
        for (index, requirement) in pip.requested.enumerated()
        where PipRequirement.problem(requirement) != nil || requirement.utf8.count > FieldGrammar.packageEntryLength {
            return ("\"pip.requested\" entry \(FieldGrammar.quote(requirement)) is not a PEP 508 requirement", at(.key("requested"), .index(index)))
        }
        let pythonParts = pip.python.split(separator: ".", omittingEmptySubsequences: false)
        if !(2...4).contains(pythonParts.count) || !pythonParts.allSatisfy({ (1...4).contains($0.count) && $0.allSatisfy { $0.isASCII && $0.isNumber } }) {
            return ("\"pip.python\" \(FieldGrammar.quote(pip.python)) is not a Python version such as \"3.11.2\"", at(.key("python")))
        }
        if pip.distributions.isEmpty { return ("\"pip.distributions\" is empty although requirements were resolved", at(.key("distributions"))) }
        var seen: Set<String> = []
        for (index, distribution) in pip.distributions.enumerated() {
            let path = at(.key("distributions"), .index(index))
            let name = distribution.name
            if PipRequirement.problem(name) != nil || name.utf8.count > FieldGrammar.packageEntryLength
                || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
                return ("\"pip.distributions\" has \(FieldGrammar.quote(name)), which is not a project name", path + [.key("name")])
            }
            // The version is spliced into a requirements line: PEP 440 characters only.
            if !FieldGrammar.pipVersionIsValid(distribution.version) {
                return ("\(name) has version \(FieldGrammar.quote(distribution.version)), which is not a version", path + [.key("version")])
            }
            if distribution.sha256.isEmpty {
                return ("\(name) has no sha256 hashes (pip --require-hashes needs at least one)", path + [.key("sha256")])
            }
            for (hashIndex, hash) in distribution.sha256.enumerated() where (try? Digest("sha256:" + hash)) == nil {
                return ("\(name) has sha256 \(FieldGrammar.quote(hash)), which is not 64 lowercase hex digits", path + [.key("sha256"), .index(hashIndex)])
            }
            if !seen.insert(normalizedPipName(name)).inserted {
                return ("\"pip.distributions\" lists \(name) twice", path)
            }
        }
        return nil
    }
}
