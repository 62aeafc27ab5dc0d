import CGit2
import Foundation

extension GitRepository {
    /// Where a working tree's code comes from, as an image's `org.opencontainers.image.source`
    /// and `.revision` name it: the `origin` remote's URL (without credentials in it) and the
    /// commit HEAD points at. Nil parts when the repository has none (no origin, no commit yet).
    public struct Source: Sendable, Equatable {
        public var url: String?
        public var commit: String?
    }

    /// The source of the repository at `workTree`; nil when it is not a repository libgit2 opens.
    public static func source(of workTree: String) -> Source? {
        _ = initialized
        var repository: OpaquePointer?
        guard git_repository_open_ext(&repository, workTree, UInt32(GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue), nil) == 0,
              let repository else { return nil }
        defer { git_repository_free(repository) }
        var source = Source()
        var head = git_oid()
        if git_reference_name_to_id(&head, repository, "HEAD") == 0 {
            var text = [CChar](repeating: 0, count: Int(GIT_OID_HEXSZ) + 1)
            git_oid_tostr(&text, text.count, &head)
            source.commit = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        var remote: OpaquePointer?
        if git_remote_lookup(&remote, repository, "origin") == 0, let remote {
            defer { git_remote_free(remote) }
            if let url = git_remote_url(remote) { source.url = withoutCredentials(String(cString: url)) }
        }
        return source
    }

    /// `https://user:token@host/x` (and `https://token@host/x`) as `https://host/x`: an image is
    /// public, a token in a remote URL is not. Over ssh the user name is part of the address
    /// (`ssh://git@host/x`) and stays; a password never does.
    static func withoutCredentials(_ url: String) -> String {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              components.user != nil || components.password != nil else { return url }
        components.password = nil
        if scheme == "http" || scheme == "https" { components.user = nil }
        return components.string ?? url
    }
}
