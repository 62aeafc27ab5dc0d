/* Joining a running sandbox (`devenv up`'s services, and run/enter while it is up): the
 * command enters the namespaces of its pid 1 instead of new ones (docs/architecture.md,
 * "Running environments"). The child is a copy of a multi-threaded process: syscalls only. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { JOIN_STACK_SIZE = 256 * 1024 };

static const int csandbox_namespace_types[CSANDBOX_NAMESPACE_COUNT] = {
    CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP,
};
static const char *const csandbox_namespace_names[CSANDBOX_NAMESPACE_COUNT] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup"};

const char *csandbox_namespace_name(int index) {
    return index >= 0 && index < CSANDBOX_NAMESPACE_COUNT ? csandbox_namespace_names[index] : "";
}

struct join_context {
    struct child_context child;
    const int *namespaces;
    int pid_fd;                 /* write end: the command's pid, as the caller sees it */
    int parent_status_fd;
    int parent_pid_fd;
};

static int join_child(void *argument) {
    struct join_context *join = argument;
    const struct child_context *context = &join->child;
    syscall(SYS_close, join->parent_status_fd);
    syscall(SYS_close, join->parent_pid_fd);
    /* Nothing inside may look into this process (its memory is devenv's) before execve. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) child_fail(context, STEP_PRIVILEGES, "dumpable", errno);
    /* The user namespace first: its capabilities are what allow joining the others. Each call
     * names the type it expects, so a descriptor of another kind of namespace is refused; -1 is
     * one the caller shares already (the host's network). */
    for (int i = 0; i < CSANDBOX_NAMESPACE_COUNT; i++)
        if (join->namespaces[i] >= 0 && syscall(SYS_setns, join->namespaces[i], csandbox_namespace_types[i]) < 0)
            child_fail(context, STEP_JOIN, csandbox_namespace_names[i], errno);
    /* setns into a pid namespace moves only the children to come; CLONE_PARENT makes the one
     * that runs the command the caller's own child, which it waits for and signals. */
    pid_t command = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
    if (command < 0) child_fail(context, STEP_FORK, NULL, errno);
    if (command > 0) {
        ssize_t ignored = write(join->pid_fd, &command, sizeof command);
        (void)ignored;
        syscall(SYS_exit_group, 0);
    }
    syscall(SYS_close, join->pid_fd);
    /* setns put the root and cwd at the sandbox's root; the command runs where it asked. */
    unsigned saved_umask = umask(0);
    if (chdir(context->config->cwd) < 0) child_fail(context, STEP_CWD, context->config->cwd, errno);
    confine_command(context);
    become_command(context, saved_umask);
}

int csandbox_join(const struct csandbox_config *config, const int *namespaces, int forward_signals, struct csandbox_process *process,
                  char *error, size_t error_size, int *errno_out) {
    int status[2], pid_pipe[2];
    if (pipe2(status, O_CLOEXEC) < 0) {
        *errno_out = errno;
        if (error_size) snprintf(error, error_size, "pipe: %s", strerrorname_np(errno));
        return CSANDBOX_SETUP;
    }
    if (pipe2(pid_pipe, O_CLOEXEC) < 0) {
        *errno_out = errno;
        if (error_size) snprintf(error, error_size, "pipe: %s", strerrorname_np(errno));
        close(status[0]);
        close(status[1]);
        return CSANDBOX_SETUP;
    }
    struct join_context join = {
        .child = {.config = config, .control_fd = status[1], .status_fd = status[1], .parent_control_fd = -1,
                  .parent_status_fd = -1, .idmapped_layers_fd = -1, .idmapped_upper_fd = -1},
        .namespaces = namespaces, .pid_fd = pid_pipe[1], .parent_status_fd = status[0], .parent_pid_fd = pid_pipe[0],
    };
    pid_t joiner = -1;
    void *stack = mmap(NULL, JOIN_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack != MAP_FAILED) {
        joiner = clone(join_child, (char *)stack + JOIN_STACK_SIZE, SIGCHLD, &join);
        int saved = errno;
        munmap(stack, JOIN_STACK_SIZE);
        errno = saved;
    }
    int clone_error = errno;
    close(status[1]);
    close(pid_pipe[1]);
    if (joiner < 0) {
        close(status[0]);
        close(pid_pipe[0]);
        *errno_out = clone_error;
        if (error_size) snprintf(error, error_size, "clone: %s", strerrorname_np(clone_error));
        return CSANDBOX_SETUP;
    }

    pid_t command = -1;
    ssize_t got;
    do got = read(pid_pipe[0], &command, sizeof command);
    while (got < 0 && errno == EINTR);
    close(pid_pipe[0]);
    int joiner_status;
    while (waitpid(joiner, &joiner_status, 0) < 0 && errno == EINTR) {}
    if (forward_signals && got == sizeof command) start_forwarding(command);

    char report[1024];
    size_t length = 0;
    for (;;) {
        ssize_t n = read(status[0], report + length, sizeof report - 1 - length);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        length += (size_t)n;
        if (length == sizeof report - 1) break;
    }
    report[length] = '\0';
    close(status[0]);
    process->pid = command;
    process->control_fd = -1;
    process->status_fd = -1;
    if (length == 0 && got == sizeof command) return 0;

    int kind = report[0] == 'E' ? CSANDBOX_EXEC : CSANDBOX_SETUP;
    char *message = strchr(report, ':');
    *errno_out = length ? atoi(report + 1) : ECHILD;
    if (error_size) {
        error[0] = '\0';
        text_append(error, error_size, length ? (message ? message + 1 : report) : "the joining process ended early");
    }
    if (got == sizeof command) {
        if (forward_signals) stop_forwarding();
        int command_status;
        while (waitpid(command, &command_status, 0) < 0 && errno == EINTR) {}
    }
    return kind;
}
