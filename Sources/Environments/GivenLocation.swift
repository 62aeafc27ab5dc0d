/// Where the user pointed devenv, as given on the command line (`-C`, `--store`): messages
/// that tell them a command to run repeat these, since an approval or a build is for one
/// project in one store.
public struct GivenLocation: Sendable {
    public var directory: String?
    public var store: String?

    public init(directory: String?, store: String?) {
        self.directory = directory
        self.store = store
    }
}
