import Layers
import OCI

/// What a pull has to say, as events (the library prints nothing; `PullProgress` in
/// DevenvCommands draws them).
public enum ImagePullEvent: Sendable {
    public enum LayerPhase: Sendable {
        case waitingForAnother
        case unpacking
        case unpacked(Duration)
        case alreadyUnpacked
    }

    case pulling(Reference)
    /// The registry client's own progress: manifest resolved, bytes, retries.
    case transfer(PullEvent)
    case layer(Digest, LayerPhase)
    /// What unpacking one layer found (entries, whiteouts, what it could not reproduce).
    case unpackSummary(Digest, UnpackSummary)
    /// Unpacked without root: what of the image could not be reproduced, in words.
    case notReproduced([String])
    /// The pull is over, done or failed: a live display stops redrawing.
    case finished
}
