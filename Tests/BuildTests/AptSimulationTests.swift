import Manifest
import Testing
@testable import Build

@Test func instLinesGiveTheClosureWithVersionsAndArchitectures() {
    let output = """
        NOTE: This is only a simulation!
        Reading package lists...
        Inst libonig5 (6.9.8-1 Debian:12.5/stable [amd64])
        Inst libc6 [2.36-9] (2.36-9+deb12u4 Debian:12.5/stable [amd64]) []
        Inst jq (1.6-2.1 Debian:12.5/stable [amd64])
        Inst python3-pip-whl (23.0.1+dfsg-1 Debian:12.5/stable [all])
        Conf jq (1.6-2.1 Debian:12.5/stable [amd64])
        """
    #expect(AptSimulation.packages(fromOutput: output) == [
        Lock.AptPackage(name: "jq", version: "1.6-2.1", architecture: "amd64"),
        Lock.AptPackage(name: "libc6", version: "2.36-9+deb12u4", architecture: "amd64"),
        Lock.AptPackage(name: "libonig5", version: "6.9.8-1", architecture: "amd64"),
        Lock.AptPackage(name: "python3-pip-whl", version: "23.0.1+dfsg-1", architecture: "all"),
    ])
    #expect(AptSimulation.packages(fromOutput: "0 upgraded, 0 newly installed").isEmpty)
}

@Test func aptErrorsAreItsELines() {
    let output = "Reading package lists...\nE: Unable to locate package nosuch\nE: Version '9' for 'jq' was not found\n"
    #expect(AptSimulation.errors(fromOutput: output) == ["Unable to locate package nosuch", "Version '9' for 'jq' was not found"])
}
