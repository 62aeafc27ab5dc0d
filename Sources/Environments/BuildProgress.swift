import Foundation
import ImageStore

/// What a build has to say, as events: the library prints nothing, the command decides how a
/// terminal or a log shows them (`BuildOutput` in DevenvCommands).
public enum BuildEvent: Sendable {
    /// What a layer's line reports once the layer is in place.
    public enum LayerState: Sendable, Equatable {
        case cached
        case pulled(Duration)
        case built(Duration)
        /// Another devenv built it while this one waited.
        case builtByAnother
    }

    /// A line about the build as a whole ("Building …", "Updated the lock …").
    case heading(String)
    /// A step starts running; `summary` says what it holds and why it runs.
    case starting(title: String, summary: String)
    /// A step's layer is being downloaded from `source` (`[share] image`) instead.
    case pulling(title: String, summary: String, source: String)
    case layer(title: String, summary: String, state: LayerState)
    /// One line of a running step's own output.
    case stepLine(String)
    /// One line of a resolution step's output (apt or pip asked what to install).
    case resolveLine(String)
    /// The base image is being pulled.
    case pull(ImagePullEvent)
}

/// Where a build's events go, and how much is wanted: `quiet` keeps a failing step's last lines
/// for its error instead of streaming them (`StepFailure`); `verbose` asks for resolution output.
public struct BuildProgress: Sendable {
    public let quiet: Bool
    public let verbose: Bool
    private let report: @Sendable (BuildEvent) -> Void

    public init(quiet: Bool, verbose: Bool, report: @escaping @Sendable (BuildEvent) -> Void) {
        self.quiet = quiet
        self.verbose = verbose
        self.report = report
    }

    /// Reports nothing: for work whose progress nobody asked about.
    public static let silent = BuildProgress(quiet: true, verbose: false) { _ in }

    func heading(_ text: String) {
        if !quiet { report(.heading(text)) }
    }

    func layer(_ title: String, _ summary: String, _ state: BuildEvent.LayerState) {
        if !quiet { report(.layer(title: title, summary: summary, state: state)) }
    }

    func pulling(_ title: String, _ summary: String, from source: String) {
        if !quiet { report(.pulling(title: title, summary: summary, source: source)) }
    }

    func starting(_ title: String, _ summary: String) {
        if !quiet { report(.starting(title: title, summary: summary)) }
    }

    /// Where a pull's events go (the base image), unless quiet.
    var pull: @Sendable (ImagePullEvent) -> Void {
        let report = report, quiet = quiet
        return { if !quiet { report(.pull($0)) } }
    }

    /// A step's own output lines, unless quiet.
    var stepLine: (@Sendable (String) -> Void)? {
        guard !quiet else { return nil }
        let report = report
        return { report(.stepLine($0)) }
    }

    /// Resolution steps' output is noise unless asked for.
    var resolveLine: (@Sendable (String) -> Void)? {
        guard verbose, !quiet else { return nil }
        let report = report
        return { report(.resolveLine($0)) }
    }
}
