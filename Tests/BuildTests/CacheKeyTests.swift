import Testing
@testable import Build

@Test func keysDependOnEveryInput() {
    let key = CacheKey(parent: "p", step: "apt", inputs: ["jq=1.6"])
    #expect(key == CacheKey(parent: "p", step: "apt", inputs: ["jq=1.6"]))
    #expect(key != CacheKey(parent: "q", step: "apt", inputs: ["jq=1.6"]))
    #expect(key != CacheKey(parent: "p", step: "pip", inputs: ["jq=1.6"]))
    #expect(key != CacheKey(parent: "p", step: "apt", inputs: ["jq=1.7"]))
    // Field boundaries count: ["ab"] and ["a", "b"] are different inputs.
    #expect(CacheKey(parent: "p", step: "s", inputs: ["ab"]) != CacheKey(parent: "p", step: "s", inputs: ["a", "b"]))
    #expect(key.description.hasPrefix("build-") && key.description.count == 64)
}
