import Testing
@testable import Environments

@Suite struct ProjectTrustTests {
    @Test func theApproveCommandRepeatsDirectoryAndStoreAsTheShellReadsThemBack() throws {
        #expect(ProjectTrust.shellWord("/src/web") == "/src/web")
        #expect(ProjectTrust.shellWord("/src/my web") == "'/src/my web'")
        #expect(ProjectTrust.shellWord("it's") == "'it'\\''s'")
        #expect(ProjectTrust.shellWord("$(rm -rf ~)") == "'$(rm -rf ~)'")
        #expect(ProjectTrust.shellWord("") == "''")
    }
}
