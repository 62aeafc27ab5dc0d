import Testing
@testable import Environments

@Suite struct ServiceSupervisorTests {
    /// A service that keeps crashing is restarted ever more slowly, but never less often than
    /// every 30 s: it comes back soon after what it waits for does.
    @Test func restartsWaitHalfASecondDoublingUpToThirtySeconds() {
        #expect((1...8).map { ServiceSupervisor.backoff(failures: $0) } == [0.5, 1, 2, 4, 8, 16, 30, 30])
        #expect(ServiceSupervisor.backoff(failures: 1000) == 30)
        #expect(ServiceSupervisor.backoff(failures: Int.max) == 30)
        // No failure counted yet (never below the first pause).
        #expect(ServiceSupervisor.backoff(failures: 0) == 0.5)
    }
}
