import Foundation
import Layers
import Sandbox

extension HelperCommand {
    /// Runs `devenv unpack-layer` (DevenvCommands) for one layer as 0/0 inside `mapping`, which
    /// leaves it at `destination`; throws the child's message as the in-process unpack would
    /// throw its `LayerError`.
    public static func unpackLayer(archive: String, into: String, lowers: [String], expected: LayerDigests?, publishAs destination: String,
                                   mapping: IDMapping, describe: (String) -> DevenvError) throws -> UnpackSummary {
        var arguments = [try executable(), "unpack-layer", "--archive", archive, "--into", into, "--publish-as", destination]
        for lower in lowers { arguments += ["--lower", lower] }
        if let expected {
            arguments += ["--diff-id", expected.diffID]
            if let blob = expected.blob { arguments += ["--blob-digest", blob] }
        }
        let result: UserNamespaceProcess.Result
        do {
            result = try UserNamespaceProcess.run(arguments, environment: environment, mapping: mapping)
        } catch {
            throw DevenvError.internal("cannot unpack layers with the id mapping of the sandbox: \(error)")
        }
        let output = String(decoding: result.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0 else {
            throw describe(output.isEmpty ? "unpack-layer exited with status \(result.status)" : output)
        }
        do {
            return try JSONDecoder().decode(UnpackSummary.self, from: Data(result.output))
        } catch {
            throw DevenvError.internal("unpack-layer printed no summary: \(output)")
        }
    }
}
