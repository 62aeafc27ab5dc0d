/* Failure reports from the child. Everything here is async-signal-safe: the child is a copy of
 * a multi-threaded process, so another thread may have held malloc's or stdio's lock at clone. */
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void text_append(char *buffer, size_t size, const char *text) {
    size_t length = strlen(buffer);
    while (*text && length + 1 < size) buffer[length++] = *text++;
    buffer[length] = '\0';
}

static void append_number(char *buffer, size_t size, int value) {
    char digits[16];
    int i = sizeof digits - 1;
    unsigned magnitude = value < 0 ? -(unsigned)value : (unsigned)value;
    digits[i] = '\0';
    do {
        digits[--i] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude && i > 1);
    if (value < 0) digits[--i] = '-';
    text_append(buffer, size, digits + i);
}

static const char *step_names[] = {
    [STEP_WAIT] = "wait for id maps",
    [STEP_IDENTITY] = "become root in the user namespace",
    [STEP_PROPAGATION] = "make mounts private",
    [STEP_IDMAP] = "attach the idmapped copy of",
    [STEP_HOSTNAME] = "set hostname",
    [STEP_NETWORK] = "bring up loopback",
    [STEP_SCRATCH] = "mount scratch tmpfs on",
    [STEP_SKELETON] = "create",
    [STEP_OVERLAY] = "mount overlay on",
    [STEP_PROC] = "mount proc on",
    [STEP_SYS] = "bind /sys on",
    [STEP_DEV] = "set up",
    [STEP_TMPFS] = "mount tmpfs on",
    [STEP_BIND] = "bind",
    [STEP_MASK] = "mask",
    [STEP_READONLY] = "make read-only",
    [STEP_PIVOT] = "pivot_root into",
    [STEP_CWD] = "chdir to",
    [STEP_STDIO] = "redirect",
    [STEP_PRIVILEGES] = "drop privileges:",
    [STEP_SECCOMP] = "load seccomp filter",
    [STEP_FORK] = "fork the command",
    [STEP_TERMINAL] = "give the terminal to the command",
    [STEP_EXEC] = "exec",
    [STEP_JOIN] = "join the running environment's namespace:",
};

_Noreturn void child_fail(const struct child_context *context, enum step step, const char *subject, int error) {
    char message[1024] = "";
    text_append(message, sizeof message, step == STEP_EXEC ? "E" : "S");
    append_number(message, sizeof message, error);
    text_append(message, sizeof message, ":");
    text_append(message, sizeof message, step_names[step]);
    if (subject && *subject) {
        text_append(message, sizeof message, " ");
        text_append(message, sizeof message, subject);
    }
    text_append(message, sizeof message, ": ");
    const char *name = strerrorname_np(error);
    text_append(message, sizeof message, name ? name : "unknown error");
    const char *hint = failure_hint(step, error, subject);
    if (hint) {
        text_append(message, sizeof message, " (");
        text_append(message, sizeof message, hint);
        text_append(message, sizeof message, ")");
    }
    /* One write below PIPE_BUF arrives whole. */
    ssize_t ignored = write(context->status_fd, message, strlen(message));
    (void)ignored;
    _exit(step == STEP_EXEC ? (error == ENOENT ? 127 : 126) : 125);
}

const char *failure_hint(enum step step, int error, const char *subject) {
    if (error == ELOOP && step != STEP_EXEC)
        return "a symlink in the image where a mountpoint must be: mounts never follow symlinks";
    if (error == ENOSYS) return "the kernel is too old: devenv needs Linux ≥ 5.12";
    switch (step) {
    case STEP_OVERLAY:
        if (error == EINVAL) return "is the kernel ≥ 5.11? overlayfs needs the userxattr option";
        if (error == EPERM) return "overlayfs in a user namespace needs kernel ≥ 5.11";
        if (error == ENODEV) return "overlayfs is not available: modprobe overlay";
        if (error == ENOENT) return "a layer directory is missing: pull the image again";
        if (error == E2BIG) return "images of more than about 60 layers need Linux ≥ 6.8";
        if (error == EMLINK) return "the image has more than 998 layers, more than overlayfs can stack even nested: flatten it";
        return NULL;
    case STEP_PROC:
        if (error == EPERM)
            return "procfs can be mounted in a user namespace only where the host's /proc is not partly covered, as in some containers";
        return NULL;
    case STEP_BIND:
        if (error == ENOENT) return "the host path does not exist";
        return NULL;
    case STEP_CWD:
        if (error == ENOENT) return "the working directory does not exist inside the environment";
        return NULL;
    case STEP_IDENTITY:
    case STEP_PRIVILEGES:
        if (error == EINVAL || error == EPERM) return "is the id mapped in the user namespace?";
        return NULL;
    case STEP_EXEC:
        if (error == ENOENT)
            return subject && strchr(subject, '/') ? "no such file in the environment, or its interpreter is missing"
                                                   : "command not found in the environment's PATH";
        if (error == EACCES) return "not executable, or on a noexec mount";
        if (error == ENOEXEC) return "not a binary for this machine, and no #! line";
        return NULL;
    case STEP_JOIN:
        if (error == EPERM) return "only the user who started it can join a running environment";
        if (error == EINVAL) return "the descriptor is not of that namespace";
        return NULL;
    default:
        return NULL;
    }
}
