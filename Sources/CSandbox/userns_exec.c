/* Runs a program as root of a new user namespace and nothing else: the rootless layer unpack,
 * which must store each owner an image records as the host id the sandbox maps it to. Swift
 * cannot unshare(CLONE_NEWUSER) (it is multi-threaded), so this clones like spawn.c does, and
 * the child, a copy of a multi-threaded process, makes raw syscalls only. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { USERNS_STACK_SIZE = 256 * 1024 };

struct userns_context {
    char *const *argv;
    char *const *envp;
    int go_fd;                  /* the child's end: one byte once the id maps are written */
    int parent_fd;              /* the parent's end, closed so that its EOF reaches the child */
    int output_fd;              /* write end of the output pipe: the program's stdout and stderr */
};

/* Makes `fd` the descriptor `target`, kept open across execve. */
static int redirect(int fd, int target) {
    if (fd == target) return (int)syscall(SYS_fcntl, fd, F_SETFD, 0);
    return (int)syscall(SYS_dup3, fd, target, 0);
}

static int userns_child(void *argument) {
    const struct userns_context *context = argument;
    syscall(SYS_close, context->parent_fd);
    char go;
    long n;
    do n = syscall(SYS_read, context->go_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) syscall(SYS_exit_group, 125); /* devenv gave up before the id maps were written */

    /* Root inside, so that chown may give files any mapped owner. The host groups the user
     * belongs to are dropped: they have no say over what the unpack may touch. */
    if (redirect(context->output_fd, 1) < 0 || redirect(context->output_fd, 2) < 0 ||
        syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 ||
        syscall(SYS_setresuid, 0, 0, 0) < 0)
        syscall(SYS_exit_group, 126);
    syscall(SYS_execve, context->argv[0], context->argv, context->envp);
    syscall(SYS_exit_group, 127);
    return 127;
}

pid_t csandbox_userns_spawn(char *const *argv, char *const *envp, int *output_fd, int *go_fd) {
    /* control is a socket rather than a pipe, so that the "go" byte sent to a dead child fails
     * with EPIPE (MSG_NOSIGNAL) instead of raising SIGPIPE in devenv. */
    int control[2], output[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, control) < 0) return -1;
    if (pipe2(output, O_CLOEXEC) < 0) {
        int saved = errno;
        close(control[0]);
        close(control[1]);
        errno = saved;
        return -1;
    }
    pid_t pid = -1;
    void *stack = mmap(NULL, USERNS_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack != MAP_FAILED) {
        struct userns_context context = {
            .argv = argv, .envp = envp, .go_fd = control[0], .parent_fd = control[1], .output_fd = output[1],
        };
        /* No CLONE_VM: the child has its own copy of `context` and of the stack. */
        pid = clone(userns_child, (char *)stack + USERNS_STACK_SIZE, CLONE_NEWUSER | SIGCHLD, &context);
    }
    int saved = errno;
    if (stack != MAP_FAILED) munmap(stack, USERNS_STACK_SIZE);
    /* Only the child may hold the write end, or reading the output would never see EOF. */
    close(control[0]);
    close(output[1]);
    if (pid < 0) {
        close(control[1]);
        close(output[0]);
        errno = saved;
        return -1;
    }
    *go_fd = control[1];
    *output_fd = output[0];
    return pid;
}
