/* The child's half after the root filesystem is in place: become the command's user with no
 * privileges left (a build step's root keeps Docker's default capabilities, in the namespace),
 * then stay as pid 1 (a reaper that forwards signals) while a forked child executes the command.
 * Syscalls only, for the reasons given in setup.c. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Signals a process sends to pid 1 (devenv forwarding its own, or `kill 1` inside) go on to
 * the command. A terminal's signals (si_code SI_KERNEL) are not forwarded: the terminal sends
 * them to the command's process group itself, and a second copy would be seen twice. */
static const int forwarded_signals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
static volatile pid_t command_pid;

static void forward_signal(int signal, siginfo_t *info, void *unused) {
    (void)unused;
    if (info->si_code <= 0 && command_pid > 0) kill(command_pid, signal);
}

static void wake_up(int signal) { (void)signal; }

/* Docker's default set, for build steps: what apt, dpkg and maintainer scripts need as root
 * (chown, setresuid to _apt, mknod, chroot), all of it confined to the user namespace. */
static const int build_capabilities[] = {
    CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

static uint64_t kept_capabilities(const struct csandbox_config *config) {
    uint64_t kept = 0;
    if (config->keep_capabilities && config->uid == 0)
        for (size_t i = 0; i < sizeof build_capabilities / sizeof *build_capabilities; i++) kept |= 1ull << build_capabilities[i];
    return kept;
}

static void drop_privileges(const struct child_context *context) {
    const struct csandbox_config *config = context->config;
    uint64_t kept = kept_capabilities(config);
    /* The bounding set caps what any later execve can grant: with it empty, not even a
     * setuid-root or file-capability binary, or uid 0, gets a capability again; with the build
     * set, root keeps exactly that set across execve. */
    for (int cap = 0; cap <= 63; cap++)
        if (!(kept >> cap & 1) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            child_fail(context, STEP_PRIVILEGES, "bounding set", errno);
    if (config->setgroups_allowed && syscall(SYS_setgroups, 0, NULL) < 0) child_fail(context, STEP_PRIVILEGES, "setgroups", errno);
    if (syscall(SYS_setresgid, config->gid, config->gid, config->gid) < 0) child_fail(context, STEP_PRIVILEGES, "setresgid", errno);
    if (syscall(SYS_setresuid, config->uid, config->uid, config->uid) < 0) child_fail(context, STEP_PRIVILEGES, "setresuid", errno);
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    memset(data, 0, sizeof data);
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
        uint32_t word = (uint32_t)(kept >> (32 * i));
        data[i].effective = data[i].permitted = data[i].inheritable = word;
    }
    if (syscall(SYS_capset, &header, data) < 0) child_fail(context, STEP_PRIVILEGES, "capset", errno);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        child_fail(context, STEP_PRIVILEGES, "ambient capabilities", errno);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(context, STEP_PRIVILEGES, "no_new_privs", errno);
    /* The reaper is a copy of the devenv binary: non-dumpable, its /proc/1/exe, /proc/1/mem and
     * ptrace are closed to the command (the runc CVE-2019-5736 class of attacks). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) child_fail(context, STEP_PRIVILEGES, "dumpable", errno);
}

/* The fds the caller chose for 0-2 (a build step's output pipe, /dev/null) go in place before
 * everything else is closed. Each is copied above 2 first, so that one being another's target
 * (the output given as fd 0, say) cannot be overwritten before it is used; the copies are closed
 * with the rest. */
static void install_stdio(const struct child_context *context) {
    static const char *const names[] = {"standard input", "standard output", "standard error"};
    const int *wanted = context->config->stdio;
    int copies[3];
    for (int i = 0; i < 3; i++) {
        copies[i] = wanted[i] < 0 ? -1 : (int)syscall(SYS_fcntl, wanted[i], F_DUPFD_CLOEXEC, 3);
        if (wanted[i] >= 0 && copies[i] < 0) child_fail(context, STEP_STDIO, names[i], errno);
    }
    for (int i = 0; i < 3; i++)
        if (copies[i] >= 0 && syscall(SYS_dup3, copies[i], i, 0) < 0) child_fail(context, STEP_STDIO, names[i], errno);
}

static void close_other_fds(const struct child_context *context) {
    int low = context->control_fd < context->status_fd ? context->control_fd : context->status_fd;
    int high = context->control_fd ^ context->status_fd ^ low;
    unsigned ranges[3][2] = {{3, (unsigned)low - 1}, {(unsigned)low + 1, (unsigned)high - 1}, {(unsigned)high + 1, ~0u}};
    for (int i = 0; i < 3; i++)
        if (ranges[i][0] <= ranges[i][1] && syscall(SYS_close_range, ranges[i][0], ranges[i][1], 0) < 0)
            child_fail(context, STEP_PRIVILEGES, "close_range", errno);
}

/* Loaded last before the fork, so the reaper is confined too and the command inherits it. */
static void load_seccomp(const struct child_context *context) {
    const struct csandbox_config *config = context->config;
    if (!config->seccomp_filter) return;
    struct sock_fprog program = {
        .len = (unsigned short)(config->seccomp_length / sizeof(struct sock_filter)),
        .filter = (struct sock_filter *)config->seccomp_filter,
    };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0) child_fail(context, STEP_SECCOMP, NULL, errno);
}

static const char *environment_value(char *const *envp, const char *name) {
    size_t length = strlen(name);
    for (; *envp; envp++)
        if (strncmp(*envp, name, length) == 0 && (*envp)[length] == '=') return *envp + length + 1;
    return NULL;
}

/* execvp's search, in the sandbox's PATH (glibc's execvp would read devenv's environment). */
_Noreturn static void exec_command(const struct child_context *context) {
    const struct csandbox_config *config = context->config;
    const char *file = config->argv[0];
    if (strchr(file, '/')) {
        execve(file, config->argv, config->envp);
        child_fail(context, STEP_EXEC, file, errno);
    }
    const char *search = environment_value(config->envp, "PATH");
    if (!search) search = "/usr/local/bin:/usr/bin:/bin";
    int error = ENOENT;
    for (const char *entry = search;; entry++) {
        const char *end = strchrnul(entry, ':');
        char candidate[4096] = "";
        size_t length = (size_t)(end - entry);
        if (length + strlen(file) + 2 < sizeof candidate) {
            memcpy(candidate, entry, length);
            candidate[length] = '\0';
            text_append(candidate, sizeof candidate, length ? "/" : "./");
            text_append(candidate, sizeof candidate, file);
            execve(candidate, config->argv, config->envp);
            if (errno == EACCES) error = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR) child_fail(context, STEP_EXEC, file, errno);
        }
        if (!*end) break;
        entry = end;
    }
    child_fail(context, STEP_EXEC, file, error);
}

