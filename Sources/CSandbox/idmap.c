/* Idmapped copies of host directories for a sandbox whose ids are shifted away from the host's
 * (root's build steps): the kernel translates owners at the mount, so nothing is chowned. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { HOLDER_STACK_SIZE = 64 * 1024 };

/* Lives only to own a user namespace until the parent has a descriptor of it, then is killed
 * (not told by EOF: a holder cloned at the same time by another thread would keep a copy of the
 * write end, and each wait for the other). */
static int hold_namespace(void *argument) {
    (void)argument;
    for (;;) pause();
}

static int write_map(pid_t pid, const char *name, const char *map) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(map);
    int result = write(fd, map, length) == (ssize_t)length ? 0 : -1;
    int error = errno;
    close(fd);
    errno = error;
    return result;
}

static void fail(char *error, size_t size, const char *what, const char *subject, int number) {
    if (!size) return;
    snprintf(error, size, "%s%s%s: %s", what, subject ? " " : "", subject ? subject : "", strerrorname_np(number) ?: "unknown error");
}

/* A user namespace with the given maps, as a descriptor. */
static int make_namespace(const char *uid_map, const char *gid_map, char *error, size_t error_size) {
    void *stack = mmap(NULL, HOLDER_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        fail(error, error_size, "allocate a stack", NULL, errno);
        return -1;
    }
    pid_t pid = clone(hold_namespace, (char *)stack + HOLDER_STACK_SIZE, CLONE_NEWUSER | SIGCHLD, NULL);
    int clone_error = errno;
    munmap(stack, HOLDER_STACK_SIZE);
    if (pid < 0) {
        fail(error, error_size, "clone a user namespace for the id mapping", NULL, clone_error);
        return -1;
    }
    int namespace = -1;
    if (write_map(pid, "uid_map", uid_map) < 0) fail(error, error_size, "write the uid map", uid_map, errno);
    else if (write_map(pid, "gid_map", gid_map) < 0) fail(error, error_size, "write the gid map", gid_map, errno);
    else {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        namespace = open(path, O_RDONLY | O_CLOEXEC);
        if (namespace < 0) fail(error, error_size, "open", path, errno);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return namespace;
}

int csandbox_idmapped_trees(const char *uid_map, const char *gid_map, const char *const *paths, size_t count, int *fds,
                            char *error, size_t error_size) {
    int namespace = make_namespace(uid_map, gid_map, error, error_size);
    if (namespace < 0) return -1;
    size_t made = 0;
    for (; made < count; made++) {
        int tree = (int)syscall(SYS_open_tree, AT_FDCWD, paths[made], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0) {
            fail(error, error_size, "open_tree", paths[made], errno);
            break;
        }
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (unsigned)namespace};
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
            int number = errno;
            fail(error, error_size, "make an idmapped mount of", paths[made], number);
            if (number == EINVAL)
                text_append(error, error_size, " (as root, build steps see the store through idmapped mounts: put the store on"
                                               " a filesystem that has them, such as ext4, xfs, btrfs, or tmpfs from Linux 6.3)");
            close(tree);
            break;
        }
        fds[made] = tree;
    }
    close(namespace);
    if (made == count) return 0;
    while (made > 0) close(fds[--made]);
    return -1;
}
