import Git

/// The project directory as `run` and `enter` find it (docs/architecture.md, "Data flow"): the
/// working tree of the git repository containing the working directory (after `-C`), else the
/// working directory itself, with symlinks resolved.
enum ProjectRoot {
    static func find(_ global: GlobalOptions) throws -> String {
        try global.enterDirectory()
        return try discover()
    }

    /// The project of the working directory as it is (`-C` already applied).
    static func discover() throws -> String {
        let workingDirectory = try EnvironmentLauncher.physicalWorkingDirectory()
        let project = GitRepository.discoverWorkingTree(from: workingDirectory).map(EnvironmentLauncher.physical) ?? workingDirectory
        guard project != "/" else {
            throw DevenvError.user("the project directory would be / (the whole host): run devenv inside a project directory")
        }
        return project
    }
}
