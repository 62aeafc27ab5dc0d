/* The child's half before it drops privileges: namespaces are already there (clone made them);
 * this builds the root filesystem and pivots into it. The child is a copy of a multi-threaded
 * process, so it uses syscalls only: no malloc, no stdio, no glibc set*id wrappers (they signal
 * threads that do not exist here). */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
/* <sys/mount.h> would clash with <linux/mount.h> on glibc 2.36. */
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

/* Opens `path` below the directory `root` as an O_PATH descriptor, one component at a time and
 * never following a symlink: the image decides what its paths are, and a symlink there (say
 * /dev -> /host/dev) must not point a mount at the host. With `create` (S_IFDIR or S_IFREG),
 * missing components are made, the last one of that type; S_IFLNK wants the last one to be an
 * existing symlink, opened itself. Returns -1 with errno on failure. */
static int open_beneath(int root, const char *path, mode_t create) {
    int current = fcntl(root, F_DUPFD_CLOEXEC, 0);
    if (current < 0) return -1;
    const char *cursor = path;
    while (*cursor) {
        while (*cursor == '/') cursor++;
        if (!*cursor) break;
        const char *end = strchrnul(cursor, '/');
        size_t length = (size_t)(end - cursor);
        const char *rest = end + strspn(end, "/");
        int last = *rest == '\0';
        char name[NAME_MAX + 1];
        if (length > NAME_MAX || (length == 2 && cursor[0] == '.' && cursor[1] == '.')) {
            close(current);
            errno = length > NAME_MAX ? ENAMETOOLONG : EINVAL;
            return -1;
        }
        memcpy(name, cursor, length);
        name[length] = '\0';
        cursor = rest;
        if (length == 1 && name[0] == '.') continue;

        int next = openat(current, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create && !(last && create == S_IFLNK)) {
            int made;
            if (!last || create == S_IFDIR) {
                made = mkdirat(current, name, 0755);
            } else {
                made = openat(current, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (made >= 0) close(made);
            }
            if (made < 0 && errno != EEXIST) {
                int error = errno;
                close(current);
                errno = error;
                return -1;
            }
            next = openat(current, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        }
        int error = errno;
        close(current);
        if (next < 0) {
            errno = error;
            return -1;
        }
        /* O_PATH|O_NOFOLLOW opens a symlink itself rather than failing: look at what we got. */
        struct stat info;
        if (fstat(next, &info) < 0) error = errno;
        else if (S_ISLNK(info.st_mode)) error = last && create == S_IFLNK ? 0 : ELOOP;
        else if (last && create == S_IFLNK) error = EEXIST;
        else if (!last && !S_ISDIR(info.st_mode)) error = ENOTDIR;
        else error = 0;
        if (error) {
            close(next);
            errno = error;
            return -1;
        }
        current = next;
    }
    return current;
}

static int sys_mount(const char *source, const char *target, const char *type, unsigned long flags, const char *data) {
    return (int)syscall(SYS_mount, source, target, type, flags, data);
}

/* Mounts a new filesystem on the directory behind the O_PATH descriptor `target`. mount(2) takes
 * a path; "." after fchdir is exactly the directory that was vetted, with nothing left to resolve. */
static int mount_on(int target, const char *type, unsigned long flags, const char *data) {
    if (fchdir(target) < 0) return -1;
    return sys_mount(type, ".", type, flags, data);
}

/* Attaches a copy of the tree at `source` (a path, or "" with `source_fd`) on the O_PATH descriptor
 * `target`, with mount attributes `attributes` set. open_tree/mount_setattr/move_mount work on
 * descriptors and on the detached copy, so nothing is resolved twice and locked flags of host
 * mounts stay as they are (only added to). `how` is BIND_RECURSIVE, BIND_SYMLINK (the
 * symlink at `source` itself) or 0. */
enum { BIND_RECURSIVE = 1, BIND_SYMLINK = 2 };

static int bind_on(int source_fd, const char *source, int target, uint64_t attributes, int how) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (how == BIND_RECURSIVE ? AT_RECURSIVE : 0)
                   | (how == BIND_SYMLINK ? AT_SYMLINK_NOFOLLOW : 0) | (*source ? 0 : AT_EMPTY_PATH);
    int tree = (int)syscall(SYS_open_tree, source_fd, source, flags);
    if (tree < 0) return -1;
    int result = 0;
    if (attributes) {
        struct mount_attr attr = {.attr_set = attributes};
        result = (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (how == BIND_RECURSIVE ? AT_RECURSIVE : 0), &attr, sizeof attr);
    }
    if (result == 0)
        result = (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int error = errno;
    close(tree);
    errno = error;
    return result;
}

/* open_beneath or fail the step. */
static int open_or_fail(const struct child_context *context, int root, const char *path, mode_t create, enum step step) {
    int fd = open_beneath(root, path, create);
    if (fd < 0) child_fail(context, step, path, errno);
    return fd;
}

static void write_file(const struct child_context *context, int skeleton, const struct csandbox_file *file) {
    char directory[PATH_MAX] = "";
    text_append(directory, sizeof directory, file->path);
    char *slash = strrchr(directory, '/');
    const char *name = file->path + (slash ? slash - directory + 1 : 0);
    if (slash) *slash = '\0';
    int parent = open_or_fail(context, skeleton, directory, S_IFDIR, STEP_SKELETON);
    int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, file->mode);
    if (fd < 0) child_fail(context, STEP_SKELETON, file->path, errno);
    size_t done = 0;
    while (done < file->length) {
        ssize_t n = write(fd, file->content + done, file->length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) child_fail(context, STEP_SKELETON, file->path, n < 0 ? errno : EIO);
        done += (size_t)n;
    }
    close(fd);
    close(parent);
}

/* Whether bind `index` mounts a file, a directory or a symlink (the idmapped copy says, when there is one). */
static mode_t bind_kind(const struct child_context *context, size_t index) {
    if (context->config->binds[index].symlink) return S_IFLNK;
    struct stat info;
    int found = context->idmapped_bind_fds ? fstat(context->idmapped_bind_fds[index], &info) == 0
                                           : stat(context->config->binds[index].source, &info) == 0;
    return found && !S_ISDIR(info.st_mode) ? S_IFREG : S_IFDIR;
}

/* The top lower layer: mountpoints for everything mounted later and the generated files. It sits
 * above the image, so the read-only root still has a place for every mount, and an image's
 * symlink at such a path (say /proc -> /) is hidden behind a real directory. */
static void build_skeleton(const struct child_context *context, int skeleton) {
    const struct csandbox_config *config = context->config;
    static const char *const fixed[] = {"proc", "sys", "dev"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        close(open_or_fail(context, skeleton, fixed[i], S_IFDIR, STEP_SKELETON));
    for (size_t i = 0; i < config->tmpfs_count; i++)
        close(open_or_fail(context, skeleton, config->tmpfs[i].target, S_IFDIR, STEP_SKELETON));
    for (size_t i = 0; i < config->bind_count; i++) {
        mode_t kind = bind_kind(context, i);
        close(open_or_fail(context, skeleton, config->binds[i].target, kind == S_IFLNK ? S_IFREG : kind, STEP_SKELETON));
    }
    for (size_t i = 0; i < config->file_count; i++) write_file(context, skeleton, &config->files[i]);
}

/* Where an idmapped sandbox attaches its copies of the store's directories (attach_idmapped). */
#define IDMAP_DIR "/tmp"

/* The kernel's OVL_MAX_STACK: lower directories one overlay takes. */
enum { OVERLAY_MAX_STACK = 500 };

/* An overlay of `lowers` (top first), each given on its own with fsconfig's "lowerdir+" (Linux
 * 6.8), mounted on `target`; writable when `upper` is given. */
static int mount_overlay_stack(const char *const *lowers, size_t count, const char *upper, const char *work, const char *target) {
    int context = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
    if (context < 0) return -1;
    int result = (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
    for (size_t i = 0; result == 0 && i < count; i++) {
        result = (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0);
        /* A kernel before 6.8 does not know "lowerdir+": the image has too many layers for it. */
        if (result < 0 && i == 0 && errno == EINVAL) errno = E2BIG;
    }
    if (result == 0 && upper) {
        result = (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_STRING, "upperdir", upper, 0);
        if (result == 0) result = (int)syscall(SYS_fsconfig, context, FSCONFIG_SET_STRING, "workdir", work, 0);
    }
    if (result == 0) result = (int)syscall(SYS_fsconfig, context, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int mount = -1;
    if (result == 0) {
        unsigned attributes = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (upper ? 0 : MOUNT_ATTR_RDONLY);
        mount = (int)syscall(SYS_fsmount, context, FSMOUNT_CLOEXEC, attributes);
        result = mount < 0 ? -1 : (int)syscall(SYS_move_mount, mount, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
    }
    int error = errno;
    if (mount >= 0) close(mount);
    close(context);
    errno = error;
    return result;
}

/* mount(2) takes the overlay's options as one string of at most a page: layer names are relative
 * to layers_dir (the cwd) to keep it short, which fits about 60 layers (a build's upper and work
 * directories are absolute, but only two paths). Beyond that, each lower directory goes in on its
 * own (Linux 6.8). Beyond what one overlay stacks, the bottom layers become a read-only overlay of
 * their own under the others (overlayfs nests once): up to 2 * OVERLAY_MAX_STACK - 2 layers. */
static int mount_overlay(const struct csandbox_config *config, const char *target) {
    char skeleton[PATH_MAX] = "", upper[PATH_MAX] = "", work[PATH_MAX] = "", nested[PATH_MAX] = "";
    text_append(skeleton, sizeof skeleton, config->scratch);
    text_append(skeleton, sizeof skeleton, "/skeleton");
    int writable = config->writable_root || config->upper_dir;
    if (config->upper_dir && config->idmap_uid_map) {
        /* Below the idmapped copy of their parent, which attach_idmapped put at IDMAP_DIR/build. */
        const char *const names[] = {strrchr(config->upper_dir, '/'), strrchr(config->work_dir, '/')};
        char *const paths[] = {upper, work};
        for (size_t i = 0; i < 2; i++) {
            text_append(paths[i], PATH_MAX, IDMAP_DIR "/build");
            text_append(paths[i], PATH_MAX, names[i] ? names[i] : "/");
        }
    } else if (config->upper_dir) {
        text_append(upper, sizeof upper, config->upper_dir);
        text_append(work, sizeof work, config->work_dir);
    } else {
        text_append(upper, sizeof upper, config->scratch);
        text_append(upper, sizeof upper, "/upper");
        text_append(work, sizeof work, config->scratch);
        text_append(work, sizeof work, "/work");
    }

    char options[4096] = "userxattr,lowerdir=";
    text_append(options, sizeof options, skeleton);
    for (size_t i = 0; i < config->lower_count; i++) {
        text_append(options, sizeof options, ":");
        text_append(options, sizeof options, config->lowers[i]);
    }
    if (writable) {
        text_append(options, sizeof options, ",upperdir=");
        text_append(options, sizeof options, upper);
        text_append(options, sizeof options, ",workdir=");
        text_append(options, sizeof options, work);
    }
    if (strlen(options) + 1 < sizeof options) {
        unsigned long flags = MS_NOSUID | MS_NODEV | (writable ? 0 : MS_RDONLY);
        return sys_mount("overlay", target, "overlay", flags, options);
    }

    /* The skeleton, the layers mounted directly, and the nested overlay of the rest if any. */
    const char *stack[OVERLAY_MAX_STACK];
    size_t count = 0, direct = config->lower_count;
    stack[count++] = skeleton;
    if (config->lower_count + 1 > OVERLAY_MAX_STACK) {
        direct = OVERLAY_MAX_STACK - 2;
        size_t rest = config->lower_count - direct;
        if (rest > OVERLAY_MAX_STACK) {
            errno = EMLINK;
            return -1;
        }
        text_append(nested, sizeof nested, config->scratch);
        text_append(nested, sizeof nested, "/nested");
        if (mkdir(nested, 0755) < 0) return -1;
        if (mount_overlay_stack(config->lowers + direct, rest, NULL, NULL, nested) < 0) return -1;
    }
    for (size_t i = 0; i < direct; i++) stack[count++] = config->lowers[i];
    if (nested[0]) stack[count++] = nested;
    return mount_overlay_stack(stack, count, writable ? upper : NULL, work, target);
}

/* With ids that are not the host's, the store's directories (0700, the host's root's) cannot be
 * reached by path. A tmpfs on IDMAP_DIR (in this mount namespace only; the host's files there
 * are not needed: binds come as descriptors) takes the idmapped copies of layers_dir and of the
 * upper directory's parent, and the cwd becomes the first, as a chdir to layers_dir would. */
static void attach_idmapped(const struct child_context *context) {
    const struct csandbox_config *config = context->config;
    if (sys_mount("tmpfs", IDMAP_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        child_fail(context, STEP_IDMAP, IDMAP_DIR, errno);
    int directory = open(IDMAP_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (directory < 0) child_fail(context, STEP_IDMAP, IDMAP_DIR, errno);
    const int trees[] = {context->idmapped_layers_fd, context->idmapped_upper_fd};
    static const char *const names[] = {"layers", "build"};
    const char *const subjects[] = {config->layers_dir, config->upper_dir};
    for (size_t i = 0; i < 2 && trees[i] >= 0; i++) {
        if (mkdirat(directory, names[i], 0755) < 0
            || syscall(SYS_move_mount, trees[i], "", directory, names[i], MOVE_MOUNT_F_EMPTY_PATH) < 0)
            child_fail(context, STEP_IDMAP, subjects[i], errno);
    }
    close(directory);
    if (fchdir(context->idmapped_layers_fd) < 0) child_fail(context, STEP_IDMAP, config->layers_dir, errno);
}

/* Mounts the scratch tmpfs, the skeleton and the overlay; returns the new root (O_PATH). */
static int mount_root(const struct child_context *context) {
    const struct csandbox_config *config = context->config;
    if (config->idmap_uid_map) {
        attach_idmapped(context);
    } else if (chdir(config->layers_dir) < 0) {
        child_fail(context, STEP_SCRATCH, config->layers_dir, errno);
    }
    if (sys_mount("tmpfs", config->scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
        child_fail(context, STEP_SCRATCH, config->scratch, errno);
    int scratch = open(config->scratch, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (scratch < 0) child_fail(context, STEP_SCRATCH, config->scratch, errno);
    static const char *const parts[] = {"skeleton", "root", "upper", "work"};
    int tmpfs_upper = config->writable_root && !config->upper_dir;
    for (size_t i = 0; i < (tmpfs_upper ? 4u : 2u); i++)
        if (mkdirat(scratch, parts[i], 0755) < 0) child_fail(context, STEP_SCRATCH, parts[i], errno);
    int skeleton = open_or_fail(context, scratch, "skeleton", 0, STEP_SKELETON);
    build_skeleton(context, skeleton);
    close(skeleton);

    char target[PATH_MAX] = "";
    text_append(target, sizeof target, config->scratch);
    text_append(target, sizeof target, "/root");
    if (mount_overlay(config, target) < 0) child_fail(context, STEP_OVERLAY, "/", errno);
    int root = openat(scratch, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) child_fail(context, STEP_OVERLAY, "/", errno);
    close(scratch);
    return root;
}

/* A minimal /dev, as bubblewrap makes it: a tmpfs with the host's harmless character devices
 * bound in, a private devpts and a tmpfs for shared memory. */
static void mount_dev(const struct child_context *context, int root) {
    int below = open_or_fail(context, root, "dev", 0, STEP_DEV);
    if (mount_on(below, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755") < 0) child_fail(context, STEP_DEV, "/dev", errno);
    close(below);
    int dev = open_or_fail(context, root, "dev", 0, STEP_DEV);
    static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
    for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
        char host[32] = "/dev/";
        text_append(host, sizeof host, devices[i]);
        int target = open_or_fail(context, dev, devices[i], S_IFREG, STEP_DEV);
        if (bind_on(AT_FDCWD, host, target, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0) < 0)
            child_fail(context, STEP_DEV, host, errno);
        close(target);
    }
    int pts = open_or_fail(context, dev, "pts", S_IFDIR, STEP_DEV);
    if (mount_on(pts, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
        child_fail(context, STEP_DEV, "/dev/pts", errno);
    close(pts);
    int shm = open_or_fail(context, dev, "shm", S_IFDIR, STEP_DEV);
    if (mount_on(shm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") < 0)
        child_fail(context, STEP_DEV, "/dev/shm", errno);
    close(shm);
    static const char *const links[][2] = {
        {"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
        {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof *links; i++)
        if (symlinkat(links[i][0], dev, links[i][1]) < 0) child_fail(context, STEP_DEV, links[i][1], errno);
    /* Nothing else may be created in /dev. */
    struct mount_attr readonly = {.attr_set = MOUNT_ATTR_RDONLY};
    if (syscall(SYS_mount_setattr, dev, "", AT_EMPTY_PATH, &readonly, sizeof readonly) < 0)
        child_fail(context, STEP_DEV, "/dev read-only", errno);
    close(dev);
}

static void mount_kernel_filesystems(const struct child_context *context, int root) {
    int proc = open_or_fail(context, root, "proc", 0, STEP_PROC);
    if (mount_on(proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) child_fail(context, STEP_PROC, "/proc", errno);
    close(proc);
    /* sysfs can only be mounted by the owner of the network namespace; a read-only bind works always. */
    int sys = open_or_fail(context, root, "sys", 0, STEP_SYS);
    uint64_t attributes = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    if (bind_on(AT_FDCWD, "/sys", sys, attributes, BIND_RECURSIVE) < 0) child_fail(context, STEP_SYS, "/sys", errno);
    close(sys);
    mount_dev(context, root);
}

static void mount_configured(const struct child_context *context, int root) {
    const struct csandbox_config *config = context->config;
    for (size_t i = 0; i < config->tmpfs_count; i++) {
        int target = open_or_fail(context, root, config->tmpfs[i].target, S_IFDIR, STEP_TMPFS);
        if (mount_on(target, "tmpfs", MS_NOSUID | MS_NODEV, config->tmpfs[i].options) < 0)
            child_fail(context, STEP_TMPFS, config->tmpfs[i].target, errno);
        close(target);
    }
    for (size_t i = 0; i < config->bind_count; i++) {
        const struct csandbox_bind *bind = &config->binds[i];
        mode_t kind = bind_kind(context, i);
        int target = open_or_fail(context, root, bind->target, kind, STEP_BIND);
        uint64_t attributes = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (bind->readonly ? MOUNT_ATTR_RDONLY : 0);
        /* An idmapped copy came with its attributes: devenv set them, the child could not. */
        int result = context->idmapped_bind_fds
            ? (int)syscall(SYS_move_mount, context->idmapped_bind_fds[i], "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)
            : bind_on(AT_FDCWD, bind->source, target, attributes, bind->symlink ? BIND_SYMLINK : BIND_RECURSIVE);
        if (result < 0) child_fail(context, STEP_BIND, bind->source, errno);
        close(target);
    }
    for (size_t i = 0; i < config->masked_count; i++) {
        int target = open_beneath(root, config->masked[i], 0);
        if (target < 0 && errno == ENOENT) continue;
        if (target < 0) child_fail(context, STEP_MASK, config->masked[i], errno);
        struct stat info;
        if (fstat(target, &info) < 0) child_fail(context, STEP_MASK, config->masked[i], errno);
        int result = S_ISDIR(info.st_mode)
            ? mount_on(target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555")
            : bind_on(AT_FDCWD, "/dev/null", target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0);
        if (result < 0) child_fail(context, STEP_MASK, config->masked[i], errno);
        close(target);
    }
    for (size_t i = 0; i < config->readonly_count; i++) {
        int target = open_beneath(root, config->readonly[i], 0);
        if (target < 0 && errno == ENOENT) continue;
        if (target < 0 || bind_on(target, "", target, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, BIND_RECURSIVE) < 0)
            child_fail(context, STEP_READONLY, config->readonly[i], errno);
        close(target);
    }
}

static void bring_up_loopback(const struct child_context *context) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) child_fail(context, STEP_NETWORK, "lo", errno);
    struct ifreq request;
    memset(&request, 0, sizeof request);
    memcpy(request.ifr_name, "lo", 3);
    request.ifr_flags = IFF_UP | IFF_RUNNING;
    if (ioctl(sock, SIOCSIFFLAGS, &request) < 0) child_fail(context, STEP_NETWORK, "lo", errno);
    close(sock);
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it leaves only the new one
 * (runc does the same; it needs no directory for the old root). */
static void enter_root(const struct child_context *context, int root) {
    if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) child_fail(context, STEP_PIVOT, "the new root", errno);
    if (syscall(SYS_umount2, ".", MNT_DETACH) < 0 || chdir("/") < 0) child_fail(context, STEP_PIVOT, "(detach the old root)", errno);
    close(root);
    if (chdir(context->config->cwd) < 0) child_fail(context, STEP_CWD, context->config->cwd, errno);
}

int child_main(void *argument) {
    const struct child_context *context = argument;
    const struct csandbox_config *config = context->config;
    /* Setup creates files with exact modes; the command gets the caller's umask back. */
    unsigned saved_umask = umask(0);
    close(context->parent_control_fd);
    close(context->parent_status_fd);

    char go;
    ssize_t n;
    do n = read(context->control_fd, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) _exit(125); /* devenv gave up before the id maps were written */

    /* Files made during setup belong to the namespace's root, as the image's own files do. */
    if (config->root_mapped && (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0))
        child_fail(context, STEP_IDENTITY, NULL, errno);
    /* The mount namespace is a copy of the host's: keep our mounts from propagating back. */
    if (sys_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) child_fail(context, STEP_PROPAGATION, NULL, errno);
    if (config->hostname && sethostname(config->hostname, strlen(config->hostname)) < 0)
        child_fail(context, STEP_HOSTNAME, config->hostname, errno);
    if (config->new_network) bring_up_loopback(context);

    int root = mount_root(context);
    mount_kernel_filesystems(context, root);
    mount_configured(context, root);
    enter_root(context, root);
    run_reaper(context, saved_umask);
}
