/*
 * Syscall probe, run inside `devenv run` by the sandbox integration tests (compiled there with
 * gcc -static, so it needs nothing from the image). Each check prints "ok NAME" or
 * "FAIL NAME: ..."; the exit status is the number of failures.
 *
 * `probe identity` prints the ids and privileges the process runs with instead: the tests
 * install a setuid-root copy in an image to show that it gains nothing.
 *
 * Where it can, a denied call is made with arguments that would fail with a *different* errno
 * without the seccomp filter (EFAULT, EBADF, EINVAL, ENOENT, ENOTTY, or success), so EPERM proves
 * the filter rather than a missing capability. The arguments are also chosen to be harmless
 * should the probe ever run unconfined, even as root: invalid flags, missing paths, no terminal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

static void expect_errno(const char *name, long result, int expected) {
    int error = errno;
    if (result == -1 && error == expected) {
        printf("ok %s\n", name);
    } else {
        printf("FAIL %s: result %ld, errno %s, expected %s\n", name, result,
               result == -1 ? strerrorname_np(error) : "-", strerrorname_np(expected));
        failures++;
    }
}

static void expect_ok(const char *name, int ok) {
    printf(ok ? "ok %s\n" : "FAIL %s\n", name);
    if (!ok) failures++;
}

/* A call that should have been denied but succeeded may have created a child: reap it. */
static long fork_like(long result) {
    if (result == 0) _exit(0);
    if (result > 0) waitpid((pid_t)result, NULL, 0);
    return result;
}

static void *thread_main(void *argument) { return argument; }

static int print_identity(void) {
    printf("uid=%d euid=%d gid=%d egid=%d\n", getuid(), geteuid(), getgid(), getegid());
    FILE *status = fopen("/proc/self/status", "r");
    if (!status) return 1;
    char line[256];
    while (fgets(line, sizeof line, status))
        if (strncmp(line, "Cap", 3) == 0 || strncmp(line, "NoNewPrivs", 10) == 0) fputs(line, stdout);
    fclose(status);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "identity") == 0) return print_identity();
    /* Denied with EPERM. */
    expect_errno("keyctl", syscall(SYS_keyctl, -1L, 0L, 0L, 0L, 0L), EPERM);
    expect_errno("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0L, 0L), EPERM);
    expect_errno("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0L), EPERM);
    expect_errno("kexec_load", syscall(SYS_kexec_load, 0L, 0L, NULL, -1L), EPERM);
    expect_errno("kexec_file_load", syscall(SYS_kexec_file_load, -1L, -1L, 0L, NULL, 0L), EPERM);
    expect_errno("bpf", syscall(SYS_bpf, -1L, NULL, 0L), EPERM);
    expect_errno("perf_event_open", syscall(SYS_perf_event_open, NULL, 0L, -1L, -1L, 0L), EPERM);
    expect_errno("userfaultfd", syscall(SYS_userfaultfd, -1L), EPERM);
    expect_errno("init_module", syscall(SYS_init_module, NULL, 0L, NULL), EPERM);
    expect_errno("finit_module", syscall(SYS_finit_module, -1L, NULL, 0L), EPERM);
    expect_errno("delete_module", syscall(SYS_delete_module, NULL, 0L), EPERM);
    expect_errno("reboot", syscall(SYS_reboot, 0L, 0L, 0L, NULL), EPERM);
    expect_errno("swapon", syscall(SYS_swapon, NULL, 0L), EPERM);
    expect_errno("swapoff", syscall(SYS_swapoff, NULL), EPERM);
    expect_errno("open_by_handle_at", syscall(SYS_open_by_handle_at, -1L, NULL, 0L), EPERM);
    expect_errno("io_uring_setup", syscall(SYS_io_uring_setup, 0L, NULL), EPERM);
    expect_errno("io_uring_enter", syscall(SYS_io_uring_enter, -1L, 0L, 0L, 0L, NULL, 0L), EPERM);
    expect_errno("io_uring_register", syscall(SYS_io_uring_register, -1L, 0L, NULL, 0L), EPERM);
    const char *missing = "/nonexistent-devenv-probe";
    expect_errno("mount", syscall(SYS_mount, "none", missing, "tmpfs", 0L, NULL), EPERM);
    expect_errno("umount2", syscall(SYS_umount2, missing, 0L), EPERM);
    expect_errno("pivot_root", syscall(SYS_pivot_root, missing, missing), EPERM);
    expect_errno("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, (long)CLONE_NEWUSER), EPERM);
    expect_errno("clone(CLONE_NEWUSER)", fork_like(syscall(SYS_clone, (long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L)), EPERM);
    expect_errno("clone3", syscall(SYS_clone3, NULL, 0L), ENOSYS);

    /* Terminal injection: the filter answers before any driver, so /dev/null (ENOTTY without
     * it) shows the denial without risking a real terminal. */
    char byte = 'x';
    long null = open("/dev/null", O_RDONLY);
    expect_errno("ioctl(TIOCSTI)", syscall(SYS_ioctl, null, (long)TIOCSTI, &byte), EPERM);
    expect_errno("ioctl(TIOCSTI | 1<<32)", syscall(SYS_ioctl, null, (long)(0x100000000UL | TIOCSTI), &byte), EPERM);
    expect_errno("ioctl(TIOCLINUX)", syscall(SYS_ioctl, null, (long)TIOCLINUX, &byte), EPERM);
    close((int)null);

    /* Still allowed. */
    expect_ok("getpid", getpid() > 1);
    pthread_t thread;
    void *result = NULL;
    expect_ok("pthread_create", pthread_create(&thread, NULL, thread_main, (void *)42) == 0 &&
                                pthread_join(thread, &result) == 0 && result == (void *)42);
    pid_t child = fork();
    if (child == 0) _exit(7);
    int status = 0;
    expect_ok("fork", child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 7);
    expect_ok("unshare(0)", syscall(SYS_unshare, 0L) == 0);
    int fd = open("/proc/self/status", O_RDONLY);
    expect_ok("open", fd >= 0);
    if (fd >= 0) close(fd);
    return failures;
}
