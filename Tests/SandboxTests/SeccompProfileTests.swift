import CSeccomp
import Glibc
@testable import Sandbox
import Testing

@Suite(.tags(.rootless)) struct SeccompProfileTests {
    @Test func theDefaultProfileCompilesToABPFProgram() throws {
        let program = try SeccompProfile.default.compile()
        // struct sock_filter is 8 bytes; a default-allow filter for three architectures with
        // argument checks is well over a handful of instructions.
        #expect(program.count % 8 == 0)
        #expect(program.count / 8 > 50)
    }

    @Test func everyDeniedSyscallIsKnownOnThisMachine() {
        for rule in SeccompProfile.default.rules {
            #expect(seccomp_syscall_resolve_name(rule.syscall) >= 0, "\(rule.syscall) is unknown to libseccomp")
        }
    }

    @Test func theDesignListIsDenied() {
        let denied = Set(SeccompProfile.default.rules.filter { $0.condition == nil && $0.errno == EPERM }.map(\.syscall))
        let required: Set = [
            "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "bpf", "perf_event_open", "userfaultfd",
            "init_module", "finit_module", "delete_module", "reboot", "swapon", "swapoff", "open_by_handle_at",
            "io_uring_setup", "io_uring_enter", "io_uring_register", "mount", "umount2", "pivot_root",
        ]
        #expect(required.subtracting(denied).isEmpty)
        #expect(SeccompProfile.default.rules.contains(SeccompProfile.Rule("clone3", errno: ENOSYS)))
    }

    @Test func terminalIoctlsAreMatchedOnTheLow32BitsOnly() {
        let ioctls = SeccompProfile.default.rules.filter { $0.syscall == "ioctl" }
        #expect(ioctls.map { $0.condition?.value } == [0x5412, 0x541C])
        #expect(ioctls.allSatisfy { $0.condition?.mask == 0xFFFF_FFFF && $0.condition?.argument == 1 })
    }

    @Test func newUserNamespacesAreDeniedThroughCloneAndUnshareFlags() {
        for name in ["clone", "unshare"] {
            let rule = SeccompProfile.default.rules.first { $0.syscall == name }
            #expect(rule?.condition == SeccompProfile.Condition(argument: 0, mask: 0x1000_0000, value: 0x1000_0000))
            #expect(rule?.errno == EPERM)
        }
    }

    @Test func syscallsLibseccompDoesNotKnowAreSkipped() throws {
        let profile = SeccompProfile(rules: [SeccompProfile.Rule("no_such_syscall_at_all"), SeccompProfile.Rule("keyctl")])
        #expect(try profile.compile().count > 0)
    }
}
