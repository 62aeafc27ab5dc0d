/* Id maps: a child's (written, or made by newuidmap/newgidmap), and idmapped copies of host
 * directories for a sandbox whose ids are shifted away from the host's (devenv as root): the
 * kernel translates owners at the mount, so nothing is chowned. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum { HOLDER_STACK_SIZE = 64 * 1024 };

/* Lives only to own a user namespace until the parent has a descriptor of it, then is killed
 * (not told by EOF: a holder cloned at the same time by another thread would keep a copy of the
 * write end, and each wait for the other). It dies with its parent too: a devenv killed between
 * clone and kill would otherwise leave it forever, holding copies of devenv's descriptors, the
 * project's build lock among them, so that the next build waited for ever. */
static int hold_namespace(void *argument) {
    pid_t parent = (pid_t)(intptr_t)argument;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) _exit(1);
    for (;;) pause();
}

/* `text` without the characters `strip` names at either end, as "%.*s" arguments. */
static int trimmed(const char *text, const char *strip, const char **start) {
    const char *end = text + strlen(text);
    while (*text && strchr(strip, *text)) text++;
    while (end > text && strchr(strip, end[-1])) end--;
    *start = text;
    return (int)(end - text);
}

/* Writes `text` to /proc/<pid>/<name> (uid_map, gid_map, setgroups). */
static int write_map(pid_t pid, const char *name, const char *text, char *error, size_t size) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(error, size, "open %s: %s", path, strerror(errno));
        return -1;
    }
    size_t length = strlen(text);
    /* The kernel takes a map in one write(2). */
    if (write(fd, text, length) != (ssize_t)length) {
        int number = errno;
        const char *shown;
        int shown_length = trimmed(text, "\n\v\f\r", &shown);
        snprintf(error, size, "write %s (%.*s): %s", path, shown_length, shown, strerror(number));
        close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

/* `helper` (newuidmap or newgidmap) PID INSIDE OUTSIDE COUNT…, the numbers from the map's lines:
 * NULL-terminated, in one malloc'd block with their text. */
static char **helper_arguments(const char *helper, pid_t pid, const char *map) {
    size_t words = 0;
    for (const char *c = map; *c; c++)
        if (!strchr(" \n", *c) && (c == map || strchr(" \n", c[-1]))) words++;
    size_t pointers = (words + 3) * sizeof(char *), text = 16 + strlen(map) + 1;
    char **args = malloc(pointers + text);
    if (!args) return NULL;
    char *pid_text = (char *)args + pointers, *numbers = pid_text + 16;
    snprintf(pid_text, 16, "%d", (int)pid);
    memcpy(numbers, map, strlen(map) + 1);
    size_t count = 0;
    args[count++] = (char *)helper;
    args[count++] = pid_text;
    for (char *save = NULL, *word = strtok_r(numbers, " \n", &save); word; word = strtok_r(NULL, " \n", &save))
        args[count++] = word;
    args[count] = NULL;
    return args;
}

/* Starts `args` as Foundation's Process started the helpers for devenv-core: in a process group
 * of its own, with no descriptor but 0-2 (none of the sandbox's control ends), stdout on
 * /dev/null and stderr into `*output` for the message. Returns posix_spawn's error number. */
static int spawn_helper(char **args, pid_t *child, int *output) {
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) < 0) return errno;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attributes, 0);
    int spawned = posix_spawn(child, args[0], &actions, &attributes, args, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(pipe_fds[1]);
    if (spawned) close(pipe_fds[0]);
    else *output = pipe_fds[0];
    return spawned;
}

/* Reads `fd` to its end (so the helper never blocks on a full pipe), keeping what fits in
 * `out`; closes it. */
static void read_all(int fd, char *out, size_t size) {
    size_t kept = 0;
    char discard[512];
    for (;;) {
        char *into = kept + 1 < size ? out + kept : discard;
        size_t room = kept + 1 < size ? size - 1 - kept : sizeof discard;
        ssize_t n = read(fd, into, room);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (into == out + kept) kept += (size_t)n;
    }
    out[kept] = '\0';
    close(fd);
}

/* Runs newuidmap or newgidmap for the child `pid` with `map`'s ranges. */
static int run_map_helper(const char *helper, pid_t pid, const char *map, char *error, size_t size) {
    char **args = helper_arguments(helper, pid, map);
    if (!args) {
        snprintf(error, size, "cannot run %s: %s", helper, strerror(ENOMEM));
        return -1;
    }
    pid_t child;
    int output;
    int spawned = spawn_helper(args, &child, &output);
    if (spawned) {
        snprintf(error, size, "cannot run %s: %s", helper, strerror(spawned));
        free(args);
        return -1;
    }
    char detail[2048];
    read_all(output, detail, sizeof detail);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
    int failed = !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    if (failed) {
        /* The message devenv-core has always given: the command as run, and what it said. */
        char command[4096] = "";
        for (char **arg = args; *arg; arg++) {
            if (arg != args) text_append(command, sizeof command, " ");
            text_append(command, sizeof command, *arg);
        }
        const char *said;
        int said_length = trimmed(detail, " \t\n\v\f\r", &said);
        snprintf(error, size, "%s failed: %.*s (check the user's lines in /etc/subuid and /etc/subgid)", command,
                 said_length, said);
    }
    free(args);
    return failed ? -1 : 0;
}

