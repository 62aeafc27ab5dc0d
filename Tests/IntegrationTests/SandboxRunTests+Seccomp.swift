import Foundation
import Testing

/// The seccomp filter, seen from a static probe inside (Fixtures/sandbox-probe.c).
extension SandboxRunTests {
    @Test func deniedSyscallsFailWithTheirErrnoAndTheRestWork() throws {
        let probe = project.path + "/probe"
        try FileManager.default.copyItem(atPath: try SandboxScope.current().probe, toPath: probe)
        let result = try run([probe])
        #expect(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("FAIL") }.isEmpty, "\(result.stdout)")
        for name in ["keyctl", "bpf", "clone3", "ioctl(TIOCSTI | 1<<32)", "unshare(CLONE_NEWUSER)", "clone(CLONE_NEWUSER)",
                     "pthread_create", "fork"] {
            #expect(lines.contains("ok \(name)"[...]), "\(name) was not checked")
        }
    }
}