_Noreturn void become_command(const struct child_context *context, unsigned saved_umask) {
    const struct csandbox_config *config = context->config;
    /* Every signal back to its default, with the raw syscall: glibc's sigaction() refuses the
     * two real-time signals it keeps for itself (32, 33), so an ignore the caller set on them
     * would reach the command or not depending on which libc started devenv. */
    struct { void (*handler)(int); unsigned long flags; void (*restorer)(void); uint64_t mask; } default_action = {.handler = SIG_DFL};
    for (int signal = 1; signal <= 64; signal++)
        if (signal != SIGKILL && signal != SIGSTOP)
            syscall(SYS_rt_sigaction, signal, &default_action, NULL, sizeof default_action.mask);
    if (config->foreground) {
        /* Its own process group, in front on the terminal: the terminal's Ctrl-C and Ctrl-Z go to
         * the command (a shell: to its current job), not to devenv. SIGTTOU is still blocked,
         * so taking the terminal from the background does not stop us. */
        pid_t self = getpid();
        if (setpgid(0, 0) < 0 || ioctl(0, TIOCSPGRP, &self) < 0) child_fail(context, STEP_TERMINAL, NULL, errno);
    } else if (config->own_process_group && setpgid(0, 0) < 0) {
        child_fail(context, STEP_FORK, "(own process group)", errno);
    }
    umask(saved_umask);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    exec_command(context);
}

static int exit_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}

void confine_command(const struct child_context *context) {
    drop_privileges(context);
    install_stdio(context);
    close_other_fds(context);
    load_seccomp(context);
}

_Noreturn void run_reaper(const struct child_context *context, unsigned saved_umask) {
    /* Otherwise pid 1 carries the name of the devenv thread that cloned it. */
    prctl(PR_SET_NAME, "devenv-init", 0, 0, 0);
    confine_command(context);

    /* Block what the loop waits for, so no signal slips in between a check and ppoll(). */
    sigset_t blocked, none;
    sigemptyset(&blocked);
    sigemptyset(&none);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++) sigaddset(&blocked, forwarded_signals[i]);
    sigaddset(&blocked, SIGCHLD);
    sigaddset(&blocked, SIGTTOU);
    sigprocmask(SIG_BLOCK, &blocked, NULL);

    /* A raw clone is fork() without glibc's atfork handlers, which assume locks we cannot trust.
     * Holding, there is no command: the namespaces stay until devenv closes the control socket. */
    pid_t child = 0;
    if (!context->config->hold) {
        child = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (child < 0) child_fail(context, STEP_FORK, NULL, errno);
        if (child == 0) become_command(context, saved_umask);
    }
    command_pid = child;
    close(context->status_fd);

    struct sigaction forward = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigfillset(&forward.sa_mask);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof *forwarded_signals; i++) sigaction(forwarded_signals[i], &forward, NULL);
    struct sigaction chld = {.sa_handler = wake_up, .sa_flags = SA_NOCLDSTOP};
    sigaction(SIGCHLD, &chld, NULL);

    struct pollfd control = {.fd = context->control_fd, .events = POLLIN};
    for (;;) {
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0)
            if (child > 0 && reaped == child) _exit(exit_status(status)); /* pid 1 exiting kills the rest */
        if (ppoll(&control, 1, NULL, &none) > 0) {
            char byte;
            if (read(context->control_fd, &byte, 1) <= 0) _exit(137); /* devenv is gone: end the sandbox */
        }
    }
}
