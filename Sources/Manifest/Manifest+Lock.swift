extension Manifest {
    /// Installs pip requirements into; Debian's python3 cannot create a venv without it.
    static let venvPackage = "python3-venv"

    /// The apt packages to resolve: `[packages] apt` as written ("jq", "jq=1.6-2.1"), plus
    /// python3-venv when there are pip requirements and apt does not already name it.
    public var aptRequests: [String] {
        let needsVenv = !packages.pip.isEmpty && !packages.apt.contains { Lock.aptName($0) == Self.venvPackage }
        return packages.apt + (needsVenv ? [Self.venvPackage] : [])
    }
}

extension Lock {
    /// The package name of an apt request, without its `=version`.
    static func aptName(_ request: String) -> Substring {
        request.prefix { $0 != "=" }
    }

    /// The project name of a PEP 508 requirement, PEP 503-normalized.
    static func pipName(_ requirement: String) -> String {
        normalizedPipName(requirement.drop { $0 == " " }.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
    }
}
