/* The parent's half: runs in devenv (a normal multi-threaded process), clones the child and
 * talks to it through a socket pair (control) and a pipe (status). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

enum { CHILD_STACK_SIZE = 1 << 20 };

static void set_error(char *error, size_t size, const char *what, int number, const char *hint) {
    if (!size) return;
    error[0] = '\0';
    text_append(error, size, what);
    text_append(error, size, ": ");
    const char *name = strerrorname_np(number);
    text_append(error, size, name ? name : "unknown error");
    if (hint) {
        text_append(error, size, " (");
        text_append(error, size, hint);
        text_append(error, size, ")");
    }
}

int csandbox_spawn(const struct csandbox_config *config, struct csandbox_process *process, char *error, size_t error_size) {
    /* control is a socket pair rather than a pipe: writing to it once the child is gone fails
     * with EPIPE (MSG_NOSIGNAL) instead of killing devenv with SIGPIPE. */
    int control[2], status[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) < 0) {
        set_error(error, error_size, "socketpair", errno, NULL);
        return -1;
    }
    if (pipe2(status, O_CLOEXEC) < 0) {
        set_error(error, error_size, "pipe", errno, NULL);
        close(control[0]);
        close(control[1]);
        return -1;
    }
    /* The child works on a copy of this memory (no CLONE_VM), so the stack can go right after. */
    void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        set_error(error, error_size, "allocate the child's stack", errno, NULL);
        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        return -1;
    }
    struct child_context context = {.config = config, .control_fd = control[0], .status_fd = status[1],
                                    .parent_control_fd = control[1], .parent_status_fd = status[0]};
    if (idmap_prepare(config, &context, error, error_size) < 0) {
        munmap(stack, CHILD_STACK_SIZE);
        close(control[0]);
        close(control[1]);
        close(status[0]);
        close(status[1]);
        return -1;
    }
    int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP | SIGCHLD;
    if (config->new_network) flags |= CLONE_NEWNET;
    /* clone(), unlike unshare(CLONE_NEWUSER), works in a multi-threaded process. */
    pid_t pid = clone(child_main, (char *)stack + CHILD_STACK_SIZE, flags, &context);
    int clone_error = errno;
    idmap_release(&context);
    munmap(stack, CHILD_STACK_SIZE);
    close(control[0]);
    close(status[1]);
    if (pid < 0) {
        close(control[1]);
        close(status[0]);
        const char *hint = clone_error == EPERM || clone_error == ENOSPC || clone_error == EACCES
            ? "user namespaces are disabled: check sysctl user.max_user_namespaces and kernel.unprivileged_userns_clone, or an AppArmor userns restriction"
            : clone_error == EINVAL ? "the kernel lacks user, pid or cgroup namespaces" : NULL;
        set_error(error, error_size, "clone the sandbox", clone_error, hint);
        return -1;
    }
    process->pid = pid;
    process->control_fd = control[1];
    process->status_fd = status[0];
    return 0;
}

static void reap(struct csandbox_process *process) {
    int status;
    while (waitpid(process->pid, &status, 0) < 0 && errno == EINTR) {}
    if (process->control_fd >= 0) close(process->control_fd);
    process->control_fd = -1;
}

void csandbox_abort(struct csandbox_process *process) {
    kill(process->pid, SIGKILL);
    if (process->status_fd >= 0) close(process->status_fd);
    process->status_fd = -1;
    reap(process);
}

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
enum { FORWARDED_COUNT = sizeof forwarded / sizeof *forwarded };
static struct sigaction before_forwarding[FORWARDED_COUNT];
static volatile pid_t forward_to;

/* Only what a process sent (si_code <= 0: kill, sigqueue, tkill); see reaper.c. */
static void forward_signal(int signal, siginfo_t *info, void *unused) {
    (void)unused;
    if (info->si_code <= 0 && forward_to > 0) kill(forward_to, signal);
}

/* From before the command is released until it is reaped: a signal sent to us as soon as the
 * command has visibly started (a file it wrote, say) must reach it, not end us. */
void start_forwarding(pid_t pid) {
    struct sigaction forward = {.sa_sigaction = forward_signal, .sa_flags = SA_SIGINFO | SA_RESTART};
    sigemptyset(&forward.sa_mask);
    forward_to = pid;
    for (int i = 0; i < FORWARDED_COUNT; i++) sigaction(forwarded[i], &forward, &before_forwarding[i]);
}

void stop_forwarding(void) {
    forward_to = 0;
    for (int i = 0; i < FORWARDED_COUNT; i++) sigaction(forwarded[i], &before_forwarding[i], NULL);
}

void csandbox_stop_forwarding(void) { stop_forwarding(); }

int csandbox_start(struct csandbox_process *process, char *error, size_t error_size, int *errno_out) {
    start_forwarding(process->pid);
    ssize_t written;
    do written = send(process->control_fd, "g", 1, MSG_NOSIGNAL);
    while (written < 0 && errno == EINTR);
    char report[1024];
    size_t length = 0;
    for (;;) {
        ssize_t n = read(process->status_fd, report + length, sizeof report - 1 - length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        length += (size_t)n;
        if (length == sizeof report - 1) break;
    }
    report[length] = '\0';
    close(process->status_fd);
    process->status_fd = -1;
    if (length == 0) return 0;

    /* "<S|E><errno>:<message>", written by child_fail(). */
    int kind = report[0] == 'E' ? CSANDBOX_EXEC : CSANDBOX_SETUP;
    char *message = strchr(report, ':');
    *errno_out = atoi(report + 1);
    if (error_size) {
        error[0] = '\0';
        text_append(error, error_size, message ? message + 1 : report);
    }
    stop_forwarding();
    csandbox_abort(process);
    return kind;
}

int csandbox_wait(struct csandbox_process *process, int reclaim_terminal) {
    int status = 0;
    while (waitpid(process->pid, &status, 0) < 0 && errno == EINTR) {}

    stop_forwarding();
    close(process->control_fd);
    process->control_fd = -1;

    if (reclaim_terminal) {
        /* The command may have left the terminal to its own, now empty, process group. Taking
         * it back from the background raises SIGTTOU unless this thread blocks it. */
        sigset_t ttou, saved;
        sigemptyset(&ttou);
        sigaddset(&ttou, SIGTTOU);
        pthread_sigmask(SIG_BLOCK, &ttou, &saved);
        tcsetpgrp(0, getpgrp());
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 125;
}
