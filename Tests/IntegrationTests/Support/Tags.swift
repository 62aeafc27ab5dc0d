import Testing

extension Tag {
    /// Suites scripts/test reruns as the two unprivileged users (with subordinate ids and
    /// without) after the run as root: whatever differs rootless (id mapping, ownership, the
    /// store under $HOME) must be proved there too.
    @Tag static var rootless: Self
}