int csandbox_apply_id_maps(pid_t pid, int mode, const char *uid_map, const char *gid_map, const char *newuidmap,
                           const char *newgidmap, char *error, size_t size) {
    switch (mode) {
    case CSANDBOX_ID_SINGLE:
        /* An unprivileged process may map its own gid only after giving up setgroups. */
        if (write_map(pid, "setgroups", "deny", error, size) < 0) return -1;
        /* fall through */
    case CSANDBOX_ID_ROOT:
        if (write_map(pid, "uid_map", uid_map, error, size) < 0) return -1;
        return write_map(pid, "gid_map", gid_map, error, size);
    case CSANDBOX_ID_SUBORDINATE:
        if (run_map_helper(newuidmap, pid, uid_map, error, size) < 0) return -1;
        return run_map_helper(newgidmap, pid, gid_map, error, size);
    default:
        snprintf(error, size, "unknown id mapping");
        return -1;
    }
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
    pid_t pid = clone(hold_namespace, (char *)stack + HOLDER_STACK_SIZE, CLONE_NEWUSER | SIGCHLD, (void *)(intptr_t)getpid());
    int clone_error = errno;
    munmap(stack, HOLDER_STACK_SIZE);
    if (pid < 0) {
        fail(error, error_size, "clone a user namespace for the id mapping", NULL, clone_error);
        return -1;
    }
    int namespace = -1;
    if (write_map(pid, "uid_map", uid_map, error, error_size) == 0
        && write_map(pid, "gid_map", gid_map, error, error_size) == 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
        namespace = open(path, O_RDONLY | O_CLOEXEC);
        if (namespace < 0) fail(error, error_size, "open", path, errno);
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    return namespace;
}

/* A detached, idmapped copy of the tree at `path` (only its own mount) with `attributes` too. */
static int idmapped_copy(const char *path, int namespace, uint64_t attributes, int symlink, char *error, size_t error_size) {
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (symlink ? AT_SYMLINK_NOFOLLOW : 0));
    if (tree < 0) {
        fail(error, error_size, "open_tree", path, errno);
        return -1;
    }
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP | attributes, .userns_fd = (unsigned)namespace};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int number = errno;
        fail(error, error_size, "make an idmapped mount of", path, number);
        if (number == EINVAL)
            text_append(error, error_size, " (as root, devenv's sandboxes see the host's files through idmapped mounts: the"
                                           " store and every mounted path must be on a filesystem that has them, such as"
                                           " ext4, xfs, btrfs, or tmpfs from Linux 6.3)");
        close(tree);
        return -1;
    }
    return tree;
}

void idmap_release(struct child_context *context) {
    if (context->idmapped_layers_fd >= 0) close(context->idmapped_layers_fd);
    if (context->idmapped_upper_fd >= 0) close(context->idmapped_upper_fd);
    context->idmapped_layers_fd = context->idmapped_upper_fd = -1;
    if (context->idmapped_bind_fds) {
        for (size_t i = 0; i < context->config->bind_count; i++)
            if (context->idmapped_bind_fds[i] >= 0) close(context->idmapped_bind_fds[i]);
        free(context->idmapped_bind_fds);
        context->idmapped_bind_fds = NULL;
    }
}

int idmap_prepare(const struct csandbox_config *config, struct child_context *context, char *error, size_t error_size) {
    context->idmapped_layers_fd = context->idmapped_upper_fd = -1;
    context->idmapped_bind_fds = NULL;
    if (!config->idmap_uid_map) return 0;
    int namespace = make_namespace(config->idmap_uid_map, config->idmap_gid_map, error, error_size);
    if (namespace < 0) return -1;
    int failed = 0;
    if (config->bind_count) {
        context->idmapped_bind_fds = malloc(config->bind_count * sizeof *context->idmapped_bind_fds);
        if (!context->idmapped_bind_fds) {
            fail(error, error_size, "allocate", NULL, ENOMEM);
            failed = 1;
        } else {
            for (size_t i = 0; i < config->bind_count; i++) context->idmapped_bind_fds[i] = -1;
        }
    }
    if (!failed) failed = (context->idmapped_layers_fd = idmapped_copy(config->layers_dir, namespace, 0, 0, error, error_size)) < 0;
    if (!failed && config->upper_dir) {
        char parent[PATH_MAX] = "";
        text_append(parent, sizeof parent, config->upper_dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = '\0';
        failed = (context->idmapped_upper_fd = idmapped_copy(parent, namespace, 0, 0, error, error_size)) < 0;
    }
    for (size_t i = 0; !failed && i < config->bind_count; i++) {
        const struct csandbox_bind *bind = &config->binds[i];
        uint64_t attributes = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (bind->readonly ? MOUNT_ATTR_RDONLY : 0);
        failed = (context->idmapped_bind_fds[i] = idmapped_copy(bind->source, namespace, attributes, bind->symlink, error, error_size)) < 0;
    }
    close(namespace);
    if (failed) idmap_release(context);
    return failed ? -1 : 0;
}
