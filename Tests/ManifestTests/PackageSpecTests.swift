import Testing
@testable import Manifest

@Suite struct PackageSpecTests {
    @Test(arguments: ["jq", "postgresql-15", "g++", "libstdc++6", "jq=1.6-2.1", "tzdata=1:2024a-0+deb12u1", "foo=2.0~rc1", "bar=1.0"])
    func validAptSpecs(spec: String) {
        #expect(AptSpec.problem(spec) == nil)
    }

    @Test(arguments: ["j", "Jq", "-jq", "jq_1", "jq=", "jq=abc", "jq=1.0-", "jq=x:1.0", "jq=1.0 beta"])
    func invalidAptSpecs(spec: String) {
        #expect(AptSpec.problem(spec) != nil)
    }

    @Test(arguments: ["six", "django==4.2.16", "requests[socks]>=2.31,<3", "a.b_c-d ~= 1.4", "x (>=1.0, !=1.5.*)",
                      "tomli; python_version < '3.11'", "pkg @ https://example.com/p.whl", "n===1.0+local"])
    func validPipRequirements(spec: String) {
        #expect(PipRequirement.problem(spec) == nil)
    }

    @Test(arguments: ["", "-six", "django=4.2", "django==", "requests[socks", "requests[]", "x >= 1.0 <2", "six;", "pkg @ notaurl", "x (>=1.0"])
    func invalidPipRequirements(spec: String) {
        #expect(PipRequirement.problem(spec) != nil)
    }

    @Test func suggestionsTolerateTyposNotOtherWords() {
        #expect(Suggestion.closest(to: "imgae", among: ["image", "bootstrap", "mirror"]) == "image")
        #expect(Suggestion.closest(to: "shel", among: ManifestParser.rootKeys) == "shell")
        #expect(Suggestion.closest(to: "speed", among: ["mode"]) == nil)
        #expect(Suggestion.distance("imgae", "image") == 1)
        #expect(Suggestion.distance("kitten", "sitting") == 3)
    }
}
